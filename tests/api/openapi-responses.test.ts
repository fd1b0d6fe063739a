/**
 * Real responses of every route, validated against the OpenAPI document the app serves.
 *
 * Validator choice: @seriousme/openapi-schema-validator (maintained, supports OpenAPI 3.0, 3.1 and
 * 3.2) first checks the document itself against the official OpenAPI 3.1 schema; each response body
 * is then checked with Ajv's JSON Schema 2020-12 validator, which is the dialect OpenAPI 3.1 schema
 * objects are written in (Ajv is what that validator is built on). Rejected: express-openapi-validator
 * validates inside the app and only bodies sent with res.json (our problems and pages use res.send),
 * so it would not see what a client receives; openapi-response-validator knows OpenAPI 2 and 3.0 only
 * (no 3.1 `type: [..., 'null']`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { createApp } from '../../src/api/app.ts';
import type { ApiDeps } from '../../src/api/deps.ts';
import { openApiDocument } from '../../src/api/openapi.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createFetcher } from '../../src/fetch/fetcher.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createRuntime, fetchLimits, type Runtime } from '../../src/runtime.ts';
import type { Db } from '../../src/store/db.ts';
import { refreshFeed } from '../../src/worker/poll-once.ts';
import { markSubscribePending } from '../../src/store/websub.ts';
import { signBody } from '../../src/websub/signature.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const DOC_ID = 'https://tributary.invalid/openapi.json';
const TOKEN = 'contract-test-token';

// Recent dates: entries older than RETENTION_DAYS are not ingested.
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toUTCString();
const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Contract Wire</title><link>http://wire.test/</link><description>d</description>
<item><title>First story</title><link>http://wire.test/1</link><guid>w1</guid><pubDate>${hoursAgo(1)}</pubDate><description>&lt;p&gt;Body &lt;a href="/x"&gt;link&lt;/a&gt;&lt;/p&gt;</description><category>World</category><author>desk@wire.test (Desk)</author></item>
<item><title>Second story</title><link>http://wire.test/2</link><guid>w2</guid><pubDate>${hoursAgo(2)}</pubDate><enclosure url="http://wire.test/a.mp3" type="audio/mpeg" length="1234"/></item>
</channel></rss>`;

/** Checks each real response against the operation and status the document gives for it. */
class Contract {
  readonly covered = new Set<string>();
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  private readonly templates: { template: string; pattern: RegExp }[];

  constructor(private readonly doc: Json) {
    this.ajv.addSchema(doc, DOC_ID);
    this.templates = Object.keys(doc.paths)
      // Literal paths before templated ones, so /api/feeds never matches /api/{x}.
      .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))
      .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  }

  /** The Item schema's validator (the data of a stream's `item` event). */
  itemValidator() {
    return this.ajv.getSchema(`${DOC_ID}#/components/schemas/Item`)!;
  }

  /** Sends the request, checks the answer against the document, and returns it. */
  async call(base: string, method: string, path: string, expected: number, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
    const res = await fetch(`${base}${path}`, { ...init, method });
    const text = await res.text();
    const label = `${method} ${path} → ${res.status}`;
    expect(res.status, `${label}: ${text.slice(0, 300)}`).toBe(expected);

    const pathname = new URL(`${base}${path}`).pathname;
    const template = this.templates.find((t) => t.pattern.test(pathname))?.template;
    expect(template, `${label}: no documented path`).toBeDefined();
    const op = this.doc.paths[template!][method.toLowerCase()];
    expect(op, `${label}: method not documented`).toBeDefined();
    const response = op.responses[String(res.status)] ?? op.responses.default;
    expect(response, `${label}: status not documented for ${method} ${template}`).toBeDefined();
    this.covered.add(`${method.toLowerCase()} ${template}`);

    if (!response.content) {
      expect(text, `${label}: documented without a body`).toBe('');
      return { status: res.status, headers: res.headers, body: null };
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    expect(Object.keys(response.content), `${label}: content type`).toContain(type);
    const body = /[/+]json$/.test(type) ? JSON.parse(text) : text;
    const pointer = ['paths', template!, method.toLowerCase(), 'responses', String(res.status in op.responses ? res.status : 'default'), 'content', type, 'schema']
      .map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1')))
      .join('/');
    const validate = this.ajv.getSchema(`${DOC_ID}#/${pointer}`);
    expect(validate, `${label}: schema ${pointer}`).toBeDefined();
    const ok = validate!(body);
    expect(ok ? [] : validate!.errors, `${label}: body does not match the schema`).toEqual([]);
    return { status: res.status, headers: res.headers, body };
  }
}

