import { describe, expect, it } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { escapeXml, safeHttpUrl, stripIllegalXml, validDate } from '../../src/api/output/xml.ts';
import { renderRss } from '../../src/api/output/rss.ts';
import { renderAtom } from '../../src/api/output/atom.ts';
import { renderJsonFeed } from '../../src/api/output/json-feed.ts';
import { LruCache } from '../../src/api/lru.ts';
import { decodeCursor, encodeCursor } from '../../src/api/cursor.ts';
import type { EntryWithSources } from '../../src/store/entry-queries.ts';

describe('output helpers', () => {
  it('strips characters XML 1.0 forbids, keeps valid pairs, tabs and newlines', () => {
    expect(stripIllegalXml('a\u0000b\u0008c\u000Bd\u001Fe\uFFFEf\uFFFFg')).toBe('abcdefg');
    expect(stripIllegalXml('x\uD800y\uDC00z')).toBe('xyz');
    expect(stripIllegalXml('😀\t\n\r')).toBe('😀\t\n\r');
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });

  it('lets only absolute http(s) URLs and valid dates through', () => {
    expect(safeHttpUrl('https://ex.example/a b')).toBe('https://ex.example/a%20b');
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', '/relative', 'ftp://x.example/', 'http://', '']) expect(safeHttpUrl(bad)).toBeNull();
    expect(validDate('not a date')).toBeNull();
    expect(validDate(new Date(NaN))).toBeNull();
    expect(validDate('2024-05-01T00:00:00Z')?.toISOString()).toBe('2024-05-01T00:00:00.000Z');
  });

  it('renders well-formed documents from hostile rows, never an invalid date or a non-http link', () => {
    const entry: EntryWithSources = {
      id: 1,
      url: 'javascript:alert(1)',
      canonical_url: null,
      title: 'T\u0001itle\uD800 ]]> <x>',
      author: null,
      summary: 'S\u0002',
      // Stored content is sanitised at parse time (tests/parse/sanitize.test.ts, tests/api/xss.test.ts);
      // here it carries what XML escaping must handle.
      content_html: '<p>ok ]]> &amp; \u0003</p>',
      published_at: new Date(NaN),
      updated_at: null,
      first_seen_at: new Date('2024-05-01T00:00:00Z'),
      sort_at: new Date('2024-05-01T00:00:00Z'),
      categories: ['a&b', 'c"d'],
      enclosures: [{ url: '/rel.mp3', type: null, length: null }],
      language: null,
      sort_key: '2024-05-01T00:00:00.000000Z',
      story_id: 1,
      sources: [{ feed_id: 1, feed_title: null, url: null, feed_url: 'https://f.example/rss', site_url: 'javascript:x' }],
    };
    const doc = { title: 'T', description: 'D', selfUrl: 'http://h.example/feed.xml', homeUrl: 'http://h.example/', generatedAt: new Date('2024-05-02T00:00:00Z'), entries: [entry] };
    for (const xml of [renderRss(doc), renderAtom(doc)]) {
      expect(XMLValidator.validate(xml)).toBe(true);
      expect(xml).not.toMatch(/Invalid Date|NaN|javascript:|rel\.mp3|<script|onclick/);
    }
    const json = renderJsonFeed(doc);
    expect(json).not.toMatch(/Invalid Date|javascript:|rel\.mp3|<script|onclick/);
    const parsed = JSON.parse(json) as { items: Array<Record<string, unknown>> };
    expect(parsed.items[0]).not.toHaveProperty('url');
    expect(parsed.items[0]).not.toHaveProperty('date_published');
  });

  it('keeps the most recently used cache entries and expires old ones', () => {
    let now = 0;
    const lru = new LruCache<number>(2, 1000, () => now);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    now = 1001;
    expect(lru.get('c')).toBeUndefined();
  });

  it('round-trips cursors and refuses forged ones', () => {
    const key = { sortAt: '2024-05-01T10:00:00.123456Z', id: 42 };
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
    expect(decodeCursor(Buffer.from('["2024-05-01T10:00:00.123Z",42]').toString('base64url'))).toBeNull();
    expect(decodeCursor(Buffer.from('["2024-05-01T10:00:00.123456Z",0]').toString('base64url'))).toBeNull();
    expect(decodeCursor('!!')).toBeNull();
  });
});
