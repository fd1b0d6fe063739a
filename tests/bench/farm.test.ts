import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import Parser from 'rss-parser';
import { startFarm, type Farm } from '../../bench/farm.ts';
import { runFloor } from '../../bench/floor.ts';
import { formatOf } from '../../bench/content.ts';

// The bench's own feed farm and floor client: what they serve and count must be right, or every
// number the bench prints is meaningless.

const FEEDS = 40;
const ITEMS = 12;
let farm: Farm;

beforeAll(async () => {
  farm = await startFarm({ feeds: FEEDS, items: ITEMS, hosts: 8 });
});
afterAll(async () => {
  await farm?.close();
});

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  const raw = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, raw };
}

describe('feed farm', () => {
  it('spreads feeds over distinct loopback addresses', () => {
    expect(farm.hosts).toHaveLength(8);
    expect(new Set(farm.feeds.map((f) => new URL(f.url).host)).size).toBe(8);
    expect(farm.hosts.every((h) => /^http:\/\/127\.0\.1\.\d+:\d+$/.test(h))).toBe(true);
  });

  it('serves every format, parseable, with the configured number of ~1.5 KB items', async () => {
    const parser = new Parser();
    const seen = new Set<string>();
    for (const [i, feed] of farm.feeds.entries()) {
      const r = await get(feed.url);
      expect(r.status).toBe(200);
      const text = r.raw.toString('utf8');
      seen.add(formatOf(i));
      if (formatOf(i) === 'json') {
        const doc = JSON.parse(text) as { items: { content_html: string }[] };
        expect(doc.items).toHaveLength(ITEMS);
        continue;
      }
      const doc = await parser.parseString(text);
      expect(doc.items).toHaveLength(ITEMS);
      const html = String(doc.items[0]!['content:encoded'] ?? doc.items[0]!.content ?? '');
      expect(html.length).toBeGreaterThan(1000);
      expect(html).toMatch(/<img /);
    }
    expect([...seen].sort()).toEqual(['atom', 'json', 'rss1', 'rss2']);
  });

  it('includes Arabic and accented text and syndicated copies with tracking parameters', async () => {
    let all = '';
    for (const feed of farm.feeds) all += (await get(feed.url)).raw.toString('utf8');
    expect(all).toMatch(/[\u0600-\u06ff]/);
    expect(all).toMatch(/[àèéìòù]/);
    expect(all).toContain('utm_source=');
    expect(farm.distinctArticles()).toBeLessThan(FEEDS * ITEMS);
  });

  it('gzips when asked and answers 304 to a matching ETag', async () => {
    const url = farm.feeds[0]!.url;
    const plain = await get(url);
    const zipped = await get(url, { 'accept-encoding': 'gzip, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.raw).equals(plain.raw)).toBe(true);
    const etag = String(plain.headers['etag']);
    expect((await get(url, { 'if-none-match': etag })).status).toBe(304);
    expect((await get(url, { 'if-none-match': '"other"' })).status).toBe(200);
    expect((await get(url, { 'if-modified-since': String(plain.headers['last-modified']) })).status).toBe(304);
    expect((await get(url.replace(/\d+\.xml$/, '99999.xml'))).status).toBe(404);
  });

  it('advanceRound re-renders only the chosen feeds, with the new items first', async () => {
    const before = await Promise.all(farm.feeds.map(async (f) => String((await get(f.url)).headers['etag'])));
    const published = farm.publishedItems();
    const changed = farm.advanceRound(0.25, 3);
    expect(changed).toHaveLength(10);
    expect(farm.publishedItems()).toBe(published + 30);
    const after = await Promise.all(farm.feeds.map(async (f) => String((await get(f.url)).headers['etag'])));
    const differing = after.map((e, i) => (e !== before[i] ? i : -1)).filter((i) => i >= 0);
    expect(differing).toEqual(changed);
    const first = changed[0]!;
    if (formatOf(first) !== 'json') {
      const doc = await new Parser().parseString((await get(farm.feeds[first]!.url)).raw.toString('utf8'));
      expect(doc.items).toHaveLength(ITEMS);
      // Items of later rounds are dated after the farm started; the initial ones before.
      expect(Date.parse(doc.items[0]!.isoDate!)).toBeGreaterThan(Date.now() - 60_000);
      expect(Date.parse(doc.items[ITEMS - 1]!.isoDate!)).toBeLessThan(Date.now() - 60_000);
    }
  });
});

describe('floor client', () => {
  it('downloads and parses every feed, then sees 304s with the ETags it kept', async () => {
    const urls = farm.feeds.map((f) => f.url);
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const etags = join(mkdtempSync(join(tmpdir(), 'floor-test-')), 'etags.json');
    const cold = await runFloor({ urls, concurrency: 4, mode: 'parse', etagsOut: etags });
    expect(cold).toMatchObject({ feeds: FEEDS, ok: FEEDS, notModified: 0, failed: 0 });
    expect(cold.items).toBe(FEEDS * ITEMS);
    expect(cold.usage.cpuSeconds).toBeGreaterThan(0);
    const warm = await runFloor({ urls, concurrency: 4, mode: 'parse', etagsIn: etags });
    expect(warm).toMatchObject({ ok: 0, notModified: FEEDS, failed: 0, items: 0 });
    const down = await runFloor({ urls, concurrency: 4, mode: 'download' });
    expect(down).toMatchObject({ ok: FEEDS, items: 0 });
    expect(down.bytes).toBe(farm.renderedBytes());
  });
});
