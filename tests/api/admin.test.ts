import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { loadConfig } from '../../src/config/env.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { LookupAll } from '../../src/fetch/address-guard.ts';
import { createFetcher } from '../../src/fetch/fetcher.ts';
import { fetchLimits } from '../../src/runtime.ts';
import type { ApiDeps } from '../../src/api/deps.ts';
import { createApp } from '../../src/api/app.ts';
import { parseOpml } from '../../src/opml/parse-opml.ts';

const TOKEN = 'test-admin-token-0123456789';

/**
 * DNS for the tests: intranet.example resolves to a private address; every other name fails, as
 * offline, so adding it is not checked by a fetch (and is accepted: DNS is judged at fetch time).
 */
const fakeLookup: LookupAll = async (hostname) => {
  if (hostname === 'intranet.example') return [{ address: '10.1.2.3', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

interface Running {
  base: string;
  deps: ApiDeps;
  refreshCalls: number[];
  close(): Promise<void>;
}

async function start(t: TestDb, env: Record<string, string>): Promise<Running> {
  const config = loadConfig({ DEMO: 'false', RATE_LIMIT_PER_MINUTE: '0', ...env });
  const refreshCalls: number[] = [];
  const deps: ApiDeps = {
    db: t.db,
    config,
    logger: silentLogger,
    metrics: createMetrics(),
    subscribe: { db: t.db, fetcher: createFetcher(fetchLimits(config), { lookup: fakeLookup }), allow: config.ALLOW_PRIVATE_NETWORKS },
    async refreshFeed(feedId) {
      refreshCalls.push(feedId);
      // Stands in for a poll: the route must answer with the feed as it is after this.
      await t.db.query(`update feeds set last_status = 200, last_fetched_at = now(), title = 'Polled title' where id = $1`, [feedId]);
      return { outcome: 'ok', inserted: 3 };
    },
  };
  const app = createApp(deps);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    deps,
    refreshCalls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface CallOptions {
  token?: string | null;
  authorization?: string;
  json?: unknown;
  body?: string;
  type?: string;
}

async function call(r: Running, method: string, path: string, o: CallOptions = {}) {
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? TOKEN : o.token;
  if (o.authorization !== undefined) headers.authorization = o.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.body !== undefined) {
    headers['content-type'] = o.type ?? 'text/x-opml';
    body = o.body;
  }
  const res = await fetch(r.base + path, { method, headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  const data: any = /json/.test(contentType) && text !== '' ? JSON.parse(text) : text; // eslint-disable-line @typescript-eslint/no-explicit-any -- test responses are checked field by field
  return { status: res.status, headers: res.headers, contentType, data };
}

async function resetFeeds(t: TestDb) {
  await t.db.exec('delete from entries; delete from feeds;');
}

async function addEntry(t: TestDb, key: string, feedIds: number[]): Promise<number> {
  const r = await t.db.query<{ id: number }>(
    `insert into entries (dedupe_key, url, title, sort_at, content_hash) values ($1, $1, $1, now(), 'h') returning id`,
    [key],
  );
  const id = r.rows[0]!.id;
  await t.db.query(
    `insert into entry_sources (feed_id, item_key, entry_id) select f, $2, $1 from unnest($3::int[]) as f`,
    [id, `item-${key}`, feedIds],
  );
  return id;
}

describe(`feed admin API (${backendName})`, () => {
  let t: TestDb;
  let api: Running;
  let readOnly: Running;

  beforeAll(async () => {
    t = await createTestDb();
    api = await start(t, { ADMIN_TOKEN: TOKEN });
    readOnly = await start(t, {});
  });
  afterAll(async () => {
    await api?.close();
    await readOnly?.close();
    await t?.drop();
  });
  beforeEach(async () => {
    await resetFeeds(t);
  });

  const addFeed = async (json: Record<string, unknown>) => {
    const r = await call(api, 'POST', '/api/feeds', { json });
    expect(r.status, JSON.stringify(r.data)).toBe(201);
    return r.data as { id: number; url: string; title: string | null; region: string | null };
  };

  describe('auth', () => {
    it('refuses a write without a bearer header with 401 and WWW-Authenticate', async () => {
      for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer   ']) {
        const r = await call(api, 'POST', '/api/feeds', { token: null, authorization, json: { url: 'https://a.example/feed' } });
        expect(r.status, String(authorization)).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(r.contentType).toMatch(/^application\/problem\+json/);
        expect(r.data).toMatchObject({ status: 401, title: 'Unauthorized' });
      }
      expect((await call(api, 'GET', '/api/feeds')).data.feeds).toEqual([]);
    });

    it('refuses a wrong token with 403, on every write route', async () => {
      const feed = await addFeed({ url: 'https://a.example/feed' });
      const wrong = { token: 'test-admin-token-0123456780' };
      const attempts = [
        call(api, 'POST', '/api/feeds', { ...wrong, json: { url: 'https://b.example/feed' } }),
        call(api, 'PATCH', `/api/feeds/${feed.id}`, { ...wrong, json: { title: 'x' } }),
        call(api, 'DELETE', `/api/feeds/${feed.id}`, wrong),
        call(api, 'POST', `/api/feeds/${feed.id}/refresh`, wrong),
        call(api, 'POST', '/api/opml', { ...wrong, body: '<opml version="2.0"><body/></opml>' }),
        call(api, 'POST', '/api/feeds', { token: 'short', json: { url: 'https://b.example/feed' } }),
      ];
      for (const r of await Promise.all(attempts)) {
        expect(r.status).toBe(403);
        expect(r.data).toMatchObject({ status: 403, title: 'Forbidden' });
      }
      expect(api.refreshCalls).toEqual([]);
      const list = await call(api, 'GET', '/api/feeds');
      expect(list.data.feeds.map((f: { url: string; title: string | null }) => [f.url, f.title])).toEqual([['https://a.example/feed', null]]);
    });

    it('refuses every write when ADMIN_TOKEN is unset, even with a header', async () => {
      const r = await call(readOnly, 'POST', '/api/feeds', { json: { url: 'https://a.example/feed' } });
      expect(r.status).toBe(403);
      expect(r.data.detail).toBe('writes are disabled: set ADMIN_TOKEN');
      const none = await call(readOnly, 'POST', '/api/feeds', { token: null, json: { url: 'https://a.example/feed' } });
      expect(none.status).toBe(403);
      expect((await call(readOnly, 'GET', '/api/feeds')).data.feeds).toEqual([]);
    });

    it('accepts the right token (scheme case-insensitive) and keeps reads public', async () => {
      const r = await call(api, 'POST', '/api/feeds', { authorization: `bearer ${TOKEN}`, json: { url: 'https://a.example/feed' } });
      expect(r.status).toBe(201);
      for (const server of [api, readOnly]) {
        expect((await call(server, 'GET', '/api/feeds', { token: null })).status).toBe(200);
        expect((await call(server, 'GET', `/api/feeds/${r.data.id}`, { token: null })).status).toBe(200);
        expect((await call(server, 'GET', '/api/opml', { token: null })).status).toBe(200);
      }
    });
  });

  describe('POST /api/feeds', () => {
    it('adds a feed: 201, Location, the feed with its status fields', async () => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url: ' https://News.example/rss ', title: ' News ', region: '  ' } });
      expect(r.status).toBe(201);
      expect(r.headers.get('location')).toBe(`/api/feeds/${r.data.id}`);
      expect(r.data).toMatchObject({
        url: 'https://news.example/rss',
        title: 'News',
        region: null,
        enabled: true,
        error_count: 0,
        entry_count: 0,
        last_fetched_at: null,
      });
      expect(new Date(r.data.created_at).toISOString()).toBe(r.data.created_at);
    });

    it('takes an optional language tag (the stemmer for search), as the OpenAPI document says', async () => {
      const r = await call(api, 'POST', '/api/feeds', { json: { url: 'https://lang.example/rss', language: 'IT_it' } });
      expect(r.status, JSON.stringify(r.data)).toBe(201);
      expect(r.data.language).toBe('it-it');
      const bad = await call(api, 'POST', '/api/feeds', { json: { url: 'https://lang2.example/rss', language: 'italiano!' } });
      expect(bad.status).toBe(400);
      expect(bad.data.errors[0].parameter).toBe('language');
    });

    it.each([
      ['missing url', { title: 'x' }, 'url', /required/],
      ['url not a string', { url: 42 }, 'url', /string/],
      ['unknown field', { url: 'https://a.example/f', colour: 'red' }, 'colour', /unknown field/],
      ['ftp URL', { url: 'ftp://files.example/feed.xml' }, 'url', /only http and https.*ftp:/],
      ['javascript: URL', { url: 'javascript:alert(1)' }, 'url', /only http and https.*javascript:/],
      ['relative URL', { url: '/feed.xml' }, 'url', /not a valid absolute URL/],
      ['loopback address', { url: 'http://127.0.0.1:8080/feed' }, 'url', /address 127\.0\.0\.1 is loopback/],
      ['decimal loopback', { url: 'http://2130706433/feed' }, 'url', /127\.0\.0\.1 is loopback/],
      ['host resolving to a private address', { url: 'http://intranet.example/feed' }, 'url', /intranet\.example resolves to address 10\.1\.2\.3 is in a private network/],
      ['too long url', { url: `https://a.example/${'x'.repeat(2048)}` }, 'url', /at most 2048/],
      ['too long title', { url: 'https://a.example/f', title: 't'.repeat(301) }, 'title', /at most 300/],
      ['too long region', { url: 'https://a.example/f', region: 'r'.repeat(101) }, 'region', /at most 100/],
      ['array body', [1, 2], 'body', /JSON object/],
    ])('refuses %s with a 400 problem naming the parameter', async (_name, json, parameter, reason) => {
      const r = await call(api, 'POST', '/api/feeds', { json });
      expect(r.status).toBe(400);
      expect(r.contentType).toMatch(/^application\/problem\+json/);
      expect(r.data.errors?.[0]?.parameter).toBe(parameter);
      expect(r.data.detail).toMatch(reason);
      expect((await call(api, 'GET', '/api/feeds')).data.feeds).toEqual([]);
    });

    it('refuses a body that is not JSON', async () => {
      const r = await call(api, 'POST', '/api/feeds', { body: 'url=https://a.example/', type: 'application/x-www-form-urlencoded' });
      expect(r.status).toBe(400);
      const bad = await call(api, 'POST', '/api/feeds', { body: '{"url":', type: 'application/json' });
      expect(bad.status).toBe(400);
    });

    it('answers 409 with the existing feed id for a URL present already', async () => {
      const first = await addFeed({ url: 'https://a.example/feed', title: 'First' });
      // The same URL spelled differently normalises to the stored one.
      const r = await call(api, 'POST', '/api/feeds', { json: { url: 'HTTPS://A.EXAMPLE:443/feed', title: 'Second' } });
      expect(r.status).toBe(409);
      expect(r.data).toMatchObject({ status: 409, feed_id: first.id });
      const list = await call(api, 'GET', '/api/feeds');
      expect(list.data.feeds).toHaveLength(1);
      expect(list.data.feeds[0].title).toBe('First');
    });
  });

  describe('reads', () => {
    it('lists feeds with exactly the documented fields, ISO dates and entry counts', async () => {
      const a = await addFeed({ url: 'https://a.example/feed', title: 'A', region: 'Europe' });
      const b = await addFeed({ url: 'https://b.example/feed' });
      await addEntry(t, 'https://x.example/1', [a.id, b.id]);
      await addEntry(t, 'https://x.example/2', [a.id]);
      await t.db.query(
        `update feeds set last_fetched_at = '2024-05-01T10:00:00Z', last_status = 500, last_error = 'HTTP 500',
           last_error_kind = 'http', error_count = 2, poll_interval_s = 900, language = 'en', site_url = 'https://a.example/'
         where id = $1`,
        [a.id],
      );

      const r = await call(api, 'GET', '/api/feeds', { token: null });
      expect(r.status).toBe(200);
      expect(r.data.feeds).toHaveLength(2);
      const [fa, fb] = r.data.feeds;
      expect(Object.keys(fa).sort()).toEqual(
        [
          'id', 'url', 'title', 'site_url', 'region', 'language', 'enabled', 'disabled_reason', 'last_fetched_at',
          'last_status', 'last_error', 'last_error_kind', 'error_count', 'next_poll_at', 'poll_interval_s', 'entry_count', 'created_at', 'push',
        ].sort(),
      );
      expect(fa).toMatchObject({
        id: a.id,
        title: 'A',
        region: 'Europe',
        site_url: 'https://a.example/',
        language: 'en',
        last_fetched_at: '2024-05-01T10:00:00.000Z',
        last_status: 500,
        last_error: 'HTTP 500',
        last_error_kind: 'http',
        error_count: 2,
        poll_interval_s: 900,
        entry_count: 2,
      });
      expect(fb).toMatchObject({ id: b.id, entry_count: 1, title: null, last_fetched_at: null, push: { state: 'none', hub: null, expires_at: null } });
      expect(fb.next_poll_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      const one = await call(api, 'GET', `/api/feeds/${a.id}`, { token: null });
      expect(one.data).toEqual(fa);
    });

    it.each([['abc'], ['0'], ['-1'], ['1.5'], ['2147483648'], ['99999999999999999999']])('refuses feed id %s with 400 naming id', async (id) => {
      const r = await call(api, 'GET', `/api/feeds/${id}`);
      expect(r.status).toBe(400);
      expect(r.data.errors[0].parameter).toBe('id');
      const d = await call(api, 'DELETE', `/api/feeds/${id}`);
      expect(d.status).toBe(400);
    });

    it('answers 404 for an unknown feed', async () => {
      const r = await call(api, 'GET', '/api/feeds/2147483647');
      expect(r.status).toBe(404);
      expect(r.contentType).toMatch(/^application\/problem\+json/);
    });
  });

  describe('PATCH /api/feeds/:id', () => {
    it('changes title and region, and null clears them', async () => {
      const f = await addFeed({ url: 'https://a.example/feed', title: 'Old', region: 'Asia' });
      const r = await call(api, 'PATCH', `/api/feeds/${f.id}`, { json: { title: 'New', region: ' Europe ' } });
      expect(r.status).toBe(200);
      expect(r.data).toMatchObject({ id: f.id, title: 'New', region: 'Europe', entry_count: 0 });
      const cleared = await call(api, 'PATCH', `/api/feeds/${f.id}`, { json: { title: null, region: null } });
      expect(cleared.data).toMatchObject({ title: null, region: null });
      // Only the given fields change.
      await call(api, 'PATCH', `/api/feeds/${f.id}`, { json: { region: 'Africa' } });
      await call(api, 'PATCH', `/api/feeds/${f.id}`, { json: { title: 'T' } });
      expect((await call(api, 'GET', `/api/feeds/${f.id}`)).data).toMatchObject({ title: 'T', region: 'Africa' });
    });

    it('disables, and re-enabling clears the failure state', async () => {
      const f = await addFeed({ url: 'https://a.example/feed' });
      const off = await call(api, 'PATCH', `/api/feeds/${f.id}`, { json: { enabled: false } });
      expect(off.data.enabled).toBe(false);
      await t.db.query(
        `update feeds set disabled_reason = 'gone (HTTP 410)', error_count = 7, next_poll_at = now() + interval '30 days' where id = $1`,
        [f.id],
      );
      const on = await call(api, 'PATCH', `/api/feeds/${f.id}`, { json: { enabled: true } });
      expect(on.status).toBe(200);
      expect(on.data).toMatchObject({ enabled: true, disabled_reason: null, error_count: 0 });
      expect(new Date(on.data.next_poll_at).getTime()).toBeLessThan(Date.now() + 60_000);
    });

    it.each([
      ['an empty body', {}, 'body'],
      ['an unknown field', { colour: 'red' }, 'colour'],
      ['a non-boolean enabled', { enabled: 'yes' }, 'enabled'],
      ['a non-string title', { title: 5 }, 'title'],
    ])('refuses %s with 400', async (_name, json, parameter) => {
      const f = await addFeed({ url: 'https://a.example/feed', title: 'Keep' });
      const r = await call(api, 'PATCH', `/api/feeds/${f.id}`, { json });
      expect(r.status).toBe(400);
      expect(r.data.errors[0].parameter).toBe(parameter);
      expect((await call(api, 'GET', `/api/feeds/${f.id}`)).data.title).toBe('Keep');
    });

    it('answers 404 for an unknown feed', async () => {
      const r = await call(api, 'PATCH', '/api/feeds/123456', { json: { title: 'x' } });
      expect(r.status).toBe(404);
    });
  });

  describe('DELETE /api/feeds/:id', () => {
    it('removes the feed, its sources and the entries only it had; shared entries stay', async () => {
      const gone = await addFeed({ url: 'https://gone.example/feed' });
      const kept = await addFeed({ url: 'https://kept.example/feed' });
      const shared = await addEntry(t, 'https://x.example/shared', [gone.id, kept.id]);
      const only = await addEntry(t, 'https://x.example/only-gone', [gone.id]);
      const other = await addEntry(t, 'https://x.example/only-kept', [kept.id]);

      const r = await call(api, 'DELETE', `/api/feeds/${gone.id}`);
      expect(r.status).toBe(204);
      expect(r.data).toBe('');

      const entries = await t.db.query<{ id: number }>('select id from entries order by id');
      expect(entries.rows.map((e) => e.id)).toEqual([shared, other].sort((x, y) => x - y));
      expect(entries.rows.map((e) => e.id)).not.toContain(only);
      const sources = await t.db.query<{ feed_id: number }>('select distinct feed_id from entry_sources');
      expect(sources.rows.map((s) => s.feed_id)).toEqual([kept.id]);
      expect((await call(api, 'GET', `/api/feeds/${gone.id}`)).status).toBe(404);
      expect((await call(api, 'GET', `/api/feeds/${kept.id}`)).data.entry_count).toBe(2);

      expect((await call(api, 'DELETE', `/api/feeds/${gone.id}`)).status).toBe(404);
    });
  });

  describe('POST /api/feeds/:id/refresh', () => {
    it('polls the feed now and answers with the feed after the poll and the result', async () => {
      api.refreshCalls.length = 0;
      const f = await addFeed({ url: 'https://a.example/feed' });
      const r = await call(api, 'POST', `/api/feeds/${f.id}/refresh`);
      expect(r.status).toBe(200);
      expect(api.refreshCalls).toEqual([f.id]);
      expect(r.data.result).toEqual({ outcome: 'ok', inserted: 3 });
      expect(r.data.feed).toMatchObject({ id: f.id, last_status: 200, title: 'Polled title' });
      expect(r.data.feed.last_fetched_at).not.toBeNull();
    });

    it('answers 404 for an unknown feed without polling', async () => {
      api.refreshCalls.length = 0;
      const r = await call(api, 'POST', '/api/feeds/424242/refresh');
      expect(r.status).toBe(404);
      expect(api.refreshCalls).toEqual([]);
    });
  });

  describe('OPML', () => {
    const NESTED = `<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Exported elsewhere</title></head>
  <body>
    <outline text="Europe">
      <outline text="Italy">
        <outline type="rss" text="ANSA" xmlUrl="https://ansa.example/rss.xml"/>
        <outline type="rss" text="Tagged" xmlUrl="https://tagged.example/rss" category="/Mediterranean"/>
      </outline>
      <outline type="rss" text="EU" xmlUrl="https://eu.example/feed"/>
    </outline>
    <outline type="rss" text="Loose &amp; free" xmlUrl="https://loose.example/feed"/>
    <outline type="rss" text="Local" xmlUrl="http://127.0.0.1:9000/feed"/>
    <outline type="rss" text="Intranet" xmlUrl="http://intranet.example/feed"/>
    <outline type="rss" text="FTP" xmlUrl="ftp://files.example/feed"/>
    <outline type="rss" text="Existing" xmlUrl="https://existing.example/feed"/>
  </body>
</opml>`;

    it('imports nested outlines, counts existing feeds and explains rejected ones', async () => {
      await addFeed({ url: 'https://existing.example/feed', title: 'Mine' });
      const r = await call(api, 'POST', '/api/opml', { body: NESTED });
      expect(r.status, JSON.stringify(r.data)).toBe(200);
      expect(r.data.added).toBe(4);
      expect(r.data.existing).toBe(1);
      expect(r.data.rejected).toEqual([
        { url: 'http://127.0.0.1:9000/feed', reason: expect.stringMatching(/127\.0\.0\.1 is loopback/) },
        { url: 'http://intranet.example/feed', reason: expect.stringMatching(/private network/) },
        { url: 'ftp://files.example/feed', reason: expect.stringMatching(/only http and https/) },
      ]);
      const feeds = (await call(api, 'GET', '/api/feeds')).data.feeds as { url: string; title: string; region: string | null }[];
      expect(feeds.map((f) => [f.url, f.title, f.region]).sort()).toEqual(
        [
          ['https://ansa.example/rss.xml', 'ANSA', 'Italy'],
          ['https://eu.example/feed', 'EU', 'Europe'],
          ['https://existing.example/feed', 'Mine', null],
          ['https://loose.example/feed', 'Loose & free', null],
          ['https://tagged.example/rss', 'Tagged', 'Mediterranean'],
        ].sort(),
      );
      // Importing again adds nothing.
      const again = await call(api, 'POST', '/api/opml', { body: NESTED, type: 'application/xml; charset=utf-8' });
      expect(again.data).toMatchObject({ added: 0, existing: 5 });
    });

    it('exports OPML that imports into a fresh database as the same feeds', async () => {
      await addFeed({ url: 'https://a.example/feed', title: 'A & <A>', region: 'Europe' });
      await addFeed({ url: 'https://b.example/feed', region: 'Europe' });
      await addFeed({ url: 'https://c.example/feed', title: 'C' });
      await addFeed({ url: 'https://d.example/feed', title: 'D', region: 'Middle East/North Africa' });

      const exported = await call(api, 'GET', '/api/opml', { token: null });
      expect(exported.status).toBe(200);
      expect(exported.contentType).toBe('text/x-opml; charset=utf-8');
      expect(exported.headers.get('content-disposition')).toMatch(/^attachment; filename="[^"]+\.opml"$/);
      expect(exported.data).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<opml version="2\.0">/);
      expect(exported.data).toMatch(/<outline text="Europe"[^>]*>\s*<outline [^>]*category="\/Europe"/);
      expect(parseOpml(exported.data)).toHaveLength(4);

      const fresh = await createTestDb();
      const other = await start(fresh, { ADMIN_TOKEN: TOKEN });
      try {
        const imported = await call(other, 'POST', '/api/opml', { body: exported.data, type: 'text/xml' });
        expect(imported.data).toMatchObject({ added: 4, existing: 0, rejected: [], skipped: 0, complete: true });
        const shape = (feeds: { url: string; title: string | null; region: string | null }[]) =>
          feeds.map((f) => ({ url: f.url, title: f.title, region: f.region })).sort((x, y) => x.url.localeCompare(y.url));
        const before = (await call(api, 'GET', '/api/feeds')).data.feeds;
        const after = (await call(other, 'GET', '/api/feeds')).data.feeds;
        expect(shape(after)).toEqual(shape(before));
      } finally {
        await other.close();
        await fresh.drop();
      }
    });

    it('refuses malformed and non-OPML documents with 400', async () => {
      for (const body of ['<opml><body><outline text="x"></body>', '<rss version="2.0"><channel/></rss>', 'hello']) {
        const r = await call(api, 'POST', '/api/opml', { body });
        expect(r.status, body).toBe(400);
        expect(r.contentType).toMatch(/^application\/problem\+json/);
        expect(r.data.detail).toMatch(/not OPML/);
      }
    });

    it('refuses a billion-laughs document fast, without expanding it', async () => {
      const levels = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('\n');
      const bomb = `<?xml version="1.0"?>
<!DOCTYPE opml [
<!ENTITY lol0 "lol">
${levels}
]>
<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://a.example/feed"/></body></opml>`;
      const started = performance.now();
      const r = await call(api, 'POST', '/api/opml', { body: bomb });
      expect(r.status).toBe(400);
      expect(r.data.detail).toMatch(/entity declarations/);
      expect(performance.now() - started).toBeLessThan(2000);
      expect((await call(api, 'GET', '/api/feeds')).data.feeds).toEqual([]);
    });

    it('refuses other media types with 415 and bodies over 1 MB with 413', async () => {
      const wrongType = await call(api, 'POST', '/api/opml', { body: '{}', type: 'application/json' });
      expect(wrongType.status).toBe(415);
      const big = `<opml version="2.0"><body>${'<outline text="x"/>'.repeat(60_000)}</body></opml>`;
      expect(big.length).toBeGreaterThan(1024 * 1024);
      const tooBig = await call(api, 'POST', '/api/opml', { body: big });
      expect(tooBig.status).toBe(413);
    });
  });
});
