import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, item, series, startApp, type RunningApp } from './helpers.ts';
import { clientKey, RateLimiter } from '../../src/api/rate-limit.ts';
import { recentEntriesVersion } from '../../src/api/entries-version.ts';
import { commitChange } from '../../src/store/change-seq.ts';
import type { Queryable } from '../../src/store/db.ts';

/** Headers that belong to the moment or the connection, or count requests. */
const VOLATILE = new Set(['date', 'connection', 'keep-alive', 'ratelimit']);

async function fetchAll(base: string, path: string, headers: Record<string, string> = {}) {
  const r = await request(`${base}${path}`, { headers });
  const body = await r.body.text();
  const kept = Object.fromEntries(Object.entries(r.headers).filter(([k]) => !VOLATILE.has(k)));
  return { status: r.statusCode, headers: kept, body, etag: r.headers.etag as string | undefined };
}

describe(`front door: hot URLs answered before Express (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let itemId: number;
  const now = new Date('2024-06-01T12:00:00Z');

  beforeAll(async () => {
    t = await createTestDb();
    // A trusted proxy: a request with X-Forwarded-For goes through Express, one without through the front door.
    app = await startApp(t.db, { TRUST_PROXY: 'true', RATE_LIMIT_PER_MINUTE: '1000' });
    const feed = await addFeed(t.db, { url: 'https://en.example/feed', title: 'English', region: 'europe', language: 'en' });
    await ingest(t.db, feed, series('en', 8, new Date('2024-05-01T00:00:00Z')), now);
    const page = JSON.parse((await fetchAll(app.base, '/api/items?limit=1')).body) as { items: { id: number }[] };
    itemId = page.items[0]!.id;
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('answers the same status, headers and bytes as Express does, for 200s and 304s', async () => {
    const viaExpress = { 'x-forwarded-for': '127.0.0.1' };
    for (const path of ['/healthz', '/feed.xml', '/feed.atom', '/feed.json', '/api/items', '/api/items?limit=3', `/api/items/${itemId}`]) {
      const front = await fetchAll(app.base, path);
      const express = await fetchAll(app.base, path, viaExpress);
      expect(front.status, path).toBe(200);
      expect(front, path).toEqual(express);
      expect(front.headers['content-security-policy'], path).toContain("default-src 'self'");
      expect(front.headers['ratelimit-policy'], path).toBe(path === '/healthz' ? undefined : '"1000-in-1min"; q=1000; w=60');
      if (path === '/healthz') continue;
      const notModified = await fetchAll(app.base, path, { 'if-none-match': front.etag! });
      expect(notModified.status, path).toBe(304);
      expect(notModified, path).toEqual(await fetchAll(app.base, path, { ...viaExpress, 'if-none-match': front.etag! }));
    }
  });

  it('answers If-Modified-Since on the merged feed, and only when there is no If-None-Match', async () => {
    const first = await fetchAll(app.base, '/feed.xml');
    const since = first.headers['last-modified'] as string;
    expect(since).toBeTruthy();
    expect((await fetchAll(app.base, '/feed.xml', { 'if-modified-since': since })).status).toBe(304);
    expect((await fetchAll(app.base, '/feed.xml', { 'if-modified-since': since, 'if-none-match': '"other"' })).status).toBe(200);
    expect((await fetchAll(app.base, '/feed.xml', { 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' })).status).toBe(200);
  });

  it('sends HTTPS-only headers exactly when the request is HTTPS: PUBLIC_URL https, or a trusted proxy says so', async () => {
    const hsts = async (base: string, headers: Record<string, string> = {}) => (await fetchAll(base, '/healthz', headers)).headers['strict-transport-security'];
    // Trusted proxy (this app): X-Forwarded-Proto counts, so Express answers with HSTS.
    expect(await hsts(app.base)).toBeUndefined();
    expect(await hsts(app.base, { 'x-forwarded-proto': 'https' })).toMatch(/max-age=/);
    const untrusted = await startApp(t.db);
    const https = await startApp(t.db, { PUBLIC_URL: 'https://news.example' });
    try {
      // No trusted proxy: the header is client input and changes nothing.
      expect(await hsts(untrusted.base, { 'x-forwarded-proto': 'https' })).toBeUndefined();
      for (const path of ['/healthz', '/feed.xml', `/api/items/${itemId}`]) {
        expect((await fetchAll(https.base, path)).headers['strict-transport-security'], path).toMatch(/max-age=/);
      }
      expect((await fetchAll(https.base, '/feed.xml')).body).toContain('https://news.example/feed.xml');
    } finally {
      await untrusted.close();
      await https.close();
    }
  });

  it('lets Express answer what a hot route cannot: an unknown or malformed id, a bad limit', async () => {
    for (const [path, status] of [
      ['/api/items/99999999', 404],
      ['/api/items/0', 400],
      ['/api/items?limit=0', 400],
      ['/api/items?limit=999', 400],
    ] as const) {
      const r = await fetchAll(app.base, path);
      expect(r.status, path).toBe(status);
      expect(r.headers['content-type'], path).toMatch(/^application\/problem\+json/);
      expect(r.headers['content-security-policy'], path).toContain("default-src 'self'");
    }
  });

  it('gives /api/items/:id an ETag that changes when the entries change', async () => {
    const first = await fetchAll(app.base, `/api/items/${itemId}`);
    expect(first.headers['cache-control']).toBe('no-cache');
    expect((await fetchAll(app.base, `/api/items/${itemId}`, { 'if-none-match': first.etag! })).status).toBe(304);
    const feed = await addFeed(t.db, { url: 'https://other.example/feed', title: 'Other', language: 'en' });
    await ingest(t.db, feed, [item({ url: 'https://other.example/1', title: 'Something new' })], now);
    const after = await fetchAll(app.base, `/api/items/${itemId}`, { 'if-none-match': first.etag! });
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(first.etag);
    expect(after.body).toBe(first.body);
  });

  it('records front-door answers in the request metric under the route pattern', async () => {
    await fetchAll(app.base, `/api/items/${itemId}`);
    const metrics = await (await fetch(`${app.base}/metrics`)).text();
    expect(metrics).toMatch(/tributary_http_request_duration_seconds_count\{method="GET",route="\/api\/items\/:id",status="200"\} [1-9]/);
    expect(metrics).toMatch(/tributary_http_request_duration_seconds_count\{method="GET",route="\/feed\.xml",status="304"\} [1-9]/);
    expect(metrics).toMatch(/tributary_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} [1-9]/);
  });

  it('counts a client once per request whichever path answers, and refuses with a 429 problem', async () => {
    const limited = await startApp(t.db, { RATE_LIMIT_PER_MINUTE: '4' });
    try {
      // Front door, front door falling through to Express (404), Express, front door.
      const statuses: number[] = [];
      for (const path of ['/feed.xml', '/api/items/99999999', '/api/items?region=europe', `/api/items/${itemId}`, '/feed.xml', '/api/items?region=europe']) {
        const r = await fetchAll(limited.base, path);
        statuses.push(r.status);
        if (r.status === 429) {
          expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(r.headers['ratelimit-policy']).toBe('"4-in-1min"; q=4; w=60');
          expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
          expect(r.headers['x-content-type-options']).toBe('nosniff');
        }
      }
      expect(statuses).toEqual([200, 404, 200, 200, 429, 429]);
      expect((await fetchAll(limited.base, '/healthz')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('rate limiter', () => {
  it('counts per address in one-minute windows, with draft-8 headers', () => {
    let clock = 1_000_000;
    const limiter = new RateLimiter(2, () => clock);
    expect(limiter.take('10.0.0.1').allowed).toBe(true);
    const second = limiter.take('10.0.0.1');
    expect(second.allowed).toBe(true);
    expect(second.headers).toEqual([
      ['RateLimit-Policy', '"2-in-1min"; q=2; w=60'],
      ['RateLimit', '"2-in-1min"; r=0; t=60'],
    ]);
    expect(limiter.take('10.0.0.1').allowed).toBe(false);
    expect(limiter.take('10.0.0.2').allowed).toBe(true);
    clock += 30_000;
    const refused = limiter.take('10.0.0.1');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterS).toBe(30);
    clock += 30_000;
    expect(limiter.take('10.0.0.1').allowed).toBe(true);
  });

  it('counts IPv6 clients per /56 and IPv4-mapped addresses as IPv4', () => {
    expect(clientKey('2001:db8:1:2ff::1')).toBe(clientKey('2001:db8:1:2aa:5::9'));
    expect(clientKey('2001:db8:1:2ff::1')).not.toBe(clientKey('2001:db8:1:3ff::1'));
    expect(clientKey('::1')).toBe('0:0:0:0::/56');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
  });
});

describe(`recent entries version (${backendName})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('reuses a recent read, but never across a change this process committed', async () => {
    let reads = 0;
    const counted: Queryable = {
      query: (sql, params) => {
        if (sql.includes('entries_version')) reads++;
        return t.db.query(sql, params);
      },
      exec: (sql) => t.db.exec(sql),
    };
    const v1 = await recentEntriesVersion(counted, 60_000);
    expect(await recentEntriesVersion(counted, 60_000)).toBe(v1);
    expect(reads).toBe(1);
    await commitChange(t.db, async () => true, () => true);
    const v2 = await recentEntriesVersion(counted, 60_000);
    expect(v2).not.toBe(v1);
    expect(reads).toBe(2);
    // Past its age a read is not reused.
    await recentEntriesVersion(counted, 0);
    expect(reads).toBe(3);
  });
});
