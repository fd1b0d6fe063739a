import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { insertFeeds } from '../../src/store/feeds.ts';
import { refreshFeed } from '../../src/worker/poll-once.ts';
import { deleteExpiredEntries } from '../../src/store/retention.ts';
import type { Runtime } from '../../src/runtime.ts';
import type { ParsedFeed } from '../../src/parse/types.ts';

/**
 * Issue 10: a changed document is mostly the items the feed already had. Those whose raw form is
 * the same as in the last stored document are not normalised (sanitised) again, and cost no
 * statement; the stored result is the same as normalising everything.
 */
describe(`unchanged items of a changed document (${backendName})`, () => {
  let t: TestDb;
  let rt: Runtime;
  let server: FaultServer;
  let doc = '';
  const parsed: ParsedFeed[] = [];

  interface Item { guid: string; title: string; body: string; date?: string }
  const rss = (build: string, items: Item[]) =>
    `<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title><link>https://desk.example/</link>` +
    `<lastBuildDate>${build}</lastBuildDate>` +
    items
      .map((i) =>
        `<item><title>${i.title}</title><link>https://desk.example/${i.guid}</link><guid>${i.guid}</guid>` +
        (i.date ? `<pubDate>${i.date}</pubDate>` : '') +
        `<description><![CDATA[<p>${i.body} <a href="/more/${i.guid}">more</a><script>x()</script></p>]]></description></item>`,
      )
      .join('') +
    `</channel></rss>`;
  const base: Item[] = Array.from({ length: 5 }, (_, i) => ({ guid: `g${i}`, title: `Report ${i}`, body: `Body of report ${i}` }));

  let feedId = 0;
  const poll = async () => {
    const spy = { ...rt, pollDeps: { ...rt.pollDeps, parse: async (...a: Parameters<Runtime['pollDeps']['parse']>) => {
      const p = await rt.pollDeps.parse(...a);
      parsed.push(p);
      return p;
    } } };
    parsed.length = 0;
    return (await refreshFeed(spy, feedId))!;
  };
  const entries = async () =>
    (await t.db.query<{ title: string; summary: string; content_html: string }>(`select title, summary, content_html from entries order by id`)).rows;

  beforeAll(async () => {
    t = await createTestDb();
    rt = await testRuntime(t.db);
    server = await startFaultServer({ defaultRoutes: false });
    server.route('/desk.xml', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(doc);
    });
    feedId = (await insertFeeds(t.db, [{ url: server.url('/desk.xml') }]))[0]!.id;
  });
  afterAll(async () => {
    await rt?.close();
    await server?.close();
    await t?.drop();
  });

  it('normalises only new and edited items; the others are counted unchanged and stored as they were', async () => {
    doc = rss('Mon, 01 Dec 2026 10:00:00 GMT', base);
    const first = await poll();
    expect(first).toMatchObject({ outcome: 'ok', inserted: 5 });
    // A feed's first document has no record: every item is normalised.
    expect(parsed[0]!.items).toHaveLength(5);
    expect(parsed[0]!.digests!.unchanged).toHaveLength(0);
    const stored = await entries();

    // A new item on top and a new build date: the body changed, four of five items did not.
    doc = rss('Mon, 01 Dec 2026 11:00:00 GMT', [{ guid: 'g5', title: 'Report 5', body: 'Body of report 5' }, ...base]);
    const second = await poll();
    expect(second).toMatchObject({ outcome: 'ok', inserted: 1, updated: 0, unchanged: 5 });
    expect(parsed[0]!.items.map((i) => i.guid)).toEqual(['g5']);
    expect(parsed[0]!.digests!.unchanged).toHaveLength(5);
    const after = await entries();
    expect(after.slice(0, 5)).toEqual(stored);
    expect(after[5]).toMatchObject({ title: 'Report 5' });
    // The new item was sanitised and resolved like any other.
    expect(after[5]!.content_html).toContain(`href="${server.url('/more/g5')}"`);
    expect(after[5]!.content_html).not.toContain('script');

    // One item edited: normalised again and its entry updated; the rest still skipped.
    const edited = base.map((i) => (i.guid === 'g2' ? { ...i, body: 'Corrected body of report 2' } : i));
    doc = rss('Mon, 01 Dec 2026 12:00:00 GMT', [{ guid: 'g5', title: 'Report 5', body: 'Body of report 5' }, ...edited]);
    const third = await poll();
    expect(third).toMatchObject({ outcome: 'ok', inserted: 0, updated: 1, unchanged: 5 });
    expect(parsed[0]!.items.map((i) => i.guid)).toEqual(['g2']);
    expect((await entries())[2]!.summary).toContain('Corrected body of report 2');
  });

  it('items that left the document and come back are normalised again', async () => {
    doc = rss('Mon, 01 Dec 2026 13:00:00 GMT', base.slice(0, 2));
    expect(await poll()).toMatchObject({ outcome: 'ok', unchanged: 2 });
    doc = rss('Mon, 01 Dec 2026 14:00:00 GMT', base);
    const back = await poll();
    // g2 comes back as first published, so it is no longer "the corrected" one: an edit.
    expect(back).toMatchObject({ outcome: 'ok', inserted: 0, updated: 1, unchanged: 4 });
    expect(parsed[0]!.items.map((i) => i.guid)).toEqual(['g2', 'g3', 'g4']);
  });

  it('an item deleted by retention stays deleted while its feed lists it, unchanged or edited', async () => {
    // Published two days ago: retention with a one-day cut-off deletes them, and their tombstones
    // (listed now) are kept.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toUTCString();
    const dated: Item[] = base.map((i) => ({ ...i, guid: `r${i.guid}`, date: twoDaysAgo }));
    doc = rss('Tue, 02 Dec 2026 10:00:00 GMT', dated);
    await poll();
    // Each gets a tombstone, and the feed's record of stored items is dropped with their sources.
    await deleteExpiredEntries(t.db, { olderThan: new Date(Date.now() - 86_400_000), batchSize: 100 });
    expect((await t.db.query(`select 1 from entries where url like '%/rg%'`)).rowCount).toBe(0);
    expect((await t.db.query(`select 1 from feed_item_digests`)).rowCount).toBe(0);
    expect((await t.db.query(`select 1 from tombstones`)).rowCount).toBe(5);

    for (let round = 0; round < 3; round++) {
      // A new item each round, and in the last round an edit of a deleted one.
      const news = { guid: `n${round}`, title: `News ${round}`, body: `News body ${round}` };
      const items = round === 2 ? dated.map((i) => (i.guid === 'rg0' ? { ...i, body: 'Edited after deletion' } : i)) : dated;
      doc = rss(`Tue, 02 Dec 2026 1${round + 1}:00:00 GMT`, [news, ...items]);
      const r = await poll();
      expect(r).toMatchObject({ outcome: 'ok', inserted: 1 });
      // Deleted items are looked up every time (not recorded as stored), so their tombstones hold.
      expect(parsed[0]!.items.map((i) => i.guid).filter((g) => g?.startsWith('r'))).toEqual(['rg0', 'rg1', 'rg2', 'rg3', 'rg4']);
      const urls = await t.db.query(`select 1 from entries where url like '%/rg%'`);
      expect(urls.rowCount).toBe(0);
      const live = await t.db.query(`select count(*)::int as n from tombstones where unlisted_since is null`);
      expect(live.rows[0]).toEqual({ n: 5 });
    }
  });
});