/**
 * A Server-Sent Events answer never ends by itself: read it up to its first `item` event, check
 * the status and media type against the document, and the event's data against the Item schema
 * the document names for it.
 */
async function streamCall(c: Contract, doc: Json, base: string, path: string, headers: Record<string, string>): Promise<Json> {
  const ac = new AbortController();
  const res = await fetch(`${base}${path}`, { headers, signal: ac.signal });
  try {
    expect(res.status).toBe(200);
    const op = doc.paths['/api/stream'].get;
    expect(Object.keys(op.responses['200'].content)).toContain((res.headers.get('content-type') ?? '').split(';')[0]);
    c.covered.add('get /api/stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before an item event: ${text}`);
      text += value;
      const event = text.split('\n\n').find((block) => /^event: item$/m.test(block));
      if (event) return JSON.parse(/^data: (.*)$/m.exec(event)![1]!) as Json;
    }
  } finally {
    ac.abort();
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe(`OpenAPI document against real responses of every route (${backendName})`, () => {
  let t: TestDb;
  let rt: Runtime;
  const servers: Server[] = [];
  let feedServer: string;
  let doc: Json;
  let contract: Contract;

  /** The app as `serve` builds it, with a real poller for /refresh; `db` may be a broken one. */
  async function app(env: Record<string, string>, db: Db = t.db): Promise<string> {
    const config = loadConfig({ RATE_LIMIT_PER_MINUTE: '0', ALLOW_PRIVATE_NETWORKS: 'true', ...env });
    const deps: ApiDeps = {
      db,
      config,
      logger: silentLogger,
      metrics: createMetrics(),
      refreshFeed: (id) => refreshFeed(rt, id),
      subscribe: { db, fetcher: createFetcher(fetchLimits(config)), allow: config.ALLOW_PRIVATE_NETWORKS },
    };
    const server = createServer(createApp(deps));
    servers.push(server);
    return listen(server);
  }

  beforeAll(async () => {
    t = await createTestDb();
    rt = await createRuntime(loadConfig({ ALLOW_PRIVATE_NETWORKS: 'true', PARSE_THREADS: '0', LOG_LEVEL: 'silent', FETCH_HOST_SPACING_MS: '0' }), { db: t.db, migrate: false, logger: silentLogger });
    const feeds = createServer((req, res) => {
      if (req.url === '/feed.xml') res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(RSS);
      else res.writeHead(404).end();
    });
    servers.push(feeds);
    feedServer = await listen(feeds);
    doc = openApiDocument();
    contract = new Contract(doc);
  });
  afterAll(async () => {
    for (const s of servers) s.closeAllConnections?.();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await rt?.close();
    await t?.drop();
  });

  it('is a valid OpenAPI 3.1 document by the official schema', async () => {
    const served = (await (await fetch(`${await app({})}/api/openapi.json`)).json()) as Json;
    const result = await new Validator().validate(served);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('every operation answers as documented, success and refusals alike', async () => {
    const base = await app({ ADMIN_TOKEN: TOKEN });
    const c = contract;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const jsonHeaders = { ...auth, 'content-type': 'application/json' };

    // Feed admin: subscribe, refuse, poll for real, change, list.
    const created = await c.call(base, 'POST', '/api/feeds', 201, { headers: jsonHeaders, body: JSON.stringify({ url: `${feedServer}/feed.xml`, region: 'europe', language: 'en' }) });
    const feedId = created.body.id as number;
    expect(created.headers.get('location')).toBe(`/api/feeds/${feedId}`);
    await c.call(base, 'POST', '/api/feeds', 409, { headers: jsonHeaders, body: JSON.stringify({ url: `${feedServer}/feed.xml` }) });
    await c.call(base, 'POST', '/api/feeds', 400, { headers: jsonHeaders, body: JSON.stringify({ url: 'ftp://x.test/feed' }) });
    await c.call(base, 'POST', '/api/feeds', 400, { headers: jsonHeaders, body: '{"url": ' });
    await c.call(base, 'POST', '/api/feeds', 401, { headers: { 'content-type': 'application/json' }, body: '{}' });
    await c.call(base, 'POST', '/api/feeds', 403, { headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body: '{}' });
    await c.call(base, 'POST', '/api/feeds', 413, { headers: jsonHeaders, body: JSON.stringify({ url: 'x'.repeat(200_000) }) });
    const refreshed = await c.call(base, 'POST', `/api/feeds/${feedId}/refresh`, 200, { headers: auth });
    expect(refreshed.body.feed).toMatchObject({ id: feedId, entry_count: 2, last_status: 200 });
    expect(refreshed.body.result).toMatchObject({ feedId, status: 200 });
    await c.call(base, 'POST', '/api/feeds/999999/refresh', 404, { headers: auth });
    await c.call(base, 'POST', `/api/feeds/${feedId}/refresh`, 401);
    await c.call(base, 'PATCH', `/api/feeds/${feedId}`, 200, { headers: jsonHeaders, body: JSON.stringify({ title: 'Renamed Wire' }) });
    await c.call(base, 'PATCH', `/api/feeds/${feedId}`, 400, { headers: jsonHeaders, body: '{}' });
    await c.call(base, 'PATCH', '/api/feeds/999999', 404, { headers: jsonHeaders, body: JSON.stringify({ enabled: false }) });
    await c.call(base, 'PATCH', `/api/feeds/${feedId}`, 401, { headers: { 'content-type': 'application/json' }, body: '{}' });
    await c.call(base, 'PATCH', `/api/feeds/${feedId}`, 413, { headers: jsonHeaders, body: JSON.stringify({ title: 'x'.repeat(200_000) }) });
    const list = await c.call(base, 'GET', '/api/feeds', 200);
    expect(list.body.feeds[0]).toMatchObject({ id: feedId, title: 'Renamed Wire', entry_count: 2, last_status: 200 });
    await c.call(base, 'GET', `/api/feeds/${feedId}`, 200);
    await c.call(base, 'GET', '/api/feeds/999999', 404);
    await c.call(base, 'GET', '/api/feeds/abc', 400);

    // OPML: export, import (one new, one existing, one refused), refusals.
    await c.call(base, 'GET', '/api/opml', 200);
    const opml = `<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
<outline type="rss" text="Other" xmlUrl="http://other.test/feed.xml"/>
<outline type="rss" text="Same" xmlUrl="${feedServer}/feed.xml"/>
<outline type="rss" text="Bad" xmlUrl="javascript:alert(1)"/></body></opml>`;
    const imported = await c.call(base, 'POST', '/api/opml', 200, { headers: { ...auth, 'content-type': 'text/x-opml' }, body: opml });
    expect(imported.body).toMatchObject({ added: 1, existing: 1 });
    await c.call(base, 'POST', '/api/opml', 400, { headers: { ...auth, 'content-type': 'text/x-opml' }, body: '<opml><body><outline' });
    await c.call(base, 'POST', '/api/opml', 415, { headers: jsonHeaders, body: '{}' });
    await c.call(base, 'POST', '/api/opml', 413, { headers: { ...auth, 'content-type': 'text/x-opml' }, body: `<opml>${' '.repeat(1_100_000)}</opml>` });
    await c.call(base, 'POST', '/api/opml', 401, { headers: { 'content-type': 'text/x-opml' }, body: opml });

    // Items, as JSON and as pages.
    const items = await c.call(base, 'GET', '/api/items?limit=1', 200);
    expect(items.body.next_cursor).toEqual(expect.any(String));
    const itemId = items.body.items[0].id as number;
    await c.call(base, 'GET', `/api/items?limit=1&cursor=${items.body.next_cursor}`, 200);
    await c.call(base, 'GET', '/api/items?limit=0', 400);
    const one = await c.call(base, 'GET', `/api/items/${itemId}`, 200);
    await c.call(base, 'GET', `/api/items/${itemId}`, 304, { headers: { 'if-none-match': one.headers.get('etag')! } });
    await c.call(base, 'GET', '/api/items/abc', 400);
    await c.call(base, 'GET', '/api/items/999999', 404);
    const storyId = items.body.items[0].story_id as number;
    expect(storyId).toEqual(expect.any(Number));
    await c.call(base, 'GET', `/api/items?story=${storyId}`, 200);
    const stories = await c.call(base, 'GET', '/api/stories?limit=1', 200);
    expect(stories.body.stories.length).toBe(1);
    await c.call(base, 'GET', '/api/stories?limit=500', 400);
    await c.call(base, 'GET', `/api/stories/${storyId}`, 200);
    await c.call(base, 'GET', '/api/stories/abc', 400);
    await c.call(base, 'GET', '/api/stories/999999', 404);
    const collapsed = await c.call(base, 'GET', '/api/items?collapse=story', 200);
    expect(collapsed.body.items[0].story).toEqual({ id: collapsed.body.items[0].story_id, sources: expect.any(Array) });
    await c.call(base, 'GET', '/api/items?collapse=feed', 400);
    await c.call(base, 'GET', `/stories/${storyId}`, 200);
    await c.call(base, 'GET', '/stories/999999', 404);
    await c.call(base, 'GET', '/?collapse=story', 200);
    await c.call(base, 'GET', '/', 200);
    await c.call(base, 'GET', '/?cursor=abc', 400);
    await c.call(base, 'GET', `/items/${itemId}`, 200);
    await c.call(base, 'GET', '/items/999999', 404);
    await c.call(base, 'GET', '/assets/reader.css', 200);
    await c.call(base, 'GET', '/assets/live.js', 200);

    // The live stream: resumed from the start, it first sends the entries stored so far.
    const streamed = await streamCall(c, doc, base, `/api/stream?feed=${feedId}`, { 'last-event-id': '0' });
    const validItem = contract.itemValidator();
    expect(validItem(streamed) ? [] : validItem.errors, 'stream item matches the Item schema').toEqual([]);
    await c.call(base, 'GET', '/api/stream?limit=1', 400);
    await c.call(base, 'GET', '/favicon.ico', 204);

    // Merged feeds: 200, 304 on a repeat, 400 on a bad parameter.
    for (const path of ['/feed.xml', '/feed.atom', '/feed.json', '/regions/europe/feed.xml', '/regions/europe/feed.atom', '/regions/europe/feed.json']) {
      const first = await c.call(base, 'GET', path, 200);
      await c.call(base, 'GET', path, 304, { headers: { 'if-none-match': first.headers.get('etag')! } });
      await c.call(base, 'GET', `${path}?limit=0`, 400);
      await c.call(base, 'GET', `${path}?collapse=story`, 200);
      await c.call(base, 'GET', `${path}?collapse=other`, 400);
    }

    // Meta.
    await c.call(base, 'GET', '/api/openapi.json', 200);
    await c.call(base, 'GET', '/healthz', 200);
    await c.call(base, 'GET', '/readyz', 200);
    await c.call(base, 'GET', '/metrics', 200);

    // WebSub callback: intent verification and content distribution (a pending subscription made here).
    const topic = 'http://wire.test/topic';
    await markSubscribePending(t.db, { feedId, hub: 'http://hub.test/', topic, token: 'contract-token', secret: 'contract-secret', leaseSeconds: 600, now: new Date(), verifyBy: new Date(Date.now() + 600_000) });
    const verify = (mode: string, challenge = 'ch') => `/websub/${feedId}/contract-token?hub.mode=${mode}&hub.topic=${encodeURIComponent(topic)}&hub.challenge=${challenge}&hub.lease_seconds=600`;
    await c.call(base, 'GET', `/websub/${feedId}/wrong-token?hub.mode=subscribe&hub.topic=${encodeURIComponent(topic)}&hub.challenge=x`, 404);
    await c.call(base, 'GET', `/websub/${feedId}/contract-token?hub.topic=x`, 400);
    await c.call(base, 'POST', `/websub/${feedId}/contract-token`, 410, { headers: { 'content-type': 'application/rss+xml' }, body: RSS });
    const verified = await c.call(base, 'GET', verify('subscribe', 'echo-me'), 200);
    expect(verified.body).toBe('echo-me');
    await c.call(base, 'POST', `/websub/${feedId}/contract-token`, 403, { headers: { 'content-type': 'application/rss+xml' }, body: RSS });
    await c.call(base, 'POST', `/websub/${feedId}/contract-token`, 200, { headers: { 'content-type': 'application/rss+xml', 'x-hub-signature-256': signBody(RSS, 'contract-secret') }, body: RSS });
    await c.call(base, 'POST', `/websub/${feedId}/contract-token`, 400, { headers: { 'x-hub-signature-256': signBody('not a feed', 'contract-secret') }, body: 'not a feed' });
    await c.call(base, 'POST', `/websub/${feedId}/other-token`, 404, { body: RSS });
    await c.call(base, 'GET', `/websub/${feedId}/contract-token?hub.mode=denied&hub.topic=${encodeURIComponent(topic)}&hub.reason=test`, 204);
    const withPush = await c.call(base, 'GET', `/api/feeds/${feedId}`, 200);
    expect(withPush.body.push).toMatchObject({ state: 'failed', hub: 'http://hub.test/' });

    // Unsubscribe last.
    await c.call(base, 'DELETE', `/api/feeds/${feedId}`, 401);
    await c.call(base, 'DELETE', `/api/feeds/${feedId}`, 204, { headers: auth });
    await c.call(base, 'DELETE', `/api/feeds/${feedId}`, 404, { headers: auth });

    // Every operation of the document was exercised.
    const operations = Object.entries(doc.paths as Json).flatMap(([path, ops]) => Object.keys(ops as Json).map((m) => `${m} ${path}`));
    expect(operations.filter((op) => !c.covered.has(op))).toEqual([]);
  });

  it('read-only deployments, rate limits and a database that is gone answer as documented', async () => {
    const c = contract;
    const readOnly = await app({});
    await c.call(readOnly, 'POST', '/api/feeds', 403, { headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: '{}' });
    await c.call(readOnly, 'POST', '/api/opml', 403, { headers: { authorization: 'Bearer x', 'content-type': 'text/x-opml' }, body: '<opml/>' });

    const limited = await app({ RATE_LIMIT_PER_MINUTE: '2' });
    await c.call(limited, 'GET', '/api/items', 200);
    await c.call(limited, 'GET', '/api/items', 200);
    const refused = await c.call(limited, 'GET', '/api/items', 429);
    expect(refused.headers.get('ratelimit-policy')).toBeTruthy();
    await c.call(limited, 'GET', '/feed.xml', 429);

    // A database that refuses connections: readiness 503, the rest a documented problem.
    const gone = Object.assign(Object.create(t.db) as Db, {
      query: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })),
    });
    const down = await app({}, gone);
    await c.call(down, 'GET', '/readyz', 503);
    for (const path of ['/api/items', '/api/feeds', '/']) {
      const res = await fetch(`${down}${path}`);
      await res.body?.cancel();
      await c.call(down, 'GET', path, res.status);
    }
  });
});
