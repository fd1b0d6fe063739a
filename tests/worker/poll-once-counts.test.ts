import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { SAMPLE_RSS, startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { insertFeeds } from '../../src/store/feeds.ts';
import { pollOnce, refreshFeed } from '../../src/worker/poll-once.ts';
import { runPolls } from '../../src/worker/poll-run.ts';
import type { Runtime } from '../../src/runtime.ts';
import type { Db } from '../../src/store/db.ts';

/** One run polls each feed once, and its totals count each feed once (issue 10 bug). */
describe(`one poll per feed per run (${backendName})`, () => {
  let t: TestDb;
  let rt: Runtime;
  let server: FaultServer;
  let version = 0;
  const rss = (name: string, n: number) =>
    `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title><link>https://${name}.example/</link>` +
    `<item><title>Story ${n} of ${name}</title><link>https://${name}.example/story/${n}</link><guid>${name}-${n}</guid>` +
    `<description>Story number ${n}</description></item></channel></rss>`;

  beforeAll(async () => {
    t = await createTestDb();
    rt = await testRuntime(t.db);
    server = await startFaultServer({ defaultRoutes: false });
    // Each refresh round publishes one new item, so a first poll stores it and a second finds nothing new.
    server.route('/refresh.xml', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(rss('refresh', version));
    });
    for (const path of ['/a.xml', '/b.xml', '/c.xml', ...Array.from({ length: 12 }, (_, i) => `/many/${i}.xml`)]) {
      server.route(path, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        res.end(SAMPLE_RSS);
      });
    }
  });

  afterAll(async () => {
    await rt?.close();
    await server?.close();
    await t?.drop();
  });

  it('refresh polls the feed once and reports that poll, not a second "unchanged" one', async () => {
    const [feed] = await insertFeeds(t.db, [{ url: server.url('/refresh.xml') }]);
    // The second poll came only when the first ended before the dispatcher's next look for work
    // (250 ms): a warm poller does, a cold one may not. Several refreshes make one such race likely.
    for (let round = 1; round <= 6; round++) {
      version = round;
      server.resetRequests();
      const result = await refreshFeed(rt, feed!.id);
      expect(server.count('/refresh.xml')).toBe(1);
      expect(result?.outcome).toBe('ok');
      expect(result!.inserted).toBe(1);
    }
  });

  it('`poll --once --all` polls each feed once, its claims never listing the feeds already polled', async () => {
    // Every claim used to send the ids of every feed polled so far in the run: quadratic over a
    // 10,000-feed round. The claim's own condition (fetched since the run's start, by the database's
    // clock) leaves polled feeds out.
    const claimsExcluding: unknown[] = [];
    const spy: Db = Object.create(t.db);
    spy.query = ((sql: string, params?: unknown[]) => {
      if (sql.includes('for update skip locked')) claimsExcluding.push(params?.[5]);
      return t.db.query(sql, params);
    }) as Db['query'];
    const many = await insertFeeds(t.db, Array.from({ length: 12 }, (_, i) => ({ url: server.url(`/many/${i}.xml`) })));
    await t.db.query(`update feeds set enabled = false where not (id = any($1::int[]))`, [many.map((f) => f.id)]);
    const small = await testRuntime(spy, { POLL_BATCH_SIZE: '2', FETCH_CONCURRENCY: '2' });
    try {
      server.resetRequests();
      const totals = await pollOnce(small, { all: true });
      for (let i = 0; i < 12; i++) expect(server.count(`/many/${i}.xml`)).toBe(1);
      expect(totals.feeds).toBe(12);
      expect(claimsExcluding.length).toBeGreaterThan(3);
      for (const ids of claimsExcluding) expect(ids).toEqual([]);
    } finally {
      await small.close();
      await t.db.query(`update feeds set enabled = true`);
    }
  });

  it('a run whose cut-off lies ahead polls and counts each feed once', async () => {
    const feeds = await insertFeeds(t.db, ['/a.xml', '/b.xml', '/c.xml'].map((p) => ({ url: server.url(p) })));
    server.resetRequests();
    const seen: number[] = [];
    const totals = await runPolls(rt.pollDeps, {
      ...rt.pollSettings,
      notFetchedSince: new Date(Date.now() + 60_000),
      ids: feeds.map((f) => f.id),
      onFeed: (s) => seen.push(s.feedId),
    });
    expect(server.count()).toBe(3);
    expect(seen.sort()).toEqual(feeds.map((f) => f.id).sort());
    expect(totals.feeds).toBe(3);
    expect(totals.ok).toBe(3);
    expect(totals.notModified).toBe(0);
  });
});
