import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { waitFor } from '../helpers/processes.ts';
import { insertFeeds } from '../../src/store/feeds.ts';
import { startWorker } from '../../src/worker/worker.ts';
import { runPolls } from '../../src/worker/poll-run.ts';
import type { FeedPollSummary } from '../../src/worker/poll-feed.ts';
import type { Runtime } from '../../src/runtime.ts';

function rss(n: number): string {
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Slow ${n}</title>
    <item><title>Slow feed ${n}</title><link>https://slow${n}.example/a</link><guid>slow-${n}</guid>
    <pubDate>Mon, 20 Nov 2017 10:00:00 GMT</pubDate></item></channel></rss>`;
}

/** Feeds on one local server that answer after `delayMs`, counting requests in flight. */
function slowFeeds(server: FaultServer, prefix: string, count: number, delayMs: (n: number) => number) {
  const stats = { inFlight: 0, maxInFlight: 0 };
  const urls: string[] = [];
  for (let n = 0; n < count; n++) {
    const path = `/${prefix}/${n}.xml`;
    server.route(path, (_req, res, ctx) => {
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      const timer = setTimeout(() => {
        stats.inFlight--;
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        res.end(rss(n));
      }, delayMs(n));
      ctx.onClose(() => clearTimeout(timer));
    });
    urls.push(server.url(path));
  }
  return { stats, urls };
}

describe(`one poll loop per process, and few feeds held at a time (${backendName})`, () => {
  let t: TestDb;
  let rt: Runtime;
  let server: FaultServer;

  beforeAll(async () => {
    server = await startFaultServer({ defaultRoutes: false });
  });
  afterEach(async () => {
    await rt?.close();
    await t?.drop();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the first tick and the cron ticks never run two poll loops at once: FETCH_CONCURRENCY holds', { timeout: 60_000 }, async () => {
    t = await createTestDb();
    rt = await testRuntime(t.db, { FETCH_CONCURRENCY: '2', POLL_BATCH_SIZE: '4' });
    const { stats, urls } = slowFeeds(server, 'loop', 16, () => 400);
    await insertFeeds(t.db, urls.map((url) => ({ url })));
    // A tick every second while the first loop needs about 16 × 400 ms / 2 = 3.2 s.
    const worker = startWorker(rt.pollDeps, { ...rt.pollSettings, schedule: '* * * * * *', stopWaitMs: 10_000 });
    try {
      await waitFor('every feed polled', async () => {
        const r = await t.db.query<{ n: number }>(`select count(*)::int as n from feeds where last_status = 200`);
        return r.rows[0]!.n === 16;
      }, 40_000);
    } finally {
      await worker.stop();
    }
    expect(stats.maxInFlight).toBe(2);
    expect(server.requests.filter((r) => r.path.startsWith('/loop/'))).toHaveLength(16);
  });

  it('claims only a few times FETCH_CONCURRENCY at once, not a whole POLL_BATCH_SIZE', { timeout: 60_000 }, async () => {
    t = await createTestDb();
    rt = await testRuntime(t.db, { FETCH_CONCURRENCY: '2', POLL_BATCH_SIZE: '50' });
    const { urls } = slowFeeds(server, 'claim', 60, () => 150);
    await insertFeeds(t.db, urls.map((url) => ({ url })));
    let maxHeld = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await t.db.query<{ n: number }>(`select count(*)::int as n from feeds where lease_owner is not null`);
        maxHeld = Math.max(maxHeld, r.rows[0]!.n);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const totals = await runPolls(rt.pollDeps, { ...rt.pollSettings, notFetchedSince: null }).finally(() => {
      sampling = false;
    });
    await sampler;
    expect(totals.ok).toBe(60);
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(2 * 16); // CLAIM_AHEAD × FETCH_CONCURRENCY, under the batch of 50
  });

  it('leases of queued and running feeds are extended: a run longer than the lease polls every feed once', { timeout: 60_000 }, async () => {
    t = await createTestDb();
    rt = await testRuntime(t.db);
    // One at a time, each slower than half the lease, one slower than the whole lease.
    const { urls } = slowFeeds(server, 'lease', 4, (n) => (n === 0 ? 2600 : 1200));
    await insertFeeds(t.db, urls.map((url) => ({ url })));
    const seen: FeedPollSummary[] = [];
    const totals = await runPolls(rt.pollDeps, {
      concurrency: 1,
      batchSize: 50,
      leaseSeconds: 2,
      notFetchedSince: null,
      onFeed: (s) => seen.push(s),
    });
    expect(seen.map((s) => s.outcome)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(totals.leaseLost).toBe(0);
    for (const url of urls) expect(server.count(new URL(url).pathname)).toBe(1);
    const left = await t.db.query<{ n: number }>(`select count(*)::int as n from feeds where lease_owner is not null`);
    expect(left.rows[0]!.n).toBe(0);
  });
});
