import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, onServer, withDatabase, type TestDb } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { freePort, spawnTributary, waitFor } from '../helpers/processes.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { insertFeeds } from '../../src/store/feeds.ts';

// Backends terminated under a running process: only the server back end has backends to kill.
const FEEDS = 48;
const ITEMS = 4;
const VICTIM = 'tributary-outage-victim';

function rssFeed(n: number): string {
  const items = Array.from({ length: ITEMS }, (_, i) => `<item><title>Outage feed ${n} item ${i}</title>
    <link>https://outage${n}.example/a/${i}</link><guid>outage-${n}-${i}</guid>
    <pubDate>Mon, 20 Nov 2017 10:${String(i).padStart(2, '0')}:00 GMT</pubDate></item>`).join('');
  // One wire story in every feed: concurrent transactions touch the same entry.
  const wire = `<item><title>Outage wire</title><link>https://wire.example/outage</link><guid>wire-${n}</guid>
    <pubDate>Mon, 20 Nov 2017 09:00:00 GMT</pubDate></item>`;
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Outage ${n}</title>${items}${wire}</channel></rss>`;
}

describe.skipIf(!onServer)('the database goes away mid-poll (postgres)', { timeout: 180_000 }, () => {
  let t: TestDb;
  let farms: FaultServer[] = [];
  let victimUrl: string;
  const env = (): Record<string, string> => ({
    DATABASE_URL: victimUrl,
    ALLOW_PRIVATE_NETWORKS: 'true',
    POLL_SCHEDULE: '* * * * * *',
    FETCH_CONCURRENCY: '4',
    FETCH_PER_HOST: '4',
    FETCH_HOST_SPACING_MS: '0',
    LEASE_SECONDS: '5',
    RETENTION_DAYS: '36500',
    DEMO: 'false',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '0',
  });

  const counts = async () =>
    (
      await t.db.query<{ entries: number; sources: number; dupes: number; fetched: number; leased: number }>(
        `select (select count(*)::int from entries) as entries,
                (select count(*)::int from entry_sources) as sources,
                (select count(*)::int from (select dedupe_key from entries group by 1 having count(*) > 1) d) as dupes,
                (select count(*)::int from feeds where last_status = 200) as fetched,
                (select count(*)::int from feeds where lease_owner is not null and lease_until > now()) as leased`,
      )
    ).rows[0]!;
  /** Terminates every backend of the process under test; answers how many there were. */
  const terminateVictim = async () =>
    (
      await t.db.query<{ n: number }>(
        `select count(*) filter (where pg_terminate_backend(pid))::int as n
         from pg_stat_activity where datname = current_database() and application_name = $1`,
        [VICTIM],
      )
    ).rows[0]!.n;
  const resetFeeds = async () => {
    await t.db.query(`delete from entries`);
    await t.db.query(`update feeds set next_poll_at = now(), last_fetched_at = null, last_status = null, etag = null,
      last_modified = null, body_hash = null, lease_owner = null, lease_until = null`);
  };
  /** Kills the victim's backends every 300 ms until `done` or `maxRounds` kills; answers how many rounds found some. */
  const keepKilling = async (done: () => Promise<boolean>, maxRounds: number) => {
    let rounds = 0;
    while (rounds < maxRounds && !(await done())) {
      if ((await terminateVictim()) > 0) rounds++;
      await new Promise((r) => setTimeout(r, 300));
    }
    return rounds;
  };

  beforeAll(async () => {
    t = await createTestDb();
    const u = new URL(t.url!);
    u.searchParams.set('application_name', VICTIM);
    victimUrl = u.toString();
    farms = await Promise.all([1, 2, 3, 4].map((h) => startFaultServer({ host: `127.0.2.${h}`, defaultRoutes: false })));
    const urls: string[] = [];
    for (let n = 0; n < FEEDS; n++) {
      const farm = farms[n % farms.length]!;
      const body = rssFeed(n);
      farm.route(`/feed/${n}.xml`, (_req, res, ctx) => {
        // Slow enough that polls overlap the kills.
        const timer = setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/rss+xml' });
          res.end(body);
        }, 600);
        ctx.onClose(() => clearTimeout(timer));
      });
      urls.push(farm.url(`/feed/${n}.xml`));
    }
    await insertFeeds(t.db, urls.map((url) => ({ url })));
  });
  afterAll(async () => {
    await Promise.all(farms.map((f) => f.close()));
    await t?.drop();
  });

  const expectEveryArticleOnce = async () => {
    const c = await counts();
    expect(c.dupes).toBe(0);
    expect(c.entries).toBe(FEEDS * ITEMS + 1); // the wire story is one entry…
    expect(c.sources).toBe(FEEDS * (ITEMS + 1)); // …with a source in every feed
  };

  it('start (API + worker): backends terminated while it polls, many times; it stays up and stores every article once', async () => {
    const port = await freePort();
    const svc = spawnTributary(['start'], { ...env(), PORT: String(port), HOST: '127.0.0.1' });
    try {
      await waitFor('worker polling', async () => (await counts()).fetched > 0, 60_000);
      const rounds = await keepKilling(async () => {
        if (svc.child.exitCode !== null || svc.child.signalCode !== null) throw new Error(`the process died:\n${svc.output()}`);
        return (await counts()).fetched === FEEDS;
      }, 10);
      expect(rounds).toBeGreaterThanOrEqual(3);
      await waitFor('every feed polled after the kills', async () => (await counts()).fetched === FEEDS, 60_000).catch(async (err: Error) => {
        const state = await t.db.query(`select id, last_status, last_error_kind, lease_owner is not null as leased, lease_until, next_poll_at from feeds where last_status is distinct from 200`);
        throw new Error(`${err.message}\n${JSON.stringify(state.rows)}\n${svc.output().slice(-8000)}`);
      });
      expect(svc.child.exitCode, svc.output()).toBeNull();
      expect(svc.child.signalCode).toBeNull();
      // The API in the same process still answers, from a fresh connection.
      const items = await fetch(`http://127.0.0.1:${port}/api/items?limit=1`);
      expect(items.status).toBe(200);
    } finally {
      svc.child.kill('SIGTERM');
    }
    expect(await svc.exited, svc.output()).toBe(0);
    expect(svc.output()).not.toMatch(/Unhandled|uncaught/i);
    // Lost polls are summed up per tick, never logged feed by feed.
    expect(svc.output()).not.toMatch(/poll failed unexpectedly/);
    await expectEveryArticleOnce();
  });

  it('poll --once with backends terminated under it: reports, exits 0, and nothing is stored twice', async () => {
    await resetFeeds();
    const poll = spawnTributary(['poll', '--once', '--all'], env());
    let exited = false;
    void poll.exited.then(() => (exited = true));
    await waitFor('poll started', async () => (await counts()).fetched > 0, 60_000);
    const rounds = await keepKilling(async () => exited, 10);
    expect(rounds).toBeGreaterThanOrEqual(1);
    expect(await poll.exited, poll.output()).toBe(0);
    const out = poll.output();
    expect(out).toMatch(/^total: \d+ feeds/m);
    expect(out).not.toMatch(/Unhandled|uncaught/i);
    expect((await counts()).dupes).toBe(0);

    // Feeds whose poll lost the database were reported as failed; a second run (after any lease
    // left behind has run out) finishes them, and every article is stored once.
    await waitFor('no lease left', async () => (await counts()).leased === 0, 20_000);
    const again = spawnTributary(['poll', '--once'], env());
    expect(await again.exited, again.output()).toBe(0);
    expect((await counts()).fetched).toBe(FEEDS);
    await expectEveryArticleOnce();
  });

  it('poll --once exits non-zero when the database goes away and stays away', async () => {
    await resetFeeds();
    const server = new URL(t.url!);
    const proxy = await startTcpProxy(server.hostname, Number(server.port || 5432));
    try {
      const viaProxy = withDatabase(`postgres://postgres@127.0.0.1:${proxy.port}/x`, server.pathname.slice(1));
      const poll = spawnTributary(['poll', '--once', '--all'], { ...env(), DATABASE_URL: viaProxy, DB_CONNECT_TIMEOUT: '2s' });
      await waitFor('poll started', async () => (await counts()).fetched > 0, 60_000);
      await proxy.down();
      expect(await poll.exited, poll.output()).toBe(1);
      expect(poll.output()).toMatch(/tributary: cannot reach the database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/.*gave up after 2 s/);
      expect(poll.output()).not.toMatch(/Unhandled|uncaught/i);
    } finally {
      await proxy.close();
    }
  });
});
