import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetcher, type Fetcher } from '../../src/fetch/fetcher.ts';
import type { FetchLimits, FetchOutcome } from '../../src/fetch/types.ts';
import { USER_AGENT } from '../../src/version.ts';
import {
  BILLION_LAUGHS_XML,
  FEED_ETAG,
  FEED_LAST_MODIFIED,
  ITALIAN_TITLE,
  SAMPLE_RSS,
  XXE_XML,
  gzipBomb,
  startFaultServer,
  type FaultServer,
} from '../helpers/fault-server.ts';

const MiB = 1024 * 1024;
const LIMITS: FetchLimits = {
  timeoutMs: 1500,
  headersTimeoutMs: 800,
  maxBytes: MiB,
  maxRedirects: 5,
  allowPrivate: { all: true, cidrs: [] },
  userAgent: USER_AGENT,
};

let server: FaultServer;
let fetcher: Fetcher;

beforeAll(async () => {
  server = await startFaultServer();
  fetcher = createFetcher(LIMITS);
  await gzipBomb(); // built once up front so the bomb test times only the fetch
});

afterAll(async () => {
  await fetcher?.close();
  await server?.close();
});

function expectKind<K extends FetchOutcome['kind']>(r: FetchOutcome, kind: K): Extract<FetchOutcome, { kind: K }> {
  if (r.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(r).slice(0, 400)}`);
  return r as Extract<FetchOutcome, { kind: K }>;
}

/** Runs fn while sampling RSS every 10 ms; returns its result and the peak growth in bytes. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

describe('fetchFeed: success and conditional GET', () => {
  it('returns the decoded feed with validators, freshness and polite request headers', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/feed.xml') }), 'ok');
    expect(r).toMatchObject({
      status: 200,
      url: server.url('/feed.xml'),
      finalUrl: server.url('/feed.xml'),
      redirects: [],
      permanentRedirectTo: null,
      etag: FEED_ETAG,
      lastModified: FEED_LAST_MODIFIED,
      contentType: 'application/rss+xml; charset=utf-8',
      text: SAMPLE_RSS,
      bytes: Buffer.byteLength(SAMPLE_RSS),
      freshForSeconds: 300,
    });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    const seen = server.lastRequest('/feed.xml')!.headers;
    expect(seen['user-agent']).toMatch(/^Tributary\/\d+\.\d+\.\d+ /);
    expect(seen['accept-encoding']).toMatch(/gzip/);
    expect(seen['accept-encoding']).toMatch(/br/);
    expect(seen['accept']).toMatch(/^application\/rss\+xml, application\/atom\+xml/);
    expect(seen['if-none-match']).toBeUndefined();
  });

  it('sends both conditional headers and reports 304 as not-modified', async () => {
    const before = server.count('/feed.xml');
    const r = expectKind(
      await fetcher.fetchFeed({ url: server.url('/feed.xml'), etag: FEED_ETAG, lastModified: FEED_LAST_MODIFIED }),
      'not-modified',
    );
    expect(r).toMatchObject({ status: 304, etag: FEED_ETAG, lastModified: FEED_LAST_MODIFIED, freshForSeconds: 300 });
    expect(server.count('/feed.xml')).toBe(before + 1);
    const seen = server.lastRequest('/feed.xml')!.headers;
    expect(seen['if-none-match']).toBe(FEED_ETAG);
    expect(seen['if-modified-since']).toBe(FEED_LAST_MODIFIED);
  });

  it('gets a full body again when the validators are stale', async () => {
    const r = await fetcher.fetchFeed({ url: server.url('/feed.xml'), etag: '"old"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' });
    expect(expectKind(r, 'ok').text).toBe(SAMPLE_RSS);
  });

  it('drops a stored validator that is not a valid header value instead of failing every poll', async () => {
    const r = await fetcher.fetchFeed({ url: server.url('/feed.xml'), etag: '"a"\r\nX-Injected: 1', lastModified: FEED_LAST_MODIFIED });
    expect(r.kind).toBe('not-modified');
    const seen = server.lastRequest('/feed.xml')!.headers;
    expect(seen['if-none-match']).toBeUndefined();
    expect(seen['x-injected']).toBeUndefined();
  });

  it.each(['/gzip.xml', '/br.xml'])('decompresses %s', async (path) => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url(path) }), 'ok');
    expect(r.text).toBe(SAMPLE_RSS);
    expect(r.bytes).toBe(Buffer.byteLength(SAMPLE_RSS));
  });

  it('serves many feeds concurrently through one agent', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => fetcher.fetchFeed({ url: server.url('/real.xml') })));
    expect(results.every((r) => r.kind === 'ok')).toBe(true);
  });
});

describe('fetchFeed: time limits', () => {
  it('cuts a trickling body at the total timeout', async () => {
    const started = Date.now();
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/trickle') }), 'error');
    const elapsed = Date.now() - started;
    expect(r.errorKind).toBe('timeout');
    expect(r.message).toMatch(/total timeout/);
    expect(elapsed).toBeGreaterThanOrEqual(LIMITS.timeoutMs - 50);
    expect(elapsed).toBeLessThan(LIMITS.timeoutMs + 1000);
  });

  it('gives up on a server that never sends headers', async () => {
    const started = Date.now();
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/hang') }), 'error');
    expect(r.errorKind).toBe('timeout');
    expect(r.message).toMatch(/headers/);
    expect(Date.now() - started).toBeLessThan(LIMITS.timeoutMs + 1000);
  });

  it('rethrows the caller abort instead of reporting a feed error', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error('shutting down')), 100);
    await expect(fetcher.fetchFeed({ url: server.url('/trickle') }, { signal: ac.signal })).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetcher.fetchFeed({ url: server.url('/feed.xml') }, { signal: ac.signal })).rejects.toThrow('shutting down');
  });

  it('detaches from a long-lived caller signal after each fetch', async () => {
    const shutdown = new AbortController();
    for (const path of ['/feed.xml', '/status/500', '/hang']) await fetcher.fetchFeed({ url: server.url(path) }, { signal: shutdown.signal });
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });
});

describe('fetchFeed: size limits', () => {
  it('aborts a 200 MB chunked body at the cap, quickly and in bounded memory', async () => {
    const started = Date.now();
    const { result, growth } = await withPeakRss(() => fetcher.fetchFeed({ url: server.url('/huge') }));
    const r = expectKind(result, 'error');
    expect(r.errorKind).toBe('too-large');
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(growth).toBeLessThan(50 * MiB);
  });

  it('rejects a declared Content-Length over the cap before reading', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/huge-declared') }), 'error');
    expect(r.errorKind).toBe('too-large');
    expect(r.message).toMatch(/Content-Length 209715200/);
  });

  it('stops a gzip bomb after the cap of decompressed bytes', async () => {
    const bomb = await gzipBomb();
    expect(bomb.length).toBeLessThan(LIMITS.maxBytes); // small on the wire: only the decoded count can catch it
    const started = Date.now();
    const { result, growth } = await withPeakRss(() => fetcher.fetchFeed({ url: server.url('/gzip-bomb') }));
    const r = expectKind(result, 'error');
    expect(r.errorKind).toBe('too-large');
    expect(r.message).toMatch(/after decompression/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(growth).toBeLessThan(50 * MiB);
  });

  it('accepts a body of exactly the cap', async () => {
    const body = Buffer.alloc(LIMITS.maxBytes, 'x');
    server.route('/exactly-cap', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(body);
    });
    expect(expectKind(await fetcher.fetchFeed({ url: server.url('/exactly-cap') }), 'ok').bytes).toBe(LIMITS.maxBytes);
  });
});

describe('fetchFeed: HTTP errors', () => {
  it.each([
    ['/status/500', 500, null],
    ['/status/404', 404, null],
    ['/status/410', 410, null],
    ['/status/503', 503, 120],
    ['/status/429', 429, 90],
  ])('%s → http error %i, retry after %s', async (path, status, retryAfter) => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url(path) }), 'error');
    expect(r).toMatchObject({ errorKind: 'http', status, retryAfterSeconds: retryAfter });
    expect(r.message).toContain(`HTTP ${status}`);
  });

  it('reports a body that is not the compression it claims as a decode error', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/bad-gzip') }), 'error');
    expect(r.errorKind).toBe('decode');
  });

  it.each(['/close-immediately', '/reset-mid-body'])('reports %s as a network error', async (path) => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url(path) }), 'error');
    expect(r.errorKind).toBe('network');
    expect(r.message).toMatch(/closed the connection/);
  });

  it('reports a refused connection', async () => {
    const gone = await startFaultServer({ defaultRoutes: false });
    const url = gone.url('/feed.xml');
    await gone.close();
    const r = expectKind(await fetcher.fetchFeed({ url }), 'error');
    expect(r).toMatchObject({ errorKind: 'network', message: 'connection refused by the server', status: null });
  });

  it('reports a host name that does not resolve', async () => {
    const f = createFetcher(LIMITS, {
      lookup: async (host) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      },
    });
    try {
      const r = expectKind(await f.fetchFeed({ url: 'http://feeds.invalid/rss' }), 'error');
      expect(r.errorKind).toBe('network');
      expect(r.message).toMatch(/could not resolve the host name/);
    } finally {
      await f.close();
    }
  });

  it.each(['ftp://127.0.0.1/feed.xml', 'file:///etc/passwd', 'not a url', 'http://user:pw@127.0.0.1/'])('refuses to fetch %s', async (url) => {
    const r = expectKind(await fetcher.fetchFeed({ url }), 'error');
    expect(r.errorKind).toBe('blocked');
  });
});

describe('fetchFeed: redirects', () => {
  it.each([301, 308])('records a %i and marks the move permanent', async (status) => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url(`/redirect/${status}`) }), 'ok');
    expect(r.redirects).toEqual([{ from: server.url(`/redirect/${status}`), to: server.url('/feed.xml'), status }]);
    expect(r.finalUrl).toBe(server.url('/feed.xml'));
    expect(r.permanentRedirectTo).toBe(server.url('/feed.xml'));
  });

  it.each([302, 303, 307])('follows a %i without marking it permanent', async (status) => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url(`/redirect/${status}`) }), 'ok');
    expect(r.redirects).toHaveLength(1);
    expect(r.finalUrl).toBe(server.url('/feed.xml'));
    expect(r.permanentRedirectTo).toBeNull();
  });

  it('is not permanent when one hop of the chain is temporary', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/redirect/mixed') }), 'ok');
    expect(r.redirects.map((h) => h.status)).toEqual([301, 307]);
    expect(r.permanentRedirectTo).toBeNull();
  });

  it('keeps the conditional headers on every hop', async () => {
    const r = await fetcher.fetchFeed({ url: server.url('/redirect/301'), etag: FEED_ETAG });
    expect(expectKind(r, 'not-modified').permanentRedirectTo).toBe(server.url('/feed.xml'));
    expect(server.lastRequest('/feed.xml')!.headers['if-none-match']).toBe(FEED_ETAG);
  });

  it('resolves a relative Location', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/redirect/relative/deeper') }), 'ok');
    expect(r.finalUrl).toBe(server.url('/real.xml'));
  });

  it('follows exactly maxRedirects hops', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/redirect/chain/5') }), 'ok');
    expect(r.redirects).toHaveLength(5);
    expect(r.permanentRedirectTo).toBe(server.url('/real.xml'));
  });

  it('stops after maxRedirects and never requests the target', async () => {
    server.resetRequests();
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/redirect/chain/6') }), 'error');
    expect(r.errorKind).toBe('redirect');
    expect(r.message).toMatch(/more than 5 redirects/);
    expect(r.permanentRedirectTo).toBeNull();
    expect(server.count('/real.xml')).toBe(0);
    expect(server.count()).toBe(6);
  });

  it.each(['/redirect/loop-a', '/redirect/self'])('detects the loop %s', async (path) => {
    server.resetRequests();
    const r = expectKind(await fetcher.fetchFeed({ url: server.url(path) }), 'error');
    expect(r.errorKind).toBe('redirect');
    expect(r.message).toMatch(/redirect loop/);
    expect(server.count()).toBeLessThanOrEqual(2);
  });

  it('reports a redirect without Location', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/redirect/no-location') }), 'error');
    expect(r).toMatchObject({ errorKind: 'redirect', status: 302 });
  });

  it('refuses a redirect to another scheme', async () => {
    const r = expectKind(await fetcher.fetchFeed({ url: server.url('/redirect/ftp') }), 'error');
    expect(r.errorKind).toBe('blocked');
    expect(r.message).toMatch(/ftp:/);
  });
});

describe('fetchFeed: content is returned as text, never parsed', () => {
  it.each([
    ['/billion-laughs.xml', BILLION_LAUGHS_XML],
    ['/xxe.xml', XXE_XML],
  ])('returns %s verbatim', async (path, body) => {
    expect(expectKind(await fetcher.fetchFeed({ url: server.url(path) }), 'ok').text).toBe(body);
  });

  it('returns malformed XML, an empty body and an HTML page as ok for the parser to judge', async () => {
    expect(expectKind(await fetcher.fetchFeed({ url: server.url('/malformed.xml') }), 'ok').text).toMatch(/no close$/);
    expect(expectKind(await fetcher.fetchFeed({ url: server.url('/empty') }), 'ok')).toMatchObject({ text: '', bytes: 0 });
    const page = expectKind(await fetcher.fetchFeed({ url: server.url('/page.html') }), 'ok');
    expect(page.contentType).toMatch(/^text\/html/);
    expect(page.text).toContain('<link rel="alternate" type="application/rss+xml" title="RSS" href="/real.xml">');
    const wrongType = expectKind(await fetcher.fetchFeed({ url: server.url('/wrong-type.xml') }), 'ok');
    expect(wrongType).toMatchObject({ contentType: 'text/html', text: SAMPLE_RSS });
  });

  it('strips a BOM and decodes UTF-16 and windows-1252', async () => {
    expect(expectKind(await fetcher.fetchFeed({ url: server.url('/bom.xml') }), 'ok').text).toBe(SAMPLE_RSS);
    expect(expectKind(await fetcher.fetchFeed({ url: server.url('/utf16.xml') }), 'ok').text).toBe(SAMPLE_RSS.replace('UTF-8', 'UTF-16'));
    const legacy = expectKind(await fetcher.fetchFeed({ url: server.url('/windows-1252.xml') }), 'ok');
    expect(legacy.text).toContain(`<title>${ITALIAN_TITLE}</title>`);
    expect(legacy.text).toContain('“virgolette” – €');
  });
});

// A feed's next poll is minutes away: holding idle connections for as long as a server offers
// (here 60 s) keeps a pool per origin in the worker's heap and a socket on every publisher's server.
describe('idle connections', () => {
  it('closes an idle keep-alive connection after about 4 s, whatever the server offers', { timeout: 20_000 }, async () => {
    const { createServer } = await import('node:http');
    const closedAt: number[] = [];
    const srv = createServer({ keepAlive: true }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(SAMPLE_RSS);
    });
    srv.keepAliveTimeout = 60_000;
    srv.on('connection', (socket) => socket.on('close', () => closedAt.push(Date.now())));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const own = createFetcher(LIMITS);
    try {
      const start = Date.now();
      const out = await own.fetchFeed({ url: `http://127.0.0.1:${port}/feed` });
      expect(out.kind).toBe('ok');
      await new Promise((r) => setTimeout(r, 6_000));
      expect(closedAt).toHaveLength(1);
      expect(closedAt[0]! - start).toBeLessThan(5_500);
    } finally {
      await own.close();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });
});
