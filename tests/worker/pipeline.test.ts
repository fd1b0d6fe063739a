import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { serveStatic } from '../helpers/static-feeds.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { insertFeeds } from '../../src/store/feeds.ts';
import { pollOnce } from '../../src/worker/poll-once.ts';
import type { Runtime } from '../../src/runtime.ts';

const DEIR_EZZOR = 'Syria, new defeat for Isis in Deir Ezzor: the Abu Kamal crossing with Iraq reopens';
const DEIR_EZZOR_URL = 'https://levantnews.example/2017/11/syria-deir-ezzor-abu-kamal-crossing/';

const FEEDS = [
  { path: '/levant.xml', file: 'levant-wordpress.rss.xml', type: 'application/rss+xml; charset=utf-8', region: 'levant' },
  { path: '/medwire.atom', file: 'mediterranean-wire.atom.xml', type: 'application/atom+xml', region: 'mediterranean' },
  { path: '/maghreb.rdf', file: 'maghreb-digest.rdf', type: 'application/rdf+xml', region: 'maghreb' },
  { path: '/gulf.json', file: 'gulf-briefing.json', type: 'application/feed+json', region: 'gulf' },
  { path: '/sham.xml', file: 'sham-arabic.rss.xml', type: 'application/rss+xml', region: 'levant' },
  // No charset in the header: the XML prolog says windows-1252.
  { path: '/corriere.xml', file: 'corriere-mediterraneo-1252.rss.xml', type: 'application/rss+xml', region: 'mediterranean' },
];

const fixture = (file: string) => readFileSync(new URL(`feeds/${file}`, FIXTURES));

/** Everything a poll could change, as comparable JSON (the generated search column follows the rest). */
async function snapshot(rt: Runtime) {
  const entries = await rt.db.query(`select id, dedupe_key, url, title, author, summary, content_html, published_at,
      updated_at, first_seen_at, sort_at, categories, enclosures, language, content_hash, change_seq from entries order by id`);
  const sources = await rt.db.query(`select * from entry_sources order by feed_id, item_key`);
  return JSON.stringify({ entries: entries.rows, sources: sources.rows });
}

