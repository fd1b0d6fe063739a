import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assignItemKeys, contentHash, itemKey } from '../../src/dedupe/identity.ts';
import { decodeItemDigests, encodeItemDigests, keyParts } from '../../src/dedupe/item-digests.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';
import { emptyItem } from '../helpers/items.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const item = emptyItem;

describe('itemKey', () => {
  it('uses the guid first', () => {
    const k = itemKey(item({ guid: 'tag:example.com,2024:1', url: 'https://example.com/1', title: 'T' }));
    expect(k).toBe(sha('g:tag:example.com,2024:1'));
  });

  it('uses the canonical link when there is no guid', () => {
    const k = itemKey(item({ url: 'HTTPS://Example.com/1?utm_source=rss#x', title: 'T' }));
    expect(k).toBe(sha('u:https://example.com/1'));
    expect(itemKey(item({ url: 'https://example.com/1', title: 'other' }))).toBe(k);
  });

  it('treats a blank guid as absent', () => {
    expect(itemKey(item({ guid: '  ', url: 'https://example.com/1' }))).toBe(sha('u:https://example.com/1'));
  });

  it('uses title and date when there is neither guid nor link', () => {
    const k = itemKey(item({ title: 'Breaking', published: '2024-05-01T10:00:00.000Z' }));
    expect(k).toBe(sha('h:Breaking|2024-05-01T10:00:00.000Z'));
    expect(itemKey(item({ title: 'Breaking', published: '2024-05-02T10:00:00.000Z' }))).not.toBe(k);
  });

  it('falls back to the content', () => {
    expect(itemKey(item({ content_html: '<p>x</p>' }))).toBe(sha('c:<p>x</p>'));
    expect(itemKey(item({ summary: 'only text' }))).toBe(sha('c:only text'));
  });

  it('is a 64-character hex string', () => {
    expect(itemKey(item({ guid: 'a' }))).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('assignItemKeys', () => {
  it('gives repeated keys #2, #3 in document order and leaves unique ones alone', () => {
    const items = [
      item({ guid: 'dup', title: 'first' }),
      item({ guid: 'other' }),
      item({ guid: 'dup', title: 'second' }),
      item({ guid: 'dup', title: 'third' }),
    ];
    const base = sha('g:dup');
    expect(assignItemKeys(items)).toEqual([base, sha('g:other'), `${base}#2`, `${base}#3`]);
  });

  it('is stable across polls of the same document', () => {
    const items = [item({ url: 'https://e.com/a' }), item({ url: 'https://e.com/a?utm_source=x' })];
    expect(assignItemKeys(items)).toEqual(assignItemKeys(items.map((i) => ({ ...i }))));
    expect(new Set(assignItemKeys(items)).size).toBe(2);
  });

  it('leaves keys held by items not normalised again (unchanged since the last poll) to them', () => {
    const base = sha('g:dup');
    const held = [keyParts(base), keyParts(`${base}#3`)];
    const items = [item({ guid: 'dup', title: 'new' }), item({ guid: 'dup', title: 'newer' }), item({ guid: 'other' })];
    expect(assignItemKeys(items, held)).toEqual([`${base}#2`, `${base}#4`, sha('g:other')]);
  });
});

describe('item digests', () => {
  it('round-trips records by raw digest and reads malformed text as none', () => {
    const records = [
      { digest: 'a'.repeat(12), ...keyParts(sha('g:1')) },
      { digest: 'b'.repeat(12), ...keyParts(`${sha('g:1')}#12`) },
    ];
    const text = encodeItemDigests(records);
    expect(text).toHaveLength(52);
    expect([...decodeItemDigests(text).values()]).toEqual(records);
    expect(decodeItemDigests(text.slice(1)).size).toBe(0);
    expect(decodeItemDigests(null).size).toBe(0);
    // Past #255 an item is not recorded (it is normalised every time).
    expect(encodeItemDigests([{ digest: 'c'.repeat(12), keyPrefix: 'd'.repeat(12), n: 256 }])).toBe('');
  });
});

describe('contentHash', () => {
  const base = item({
    guid: 'g',
    url: 'https://e.com/a',
    title: 'Title',
    published: '2024-05-01T10:00:00.000Z',
    author: 'A',
    categories: ['x', 'y'],
    enclosures: [{ url: 'https://e.com/a.mp3', type: 'audio/mpeg', length: 100 }],
    summary: 'S',
    content_html: '<p>S</p>',
  });

  it('is the same for equal items whatever the property order', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as NormalisedItem;
    expect(Object.keys(reordered)[0]).toBe('content_html');
    expect(contentHash(reordered)).toBe(contentHash(base));
    const enc = { length: 100, type: 'audio/mpeg', url: 'https://e.com/a.mp3' };
    expect(contentHash({ ...base, enclosures: [enc] })).toBe(contentHash(base));
  });

  it.each([
    ['title', { title: 'Title (updated)' }],
    ['url', { url: 'https://e.com/b' }],
    ['author', { author: 'B' }],
    ['summary', { summary: 'S2' }],
    ['content', { content_html: '<p>S2</p>' }],
    ['categories', { categories: ['x'] }],
    ['enclosures', { enclosures: [] }],
    ['updated', { updated: '2024-05-02T00:00:00.000Z' }],
  ] as Array<[string, Partial<NormalisedItem>]>)('changes when %s changes', (_f, change) => {
    expect(contentHash({ ...base, ...change })).not.toBe(contentHash(base));
  });

  it('ignores the guid and publication date (identity, not content)', () => {
    expect(contentHash({ ...base, published: '2020-01-01T00:00:00.000Z' })).toBe(contentHash(base));
  });
});
