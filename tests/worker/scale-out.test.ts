import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, onServer, withDatabase, type TestDb } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { freePort, spawnTributary, waitFor, type Spawned } from '../helpers/processes.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { insertFeeds } from '../../src/store/feeds.ts';

// Several processes against one PostgreSQL: only meaningful on the server back end (PGlite has one backend).
function rssFeed(n: number, items: number): string {
  const body = Array.from({ length: items }, (_, i) => `<item><title>Feed ${n} item ${i}</title>
    <link>https://farm${n}.example/a/${i}?utm_source=farm</link><guid>farm-${n}-${i}</guid>
    <pubDate>Mon, 20 Nov 2017 10:${String(i).padStart(2, '0')}:00 GMT</pubDate></item>`).join('');
  // Every feed also carries one syndicated wire story, so concurrent workers race on the same entry.
  const wire = `<item><title>Wire story</title><link>https://wire.example/story?utm_medium=rss&amp;fbclid=${n}</link>
    <guid>wire-${n}</guid><pubDate>Mon, 20 Nov 2017 09:00:00 GMT</pubDate></item>`;
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Farm ${n}</title>${body}${wire}</channel></rss>`;
}

async function counts(t: TestDb) {
  const r = await t.db.query<{ entries: number; sources: number; dupes: number; fetched: number }>(
    `select (select count(*)::int from entries) as entries,
            (select count(*)::int from entry_sources) as sources,
            (select count(*)::int from (select dedupe_key from entries group by 1 having count(*) > 1) d) as dupes,
            (select count(*)::int from feeds where last_fetched_at is not null) as fetched`,
  );
  return r.rows[0]!;
}

describe.skipIf(!onServer)('scale-out and crash safety (postgres)', () => {
  const FEEDS = 60;
  const ITEMS = 5;
  let t: TestDb;
  let farms: FaultServer[] = [];
  const env = (url: string): Record<string, string> => ({
    DATABASE_URL: url,
    ALLOW_PRIVATE_NETWORKS: 'true',
    POLL_SCHEDULE: '* * * * * *',
    POLL_BATCH_SIZE: '5',
    FETCH_CONCURRENCY: '4',
    FETCH_HOST_SPACING_MS: '0',
    FETCH_PER_HOST: '4',
    RETENTION_DAYS: '36500',
    DEMO: 'false',
    LOG_LEVEL: 'warn',
  });

  beforeAll(async () => {
    t = await createTestDb();
    // Feeds spread over four loopback hosts; each answers after a short delay so batches overlap.
    farms = await Promise.all([1, 2, 3, 4].map((h) => startFaultServer({ host: `127.0.1.${h}`, defaultRoutes: false })));
    const urls: string[] = [];
    for (let n = 0; n < FEEDS; n++) {
      const farm = farms[n % farms.length]!;
      const body = rssFeed(n, ITEMS);
      farm.route(`/feed/${n}.xml`, (_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/rss+xml' });
          res.end(body);
        }, 150);
      });
      urls.push(farm.url(`/feed/${n}.xml`));
    }
    await insertFeeds(t.db, urls.map((url) => ({ url })));
  });
  afterAll(async () => {
    await Promise.all(farms.map((f) => f.close()));
    await t?.drop();
  });

  const requestsPerFeed = () => {
    const perPath = new Map<string, number>();
    for (const f of farms) for (const r of f.requests) perPath.set(`${f.host}${r.path}`, (perPath.get(`${f.host}${r.path}`) ?? 0) + 1);
    return perPath;
  };

  it('three workers fetch each due feed exactly once, with no duplicate entries; SIGTERM exits 0', { timeout: 120_000 }, async () => {
    const workers: Spawned[] = [0, 1, 2].map(() => spawnTributary(['worker'], env(t.url!)));
    await waitFor('every feed fetched', async () => (await counts(t)).fetched === FEEDS, 60_000);
    for (const w of workers) w.child.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.output()).join('\n')).toEqual([0, 0, 0]);

    const perFeed = requestsPerFeed();
    expect(perFeed.size).toBe(FEEDS);
    expect([...perFeed.values()].every((n) => n === 1)).toBe(true);
    const c = await counts(t);
    expect(c.dupes).toBe(0);
    expect(c.entries).toBe(FEEDS * ITEMS + 1); // the wire story is one entry…
    expect(c.sources).toBe(FEEDS * (ITEMS + 1)); // …with a source in every feed
  });

  it('kill -9 mid-batch: few feeds orphaned, leases expire, another worker polls them, nothing duplicated or lost', { timeout: 120_000 }, async () => {
    await t.db.query(`delete from entries`);
    await t.db.query(`update feeds set next_poll_at = now(), last_fetched_at = null, etag = null, last_modified = null, body_hash = null`);
    for (const f of farms) f.resetRequests();
    // A batch size far above what 2 fetch slots can start soon: the worker still claims only a few times that.
    const victim = spawnTributary(['worker'], { ...env(t.url!), LEASE_SECONDS: '5', POLL_BATCH_SIZE: '50', FETCH_CONCURRENCY: '2' });
    await waitFor('a batch in flight', async () => {
      const r = await t.db.query<{ n: number }>(`select count(*)::int as n from feeds where lease_owner is not null`);
      return r.rows[0]!.n > 0 && (await counts(t)).fetched > 3;
    });
    victim.child.kill('SIGKILL');
    await victim.exited;
    const leased = await t.db.query<{ n: number }>(`select count(*)::int as n from feeds where lease_owner is not null`);
    expect(leased.rows[0]!.n).toBeGreaterThan(0); // it died holding leases…
    expect(leased.rows[0]!.n).toBeLessThanOrEqual(16 * 2); // …but no more than 16 × FETCH_CONCURRENCY (CLAIM_AHEAD)

    const rescuer = spawnTributary(['worker'], { ...env(t.url!), LOG_LEVEL: 'info' });
    await waitFor('every feed fetched after the crash', async () => (await counts(t)).fetched === FEEDS, 60_000);
    await waitFor('the rescuer running', async () => /worker started/.test(rescuer.output()));
    rescuer.child.kill('SIGTERM');
    expect(await rescuer.exited).toBe(0);
    const c = await counts(t);
    expect(c.dupes).toBe(0);
    expect(c.entries).toBe(FEEDS * ITEMS + 1);
    expect(c.sources).toBe(FEEDS * (ITEMS + 1));
  });
});

describe.skipIf(!onServer)('PostgreSQL going away under a running service (postgres)', () => {
  let t: TestDb;
  let proxy: TcpProxy;
  let farm: FaultServer;
  let svc: Spawned;
  let port: number;

  beforeAll(async () => {
    t = await createTestDb();
    const server = new URL(t.url!);
    proxy = await startTcpProxy(server.hostname, Number(server.port || 5432));
    farm = await startFaultServer({ host: '127.0.1.9' });
    port = await freePort();
    const viaProxy = withDatabase(`postgres://postgres@127.0.0.1:${proxy.port}/x`, server.pathname.slice(1));
    svc = spawnTributary(['start'], {
      DATABASE_URL: viaProxy,
      PORT: String(port),
      HOST: '127.0.0.1',
      ALLOW_PRIVATE_NETWORKS: 'true',
      POLL_SCHEDULE: '* * * * * *',
      DEMO: 'false',
      RETENTION_DAYS: '36500',
      RATE_LIMIT_PER_MINUTE: '0',
    });
  });
  afterAll(async () => {
    svc?.child.kill('SIGKILL');
    await proxy?.close();
    await farm?.close();
    await t?.drop();
  });

  const status = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;

  it('logs, keeps running, /readyz says 503, and both API and worker resume by themselves', async () => {
    await waitFor('service ready', async () => (await status('/readyz')) === 200);
    await proxy.down();
    await waitFor('readyz 503', async () => (await status('/readyz')) === 503, 15_000);
    expect(await status('/healthz')).toBe(200);
    await new Promise((r) => setTimeout(r, 2500)); // a few worker ticks against a dead database
    expect(svc.child.exitCode).toBeNull();

    await proxy.up();
    await waitFor('readyz 200 again', async () => (await status('/readyz')) === 200, 20_000);
    // The worker resumes: a feed added now gets polled.
    await insertFeeds(t.db, [{ url: farm.url('/real.xml') }]);
    await waitFor('feed polled after recovery', async () => farm.count('/real.xml') > 0, 20_000);
    const items = await fetch(`http://127.0.0.1:${port}/api/items`);
    expect(items.status).toBe(200);
    expect(svc.output()).toMatch(/tick failed|connection|database/i);
  });
});