describe(`ingest pipeline: fetch → parse → dedupe → store (${backendName})`, () => {
  let t: TestDb;
  let rt: Runtime;
  let server: FaultServer;
  let levant: ReturnType<typeof serveStatic>;
  const feedIds = new Map<string, number>();

  beforeAll(async () => {
    t = await createTestDb();
    rt = await testRuntime(t.db);
    server = await startFaultServer({ defaultRoutes: false });
    for (const f of FEEDS) {
      const s = serveStatic(server, f.path, { body: fixture(f.file), contentType: f.type });
      if (f.path === '/levant.xml') levant = s;
    }
    const rows = await insertFeeds(t.db, FEEDS.map((f) => ({ url: server.url(f.path), region: f.region })));
    for (const r of rows) feedIds.set(new URL(r.url).pathname, r.id);
  });
  afterAll(async () => {
    await rt?.close();
    await server?.close();
    await t?.drop();
  });

  it('first poll stores every item once, the syndicated copy as a second source', async () => {
    const totals = await pollOnce(rt, { all: true });
    expect(totals).toMatchObject({ feeds: 6, ok: 6, failed: 0 });
    expect(totals.linked).toBeGreaterThanOrEqual(1);

    const deir = await rt.db.query<{ id: number; title: string; url: string; n: number }>(
      `select e.id, e.title, e.url, (select count(*)::int from entry_sources s where s.entry_id = e.id) as n
       from entries e where e.title = $1`,
      [DEIR_EZZOR],
    );
    expect(deir.rows).toHaveLength(1);
    expect(deir.rows[0]).toMatchObject({ url: DEIR_EZZOR_URL, n: 2 });

    const sources = await rt.db.query<{ feed_id: number; url: string; guid: string }>(
      `select feed_id, url, guid from entry_sources where entry_id = $1 order by feed_id`,
      [deir.rows[0]!.id],
    );
    expect(sources.rows.map((s) => s.feed_id).sort()).toEqual([feedIds.get('/levant.xml'), feedIds.get('/medwire.atom')].sort());
    const medwire = sources.rows.find((s) => s.feed_id === feedIds.get('/medwire.atom'))!;
    expect(medwire.url).toContain('utm_source=medwire');
    const levantSource = sources.rows.find((s) => s.feed_id === feedIds.get('/levant.xml'))!;
    expect(levantSource.guid).not.toEqual(medwire.guid);

    // No entry is stored twice: one row per distinct dedupe key, and one source per (feed, item).
    const dupes = await rt.db.query(`select dedupe_key from entries group by dedupe_key having count(*) > 1`);
    expect(dupes.rows).toEqual([]);
    const counts = await rt.db.query<{ entries: number; sources: number }>(
      `select (select count(*)::int from entries) as entries, (select count(*)::int from entry_sources) as sources`,
    );
    expect(counts.rows[0]!.sources).toBe(counts.rows[0]!.entries + totals.linked);
    expect(totals.inserted).toBe(counts.rows[0]!.entries);
  });

  it('decodes windows-1252 and keeps Arabic text intact', async () => {
    const it1252 = await rt.db.query<{ title: string }>(
      `select e.title from entries e join entry_sources s on s.entry_id = e.id where s.feed_id = $1`,
      [feedIds.get('/corriere.xml')],
    );
    const titles = it1252.rows.map((r) => r.title);
    expect(titles).toContain("Siria, nuova sconfitta per l'Isis a Deir Ezzor: riapre il valico di Abu Kamal con l'Iraq");
    expect(titles.join(' ')).not.toMatch(/\uFFFD|Ã/);
    const arabic = await rt.db.query<{ n: number }>(
      `select count(*)::int as n from entries where title like '%دير الزور%' or summary like '%دير الزور%'`,
    );
    expect(arabic.rows[0]!.n).toBeGreaterThanOrEqual(1);
  });

  it('second poll sends the validators, gets 304 and changes no row', async () => {
    const before = await snapshot(rt);
    server.resetRequests();
    const totals = await pollOnce(rt, { all: true });
    expect(totals).toMatchObject({ feeds: 6, ok: 0, notModified: 6, inserted: 0, linked: 0, updated: 0 });
    for (const f of FEEDS) {
      const req = server.lastRequest(f.path)!;
      expect(req.headers['if-none-match'], f.path).toMatch(/^"/);
      expect(req.headers['if-modified-since'], f.path).toBe('Mon, 20 Nov 2017 10:00:00 GMT');
    }
    expect(await snapshot(rt)).toEqual(before);
    const feeds = await rt.db.query<{ last_status: number }>(`select last_status from feeds`);
    expect(feeds.rows.every((f) => f.last_status === 304)).toBe(true);
  });

  it('an edited item updates its entry in place', async () => {
    const original = fixture('levant-wordpress.rss.xml').toString('utf8');
    const edited = original.replace(DEIR_EZZOR, `${DEIR_EZZOR} (updated)`);
    expect(edited).not.toEqual(original);
    const before = await rt.db.query<{ id: number; published_at: Date; n: number }>(
      `select id, published_at, (select count(*)::int from entries) as n from entries where title = $1`,
      [DEIR_EZZOR],
    );
    levant.set({ body: Buffer.from(edited), contentType: 'application/rss+xml; charset=utf-8', lastModified: 'Tue, 21 Nov 2017 10:00:00 GMT' });

    const totals = await pollOnce(rt, { all: true });
    expect(totals).toMatchObject({ ok: 1, notModified: 5, inserted: 0, updated: 1 });
    const after = await rt.db.query<{ id: number; title: string; published_at: Date; updated_at: Date | null; n: number }>(
      `select id, title, published_at, updated_at, (select count(*)::int from entries) as n from entries where id = $1`,
      [before.rows[0]!.id],
    );
    expect(after.rows[0]).toMatchObject({ title: `${DEIR_EZZOR} (updated)`, n: before.rows[0]!.n });
    expect(after.rows[0]!.published_at).toEqual(before.rows[0]!.published_at);
    expect(after.rows[0]!.updated_at).not.toBeNull();
  });
});
