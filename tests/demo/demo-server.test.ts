import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer, type DemoServer } from '../../src/demo/demo-server.ts';
import { loadDemoCatalog, type DemoFeedEntry } from '../../src/demo/feed-catalog.ts';
import { decodeFeedBytes } from '../../src/fetch/charset.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** node:http rather than fetch: fetch would decompress gzip and hide what is on the wire. */
function rawRequest(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

const DAY_MS = 86_400_000;
const RFC822_DATE = /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\b/g;
const ISO_DATE = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\b/g;

/** Every rendered date in a body (the templates only use these two formats). */
function datesIn(text: string): Date[] {
  return [...(text.match(RFC822_DATE) ?? []), ...(text.match(ISO_DATE) ?? [])].map((s) => new Date(s));
}

let server: DemoServer;
let catalog: DemoFeedEntry[];
const startedAt = Date.now();

beforeAll(async () => {
  catalog = await loadDemoCatalog();
  server = await startDemoServer();
});

afterAll(async () => {
  await server?.close();
});

function entryFor(file: string): DemoFeedEntry {
  const entry = catalog.find((e) => e.file === file);
  if (!entry) throw new Error(`no catalog entry for ${file}`);
  return entry;
}

describe('demo server', () => {
  it('listens on 127.0.0.1 and lists the six regional feeds', () => {
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.feeds).toHaveLength(6);
    expect(new Set(server.feeds.map((f) => f.region))).toEqual(new Set(['levant', 'mediterranean', 'maghreb', 'gulf']));
    expect(new Set(server.feeds.map((f) => f.language))).toEqual(new Set(['en', 'ar', 'it', 'fr']));
    for (const feed of server.feeds) expect(feed.url.startsWith(`${server.baseUrl}/`)).toBe(true);
  });

  it('serves every feed with 200, its content type and strong validators', async () => {
    for (const entry of catalog) {
      const res = await rawRequest(server.baseUrl + entry.path);
      expect(res.status, entry.path).toBe(200);
      expect(res.headers['content-type'], entry.path).toBe(entry.contentType);
      expect(res.headers['etag'], entry.path).toMatch(/^"[^"]+"$/);
      expect(Date.parse(String(res.headers['last-modified']))).not.toBeNaN();
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.body.length).toBeGreaterThan(2_000);
    }
  });

  it('leaves the charset of the windows-1252 feed to its XML prolog', async () => {
    const res = await rawRequest(`${server.baseUrl}${entryFor('corriere-mediterraneo.rss.xml').path}`);
    expect(res.headers['content-type']).toBe('application/rss+xml');
  });

  it('answers 304 to a matching If-None-Match and 200 to a stale one', async () => {
    for (const entry of catalog) {
      const url = server.baseUrl + entry.path;
      const first = await rawRequest(url);
      const etag = String(first.headers['etag']);

      const revalidated = await rawRequest(url, { 'If-None-Match': etag });
      expect(revalidated.status, entry.path).toBe(304);
      expect(revalidated.body.length).toBe(0);
      expect(revalidated.headers['etag']).toBe(etag);

      const listed = await rawRequest(url, { 'If-None-Match': `"something-else", W/${etag}` });
      expect(listed.status, entry.path).toBe(304);

      const stale = await rawRequest(url, { 'If-None-Match': '"something-else"' });
      expect(stale.status, entry.path).toBe(200);
    }
  });

  it('answers 304 to If-Modified-Since at or after Last-Modified, 200 before it', async () => {
    const url = server.feeds[0]!.url;
    const lastModified = String((await rawRequest(url)).headers['last-modified']);
    expect((await rawRequest(url, { 'If-Modified-Since': lastModified })).status).toBe(304);
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await rawRequest(url, { 'If-Modified-Since': earlier })).status).toBe(200);
  });

  it('gzips when accepted, with its own ETag that also revalidates', async () => {
    const url = server.feeds[0]!.url;
    const plain = await rawRequest(url);
    const zipped = await rawRequest(url, { 'Accept-Encoding': 'br;q=1, gzip;q=0.8' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toBe('Accept-Encoding');
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.headers['etag']).not.toBe(plain.headers['etag']);

    const revalidated = await rawRequest(url, {
      'Accept-Encoding': 'gzip',
      'If-None-Match': String(zipped.headers['etag']),
    });
    expect(revalidated.status).toBe(304);

    const refused = await rawRequest(url, { 'Accept-Encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('answers HEAD without a body, 404 for unknown paths, 405 for other methods', async () => {
    const head = await rawRequest(server.feeds[0]!.url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect((await rawRequest(`${server.baseUrl}/nope.xml`)).status).toBe(404);
    expect((await rawRequest(server.feeds[0]!.url, {}, 'POST')).status).toBe(405);
  });

  it('lists the feeds on / with <link rel="alternate"> tags', async () => {
    const res = await rawRequest(`${server.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.body.toString('utf8');
    for (const entry of catalog) {
      expect(html).toContain(`<link rel="alternate" type="${entry.contentType.split(';')[0]}"`);
      expect(html).toContain(`href="${entry.path}"`);
    }
  });

  it('renders every date placeholder to a date within the last few days', async () => {
    for (const entry of catalog) {
      const text = (await rawRequest(server.baseUrl + entry.path)).body.toString('latin1');
      expect(text, entry.path).not.toContain('{{');
      const dates = datesIn(text);
      // Each item has at least one date, plus the feed-level one.
      expect(dates.length, entry.path).toBeGreaterThanOrEqual(6);
      for (const date of dates) {
        expect(date.getTime(), `${entry.path} ${date.toISOString()}`).toBeGreaterThan(startedAt - 3 * DAY_MS);
        expect(date.getTime(), `${entry.path} ${date.toISOString()}`).toBeLessThanOrEqual(Date.now());
      }
    }
  });

  it('dates the items relative to the `now` it is given', async () => {
    const now = new Date('2031-05-06T12:34:56Z');
    const shifted = await startDemoServer({ now });
    try {
      const levant = shifted.feeds.find((f) => f.url.endsWith('/levant-news-wire.rss.xml'))!;
      const text = (await rawRequest(levant.url)).body.toString('utf8');
      // lastBuildDate is {{rfc822:-25m}}, from `now` floored to the minute.
      expect(text).toContain('<lastBuildDate>Tue, 06 May 2031 12:09:00 +0000</lastBuildDate>');
      for (const date of datesIn(text)) {
        expect(date.getTime()).toBeGreaterThan(now.getTime() - 3 * DAY_MS);
        expect(date.getTime()).toBeLessThanOrEqual(now.getTime());
      }
    } finally {
      await shifted.close();
    }
  });

  it('serves the Italian feed as real windows-1252 bytes', async () => {
    const body = (await rawRequest(`${server.baseUrl}${entryFor('corriere-mediterraneo.rss.xml').path}`)).body;
    expect(body.subarray(0, 60).toString('latin1')).toContain('encoding="windows-1252"');
    expect(body.includes(0x80)).toBe(true); // €
    expect(body.includes(0x92)).toBe(true); // ’
    // é as one byte (0xE9), not the UTF-8 pair C3 A9.
    expect(body.includes(Buffer.from([0xc3, 0xa9]))).toBe(false);
    const text = new TextDecoder('windows-1252').decode(body);
    expect(text).toContain('perché');
    expect(text).toContain('città');
    expect(text).toContain("Siria, nuova sconfitta per l'Isis a Deir Ezzor: riapre il valico di Abu Kamal con l'Iraq");
  });
});

// The parser is written concurrently by another helper; exercise it once it exists.
const parserModule = new URL('../../src/parse/index.ts', import.meta.url);

interface ParsedItemLike {
  title: string | null;
  url: string | null;
  summary: string | null;
  content_html: string | null;
}
interface ParserLike {
  parseFeed(text: string, opts: { baseUrl: string }): Promise<{ items: ParsedItemLike[] }> | { items: ParsedItemLike[] };
}

describe.runIf(existsSync(parserModule))('demo feeds through src/parse', () => {
  async function parseServed(path: string): Promise<{ items: ParsedItemLike[] }> {
    // A variable specifier, so type-checking does not depend on the module existing yet.
    const specifier = parserModule.href;
    const { parseFeed } = (await import(specifier)) as ParserLike;
    const url = server.baseUrl + path;
    const res = await rawRequest(url);
    const contentType = res.headers['content-type'] ?? null;
    const { text } = decodeFeedBytes(res.body, typeof contentType === 'string' ? contentType : null);
    return parseFeed(text, { baseUrl: url });
  }

  it('parses every demo feed into at least five items', async () => {
    for (const entry of catalog) {
      const parsed = await parseServed(entry.path);
      expect(parsed.items.length, entry.path).toBeGreaterThanOrEqual(5);
      for (const item of parsed.items) expect(item.title, entry.path).toBeTruthy();
    }
  });

  it('finds the Deir Ezzor story in the Levant feed', async () => {
    const parsed = await parseServed(entryFor('levant-news-wire.rss.xml').path);
    const story = parsed.items.find(
      (i) => i.title === 'Syria, new defeat for Isis in Deir Ezzor: the Abu Kamal crossing with Iraq reopens',
    );
    expect(story?.url).toBe('https://levantnews.example/2017/11/syria-deir-ezzor-abu-kamal-crossing/');
  });

  it('keeps the Arabic text of the Sham feed', async () => {
    const parsed = await parseServed(entryFor('sham-arabic.rss.xml').path);
    const allText = parsed.items.map((i) => `${i.title} ${i.summary ?? ''} ${i.content_html ?? ''}`).join('\n');
    expect(allText).toContain('دير الزور');
    expect(allText).toContain('البوكمال');
  });

  it('decodes the windows-1252 feed through its prolog', async () => {
    const parsed = await parseServed(entryFor('corriere-mediterraneo.rss.xml').path);
    const allText = parsed.items.map((i) => `${i.title} ${i.summary ?? ''} ${i.content_html ?? ''}`).join('\n');
    expect(allText).toContain('perché');
    // 0x80 and 0x93/0x94: Node 20's own windows-1252 decoder gets these wrong; charset.ts must not.
    expect(allText).toContain('€');
    expect(allText).toContain('“');
  });
});
