import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { startFaultServer, SAMPLE_RSS, type FaultServer } from '../helpers/fault-server.ts';
import { loadConfig } from '../../src/config/env.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createApp } from '../../src/api/app.ts';
import { createFetcher, type Fetcher } from '../../src/fetch/fetcher.ts';
import type { LookupAll } from '../../src/fetch/address-guard.ts';
import { fetchLimits } from '../../src/runtime.ts';
import type { SubscribeDeps } from '../../src/subscribe/subscribe.ts';

const TOKEN = 'subscribe-test-token-0123456789';

/** A blog page that advertises three feeds (relative, root-relative, against <base>) and some links that are no feeds. */
const BLOG_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>A blog</title>
<base href="/blog/">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" hreflang="it" type="text/html" href="/it/">
<link rel="Alternate" type="application/rss+xml" title="Posts" href="posts.xml">
<link rel="alternate" type="application/atom+xml; charset=utf-8" title="Atom" href="/atom.xml">
<link rel="alternate" type="application/feed+json" href="../feed.json">
<link rel="alternate" type="application/rss+xml" href="posts.xml">
</head><body><p>Posts &amp; more</p></body></html>`;

const PLAIN_PAGE = '<!doctype html><html><head><title>No feeds here</title></head><body>hello</body></html>';

/** DNS for the test app: names under .invalid do not resolve (offline); the fault server is a literal. */
const offlineLookup: LookupAll = async (hostname) => {
  if (hostname === 'intranet.example') return [{ address: '10.1.2.3', family: 4 }];
  if (hostname === 'metadata.example') return [{ address: '::a9fe:a9fe', family: 6 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

interface Running {
  base: string;
  subscribe: SubscribeDeps;
  shutdown: AbortController;
  close(): Promise<void>;
}

async function startApi(t: TestDb, opts: { importDeadlineMs?: number; lookup?: LookupAll } = {}): Promise<Running> {
  const config = loadConfig({
    ADMIN_TOKEN: TOKEN,
    RATE_LIMIT_PER_MINUTE: '0',
    ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32',
    FETCH_TIMEOUT_MS: '60000',
    FETCH_HEADERS_TIMEOUT_MS: '60000',
  });
  const fetcher: Fetcher = createFetcher(fetchLimits(config), { lookup: opts.lookup ?? offlineLookup });
  const shutdown = new AbortController();
  const subscribe: SubscribeDeps = {
    db: t.db,
    fetcher,
    allow: config.ALLOW_PRIVATE_NETWORKS,
    signal: shutdown.signal,
    importDeadlineMs: opts.importDeadlineMs,
    importConcurrency: 8,
  };
  const app = createApp({ db: t.db, config, logger: silentLogger, metrics: createMetrics(), refreshFeed: async () => null, subscribe });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    subscribe,
    shutdown,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fetcher.close();
    },
  };
}

async function call(r: Running, method: string, path: string, body?: { json?: unknown; opml?: string }) {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  let payload: string | undefined;
  if (body?.json !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body.json);
  } else if (body?.opml !== undefined) {
    headers['content-type'] = 'text/x-opml';
    payload = body.opml;
  }
  const res = await fetch(r.base + path, { method, headers, body: payload });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  const data: any = /json/.test(contentType) && text !== '' ? JSON.parse(text) : text; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field
  return { status: res.status, contentType, data };
}

const opml = (urls: string[]) =>
  `<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>${urls
    .map((u, i) => `<outline type="rss" text="Feed ${i}" xmlUrl="${u.replaceAll('&', '&amp;')}"/>`)
    .join('')}</body></opml>`;

describe(`one way to subscribe: the API (${backendName})`, { timeout: 60_000 }, () => {
  let t: TestDb;
  let site: FaultServer;
  let api: Running;

  beforeAll(async () => {
    t = await createTestDb();
    site = await startFaultServer();
    site.route('/blog/', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(BLOG_PAGE);
    });
    site.route('/blog/posts.xml', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(SAMPLE_RSS);
    });
    site.route('/plain.html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PLAIN_PAGE);
    });
    site.route('/not-a-feed.xml', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>');
    });
    site.route('/advertises-private.html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head><link rel="alternate" type="application/rss+xml" href="http://[::a9fe:a9fe]/feed"></head></html>');
    });
    // Never answers: a host that stalls an import.
    site.route('/stall', () => undefined);
    api = await startApi(t);
  });
  afterAll(async () => {
    await api?.close();
    await site?.close();
    await t?.drop();
  });
  beforeEach(async () => {
    await t.db.exec('delete from entries; delete from feeds;');
  });

  describe('POST /api/feeds', () => {
    it('given a web page, subscribes the first feed it advertises and says so', async () => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url: site.url('/blog/'), region: 'Levant' } });
      expect(r.status, JSON.stringify(r.data)).toBe(201);
      expect(r.data).toMatchObject({
        url: site.url('/blog/posts.xml'),
        region: 'Levant',
        discovered_from: site.url('/blog/'),
        subscribed: [{ id: r.data.id, url: site.url('/blog/posts.xml'), status: 'added' }],
        unchecked: null,
      });
      const feeds = (await call(api, 'GET', '/api/feeds')).data.feeds;
      expect(feeds.map((f: { url: string }) => f.url)).toEqual([site.url('/blog/posts.xml')]);
    });

    it('with "discover":"all", subscribes every advertised feed (relative hrefs resolved, each once)', async () => {
      const first = await call(api, 'POST', '/api/feeds', { json: { url: site.url('/blog/') } });
      expect(first.status).toBe(201);
      const r = await call(api, 'POST', '/api/feeds', { json: { url: site.url('/blog/'), discover: 'all' } });
      expect(r.status, JSON.stringify(r.data)).toBe(201);
      expect(r.data.subscribed).toEqual([
        { id: first.data.id, url: site.url('/blog/posts.xml'), status: 'existing' },
        { id: expect.any(Number), url: site.url('/atom.xml'), status: 'added' },
        { id: expect.any(Number), url: site.url('/feed.json'), status: 'added' },
      ]);
      expect(r.data.url).toBe(site.url('/atom.xml'));
      const urls = (await call(api, 'GET', '/api/feeds')).data.feeds.map((f: { url: string }) => f.url).sort();
      expect(urls).toEqual([site.url('/atom.xml'), site.url('/blog/posts.xml'), site.url('/feed.json')].sort());
    });

    it('subscribes a feed URL as it is, and detects the duplicate by the URL or by the page that advertises it', async () => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url: site.url('/blog/posts.xml') } });
      expect(r.status).toBe(201);
      expect(r.data.discovered_from).toBeNull();
      for (const url of [site.url('/blog/posts.xml'), site.url('/blog/posts.xml#latest'), site.url('/blog/')]) {
        const dup = await call(api, 'POST', '/api/feeds', { json: { url } });
        expect(dup.status, url).toBe(409);
        expect(dup.contentType).toMatch(/^application\/problem\+json/);
        expect(dup.data).toMatchObject({ status: 409, feed_id: r.data.id });
      }
      expect((await call(api, 'GET', '/api/feeds')).data.feeds).toHaveLength(1);
    });

    it.each([
      ['a page that advertises no feed', '/plain.html', /is a web page that advertises no feed/],
      ['a document that is no feed', '/not-a-feed.xml', /is not a feed \(its root element is <svg>\)/],
      ['a page whose feed is on a refused address', '/advertises-private.html', /the feed .* advertises is refused: .*embedding 169\.254\.169\.254/],
    ])('refuses %s with 400', async (_name, path, reason) => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url: site.url(path) } });
      expect(r.status).toBe(400);
      expect(r.data.errors[0]).toMatchObject({ parameter: 'url', reason: expect.stringMatching(reason) });
      expect((await call(api, 'GET', '/api/feeds')).data.feeds).toEqual([]);
    });

    it.each([
      ['http://[::a9fe:a9fe]/latest/meta-data/', /address ::a9fe:a9fe \(embedding 169\.254\.169\.254\) is link-local; not in ALLOW_PRIVATE_NETWORKS \(127\.0\.0\.1\/32\)/],
      ['http://[::127.0.0.2]/', /127\.0\.0\.2\) is loopback; not in ALLOW_PRIVATE_NETWORKS/],
      ['http://[::a00:1]/', /10\.0\.0\.1\)? is in a private network; not in ALLOW_PRIVATE_NETWORKS/],
      ['http://[64:ff9b::a9fe:a9fe]/', /embedding 169\.254\.169\.254/],
      ['http://intranet.example/feed', /intranet\.example resolves to address 10\.1\.2\.3 is in a private network; not in ALLOW_PRIVATE_NETWORKS/],
      ['http://metadata.example/feed', /metadata\.example resolves to address ::a9fe:a9fe \(embedding 169\.254\.169\.254\)/],
    ])('refuses %s (SSRF) with 400', async (url, reason) => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url } });
      expect(r.status, JSON.stringify(r.data)).toBe(400);
      expect(r.data.detail).toMatch(reason);
    });

    it('adds a feed whose host does not resolve now, and says it was not checked', async () => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url: 'https://news.invalid/rss' } });
      expect(r.status, JSON.stringify(r.data)).toBe(201);
      expect(r.data.url).toBe('https://news.invalid/rss');
      expect(r.data.unchecked).toMatch(/^not checked now: .*news\.invalid/);
    });

    it('refuses an unknown discover mode', async () => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url: site.url('/blog/'), discover: 'some' } });
      expect(r.status).toBe(400);
      expect(r.data.errors[0].parameter).toBe('discover');
    });
  });

  it('a subscription waiting on a stalling host answers 503 when the server shuts down, and adds nothing', async () => {
    const slow = await startApi(t);
    try {
      const before = site.count('/stall');
      const pending = call(slow, 'POST', '/api/feeds', { json: { url: site.url('/stall?single') } });
      for (let i = 0; i < 200 && site.count('/stall') === before; i++) await new Promise((res) => setTimeout(res, 50));
      slow.shutdown.abort();
      const r = await pending;
      expect(r.status).toBe(503);
      expect(r.contentType).toMatch(/^application\/problem\+json/);
      expect((await call(api, 'GET', '/api/feeds')).data.feeds).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  describe('PATCH /api/feeds/:id with url', () => {
    it('moves a feed to a new URL, checked like a new one: validators and failures are reset, the feed is due', async () => {
      const created = await call(api, 'POST', '/api/feeds', { json: { url: 'https://old.invalid/rss', title: 'Kept' } });
      const id = created.data.id;
      await t.db.query(
        `update feeds set etag = '"v1"', last_modified = 'x', error_count = 4, next_poll_at = now() + interval '1 day' where id = $1`,
        [id],
      );
      const r = await call(api, 'PATCH', `/api/feeds/${id}`, { json: { url: site.url('/blog/') } });
      expect(r.status, JSON.stringify(r.data)).toBe(200);
      expect(r.data).toMatchObject({ id, url: site.url('/blog/posts.xml'), title: 'Kept', error_count: 0, discovered_from: site.url('/blog/') });
      expect(new Date(r.data.next_poll_at).getTime()).toBeLessThan(Date.now() + 60_000);
      const row = await t.db.query<{ etag: string | null; host: string }>('select etag, host from feeds where id = $1', [id]);
      expect(row.rows[0]).toEqual({ etag: null, host: new URL(site.origin).host });
    });

    it('answers 409 problem+json when another feed has the URL, and 400 for a refused one; the feed keeps its URL', async () => {
      const a = await call(api, 'POST', '/api/feeds', { json: { url: 'https://a.invalid/rss' } });
      const b = await call(api, 'POST', '/api/feeds', { json: { url: 'https://b.invalid/rss' } });
      const taken = await call(api, 'PATCH', `/api/feeds/${a.data.id}`, { json: { url: 'HTTPS://B.INVALID/rss' } });
      expect(taken.status).toBe(409);
      expect(taken.contentType).toMatch(/^application\/problem\+json/);
      expect(taken.data).toMatchObject({ status: 409, feed_id: b.data.id });
      for (const url of ['ftp://a.invalid/rss', 'http://[::7f00:2]/', site.url('/plain.html')]) {
        const refused = await call(api, 'PATCH', `/api/feeds/${a.data.id}`, { json: { url } });
        expect(refused.status, url).toBe(400);
        expect(refused.data.errors[0].parameter).toBe('url');
      }
      expect((await call(api, 'GET', `/api/feeds/${a.data.id}`)).data.url).toBe('https://a.invalid/rss');
      expect((await call(api, 'PATCH', '/api/feeds/999999', { json: { url: 'https://c.invalid/' } })).status).toBe(404);
    });
  });

  describe('POST /api/opml', () => {
    it('gives every outline a result; duplicates within the file and with the database are detected', async () => {
      await call(api, 'POST', '/api/feeds', { json: { url: site.url('/atom.xml') } });
      const body = opml([
        site.url('/blog/'),
        site.url('/feed.json'),
        site.url('/feed.json').replace('http://', 'HTTP://'), // the same URL spelled differently
        site.url('/atom.xml'),
        'https://offline.invalid/rss',
        'http://[::a9fe:a9fe]/',
        site.url('/plain.html'),
      ]);
      const r = await call(api, 'POST', '/api/opml', { opml: body });
      expect(r.status, JSON.stringify(r.data)).toBe(200);
      expect(r.data).toMatchObject({ added: 3, existing: 2, skipped: 0, complete: true });
      expect(r.data.outlines.map((o: { result: string }) => o.result)).toEqual(['added', 'added', 'existing', 'existing', 'added', 'rejected', 'rejected']);
      expect(r.data.outlines[0]).toMatchObject({ discovered_from: site.url('/blog/'), feeds: [{ url: site.url('/blog/posts.xml'), status: 'added' }] });
      expect(r.data.outlines[4].reason).toMatch(/^not checked now: /);
      expect(r.data.rejected.map((x: { url: string }) => x.url)).toEqual(['http://[::a9fe:a9fe]/', site.url('/plain.html')]);
    });

    it('answers within its deadline when hosts stall or do not resolve: unprobed outlines are added unchecked', async () => {
      const stalling = await startApi(t, { importDeadlineMs: 1500 });
      try {
        const urls = [
          ...Array.from({ length: 300 }, (_, i) => `http://host-${i}.nowhere.invalid/feed.xml`),
          ...Array.from({ length: 40 }, (_, i) => site.url(`/stall?n=${i}`)),
          site.url('/real.xml'),
        ];
        const r = await call(stalling, 'POST', '/api/opml', { opml: opml(urls) });
        expect(r.status).toBe(200);
        expect(r.data.complete).toBe(true);
        expect(r.data.outlines).toHaveLength(urls.length);
        expect(r.data.added).toBe(urls.length);
        const stalled = r.data.outlines.filter((o: { url: string }) => o.url.includes('/stall'));
        expect(stalled.every((o: { result: string; reason: string }) => o.result === 'added' && /^not checked: the import took longer than 1500 ms/.test(o.reason))).toBe(true);
        const count = await t.db.query<{ n: number }>('select count(*)::int as n from feeds');
        expect(count.rows[0]!.n).toBe(urls.length);
      } finally {
        await stalling.close();
      }
    });

    it('is cancelled by the shutdown signal: the request answers at once with the rest skipped', async () => {
      const slow = await startApi(t, { importDeadlineMs: 600_000 });
      try {
        const before = site.count('/stall');
        const urls = [site.url('/real.xml'), ...Array.from({ length: 30 }, (_, i) => site.url(`/stall?shutdown=${i}`))];
        const pending = call(slow, 'POST', '/api/opml', { opml: opml(urls) });
        // Once the import is stuck on the stalling host, the process is asked to stop.
        for (let i = 0; i < 200 && site.count('/stall') === before; i++) await new Promise((res) => setTimeout(res, 50));
        expect(site.count('/stall')).toBeGreaterThan(before);
        slow.shutdown.abort();
        const r = await pending;
        expect(r.status).toBe(200);
        expect(r.data).toMatchObject({ complete: false, added: 1, skipped: 30 });
        expect(r.data.outlines[0]).toMatchObject({ url: site.url('/real.xml'), result: 'added' });
        expect(r.data.outlines.slice(1).every((o: { result: string }) => o.result === 'skipped')).toBe(true);
      } finally {
        await slow.close();
      }
    });
  });
});
