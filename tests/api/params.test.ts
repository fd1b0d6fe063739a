import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, series, startApp, type RunningApp } from './helpers.ts';
import { encodeCursor } from '../../src/api/cursor.ts';

/** [query string, parameter the problem must name] */
const HOSTILE: Array<[string, string]> = [
  ['limit=0', 'limit'],
  ['limit=-1', 'limit'],
  ['limit=201', 'limit'],
  ['limit=1e3', 'limit'],
  ['limit=1.5', 'limit'],
  ['limit=99999999999999999999999999', 'limit'],
  ['limit=0x10', 'limit'],
  ['limit=%20', 'limit'],
  ['limit=ten', 'limit'],
  ['limit=%EF%BC%91', 'limit'], // fullwidth digit one
  ['limit=1&limit=2', 'limit'],
  ['limit[]=1', 'limit[]'],
  ['q[]=x', 'q[]'],
  ['q[a]=x', 'q[a]'],
  ['a[b]=1', 'a[b]'],
  ['q=a&q=b', 'q'],
  [`q=${'x'.repeat(501)}`, 'q'],
  ['q=%00', 'q'],
  ['q=abc%00def', 'q'],
  ['region=%00', 'region'],
  ['region=a&region=b', 'region'],
  [`region=${'r'.repeat(101)}`, 'region'],
  ['feed=abc', 'feed'],
  ['feed=-3', 'feed'],
  ['feed=0', 'feed'],
  ['feed=1.0', 'feed'],
  ['feed=2147483648', 'feed'],
  ['feed=99999999999999999999', 'feed'],
  ["feed=1'%20or%201=1--", 'feed'],
  ['feed=1;drop%20table%20entries', 'feed'],
  ['lang=english%20please', 'lang'],
  ["lang='%20or%201=1--", 'lang'],
  ['lang=en&lang=it', 'lang'],
  ['since=yesterday', 'since'],
  ['since=2024-13-45', 'since'],
  ['since=2024-05-01T25:00:00Z', 'since'],
  ['since=99999-01-01', 'since'],
  ['since=1714557600', 'since'],
  ["until=2024-01-01'%20or%201=1--", 'until'],
  ['until=2024-01-01&until=2024-02-01', 'until'],
  ['cursor=abc', 'cursor'],
  ['cursor=%F0%9F%92%A9', 'cursor'],
  ['cursor=' + Buffer.from('["2024-01-01T00:00:00.000000Z",-1]').toString('base64url'), 'cursor'],
  ['cursor=' + Buffer.from('["not a date",1]').toString('base64url'), 'cursor'],
  ['cursor=' + Buffer.from('{"a":1}').toString('base64url'), 'cursor'],
  ['cursor=' + Buffer.from("[\"2024-01-01T00:00:00.000000Z' or 1=1--\",1]").toString('base64url'), 'cursor'],
  ['cursor=' + 'A'.repeat(5000), 'cursor'],
  ['cursor=a&cursor=b', 'cursor'],
  ['unknown=1', 'unknown'],
  ['offset=10', 'offset'],
];

describe(`hostile and malformed parameters (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
    const feed = await addFeed(t.db, { url: 'https://p.example/feed', title: 'P', region: 'europe', language: 'en' });
    await ingest(t.db, feed, series('p', 5, new Date('2024-05-01T00:00:00Z')), new Date('2024-05-02T00:00:00Z'));
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it.each(HOSTILE)('/api/items?%s → 400 problem naming the parameter', async (qs, parameter) => {
    const res = await fetch(`${app.base}/api/items?${qs}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { status: number; title: string; errors: { parameter: string; reason: string }[] };
    expect(body.status).toBe(400);
    expect(body.errors.map((e) => e.parameter)).toContain(parameter);
    for (const e of body.errors) expect(e.reason.length).toBeGreaterThan(5);
  });

  const feedRelevant = HOSTILE.filter(([qs]) => /^(limit|q|region|feed|lang)\b|\[/.test(qs));
  it.each(feedRelevant)('/feed.xml, /feed.json and / refuse ?%s with 400, never 500', async (qs) => {
    // On a region path the path names the region; a region in the query is overridden.
    const regionPath = qs.startsWith('region') ? [] : ['/regions/europe/feed.atom'];
    for (const path of ['/feed.xml', '/feed.json', ...regionPath, ...(qs.startsWith('limit') ? [] : ['/'])]) {
      const res = await fetch(`${app.base}${path}?${qs}`);
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      await res.body?.cancel();
    }
  });

  it('validates the region in a region path', async () => {
    for (const region of ['%00', 'r'.repeat(101), '%0Aevil']) {
      const res = await fetch(`${app.base}/regions/${region}/feed.json`);
      expect(res.status, region).toBe(400);
      expect(((await res.json()) as { errors: { parameter: string }[] }).errors[0]!.parameter).toBe('region');
    }
    const ok = await fetch(`${app.base}/regions/${encodeURIComponent('Middle East')}/feed.json`);
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it('accepts unusual but valid input: unicode, SQL-looking search text, empty values, boundaries', async () => {
    const ok = [
      `q=${encodeURIComponent("' or 1=1--")}`,
      `q=${encodeURIComponent('"; drop table entries; --')}`,
      `q=${encodeURIComponent('دير الزور 🙂 ⁦x⁩ \u202e')}`,
      `q=${'x'.repeat(500)}`,
      `region=${encodeURIComponent("europe' or '1'='1")}`,
      'limit=200',
      'limit=1',
      'q=&region=&feed=&lang=',
      'since=2024-05-01&until=2024-05-01T10:00:00%2B02:00',
      `cursor=${encodeCursor({ sortAt: '2999-01-01T00:00:00.000000Z', id: 9007199254740991 })}`,
      'feed=2147483647',
    ];
    for (const qs of ok) {
      const res = await fetch(`${app.base}/api/items?${qs}`);
      expect(res.status, qs).toBe(200);
      await res.json();
    }
    const injected = (await (await fetch(`${app.base}/api/items?region=${encodeURIComponent("europe' or '1'='1")}`)).json()) as { items: unknown[] };
    expect(injected.items).toEqual([]);
    const all = (await (await fetch(`${app.base}/api/items?limit=200`)).json()) as { items: unknown[] };
    expect(all.items).toHaveLength(5);
    // Feed readers add cache busters: unknown plain keys are ignored on the feeds.
    expect((await fetch(`${app.base}/feed.xml?_=12345`)).status).toBe(200);
  });

  it('answers malformed JSON bodies and unknown routes with problems', async () => {
    const body = await fetch(`${app.base}/api/feeds`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: '{"url": ' });
    expect([400, 401, 403]).toContain(body.status);
    expect(body.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const unknown = await fetch(`${app.base}/no/such/route`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { status: number }).status).toBe(404);
    const big = await fetch(`${app.base}/api/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(200_000) }) });
    expect(big.status).toBe(413);
    expect(big.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
