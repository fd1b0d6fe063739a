import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../src/store/migrate.ts';
import { insertFeeds } from '../src/store/feeds.ts';
import { createBenchDatabase, type BenchDatabase } from './bench-db.ts';
import { spawnChild, type ChildUsage } from './child.ts';
import { startFarm, type Farm } from './farm.ts';

/**
 * Many workers (issue 13): W worker processes poll one farm of due feeds together, for W = 1, 2, 4,
 * 8. Per round: every feed must be fetched exactly once (farm requests = feeds, every feed's
 * last_fetched_at in the round), and the claim statement's latency (timed in each worker) and
 * lock waits (pg_stat_activity sampled every 20 ms) are reported per worker count.
 */

export interface WorkersRound {
  workers: number;
  feeds: number;
  wallMs: number;
  feedsPerSec: number;
  /** Feeds each worker polled. */
  perWorker: number[];
  requests: number;
  /** Feeds not fetched in this round (must be 0). */
  missed: number;
  /** Farm requests beyond one per feed (must be 0). */
  extraRequests: number;
  /**
   * Polls whose store failed on the database (a pool checkout that timed out on a starved machine
   * counts too): their feed is handed back and polled again in the same run, by design.
   */
  databaseErrors: number;
  newEntries: number;
  claims: { count: number; emptyShare: number; rowsPerClaim: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
  /** Sampled active backends of the bench database, and how many of those samples waited on a lock. */
  activity: { samples: number; lockWaitShare: number; lwlockShare: number; topWaits: string[]; postgresCpuSeconds: number };
  cpuSeconds: number;
  usage: ChildUsage[];
}

export interface WorkersResult {
  feeds: number;
  hosts: number;
  cold: { wallMs: number; entries: number; workerCpuSeconds: number; postgresCpuSeconds: number };
  rounds: WorkersRound[];
}

interface ClaimChildResult {
  totals: Record<string, number>;
  wallMs: number;
  usage: ChildUsage;
  claimMs: number[];
  claimedRows: number[];
}

const pct = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/** CPU seconds a process has used (Linux /proc; NaN when PostgreSQL runs elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Samples pg_stat_activity of one database until stopped: wait events of active backends, and the
 * CPU of every backend of the database (from /proc, when the server runs on this machine; a
 * backend first seen during the round counts from 0). Other sessions' databases are not counted;
 * PostgreSQL's shared processes (WAL writer, checkpointer) are not either.
 */
function sampleActivity(url: string, database: string) {
  const client = new pg.Client({ connectionString: url });
  let stop = false;
  let samples = 0;
  let lock = 0;
  let lwlock = 0;
  const waits = new Map<string, number>();
  const cpu = new Map<number, { first: number; last: number }>();
  let loops = 0;
  // A terminated connection (another session cleaning up) ends the sampling, not the bench.
  client.on('error', () => undefined);
  const done = (async () => {
    await client.connect();
    while (!stop) {
      const r = await client.query<{ pid: number; active: boolean; t: string | null; e: string | null }>(
        `select pid, state = 'active' as active, wait_event_type as t, wait_event as e from pg_stat_activity
         where datname = $1 and pid <> pg_backend_pid()`,
        [database],
      );
      for (const row of r.rows) {
        const used = cpuSeconds(row.pid);
        // Gone between the query and the read: keep its last reading.
        if (Number.isNaN(used)) continue;
        const seen = cpu.get(row.pid);
        if (seen) seen.last = used;
        else cpu.set(row.pid, { first: loops === 0 ? used : 0, last: used });
      }
      loops++;
      for (const row of r.rows.filter((x) => x.active)) {
        samples++;
        if (row.t === 'Lock') lock++;
        if (row.t === 'LWLock') lwlock++;
        if (row.t === 'Lock' || row.t === 'LWLock') waits.set(`${row.t}:${row.e}`, (waits.get(`${row.t}:${row.e}`) ?? 0) + 1);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    await client.end();
  })().catch(() => undefined);
  return async () => {
    stop = true;
    await done;
    const topWaits = [...waits.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, n]) => `${k} ${n}`);
    const postgresCpuSeconds = [...cpu.values()].reduce((a, c) => a + (c.last - c.first), 0);
    return { samples, lockWaitShare: samples ? lock / samples : 0, lwlockShare: samples ? lwlock / samples : 0, topWaits, postgresCpuSeconds };
  };
}

async function round(db: BenchDatabase, url: string, farm: Farm, workers: number, env: Record<string, string>, dir: string): Promise<WorkersRound> {
  const conn = new pg.Client({ connectionString: url });
  conn.on('error', () => undefined);
  await conn.connect();
  try {
    // Every feed due now; nothing leased.
    await conn.query(`update feeds set next_poll_at = now() - interval '1 second', lease_owner = null, lease_until = null`);
    const before = (await conn.query<{ n: number; t: Date }>(`select count(*)::int as n, now() as t from entries`)).rows[0]!;
    farm.resetStats();
    const goFile = join(dir, `go-${workers}`);
    let ready = 0;
    let allReady: () => void = () => undefined;
    const readyAll = new Promise<void>((r) => (allReady = r));
    const children = Array.from({ length: workers }, () =>
      spawnChild('claim-child.ts', [goFile], {
        env,
        timeoutMs: 30 * 60_000,
        onLine: (line) => {
          if (line === '{"ready":true}' && ++ready === workers) allReady();
        },
      }),
    );
    await Promise.race([readyAll, Promise.all(children.map((c) => c.result)).then(() => Promise.reject(new Error('workers exited before starting')))]);
    const sampled = sampleActivity(url, new URL(url).pathname.slice(1));
    const t0 = performance.now();
    writeFileSync(goFile, '');
    const results = (await Promise.all(children.map((c) => c.result))) as ClaimChildResult[];
    const wallMs = performance.now() - t0;
    const activity = await sampled();
    const after = await conn.query<{ missed: number; entries: number }>(
      `select (select count(*)::int from feeds where last_fetched_at is null or last_fetched_at < $1) as missed,
              (select count(*)::int from entries) as entries`,
      [before.t],
    );
    const stats = farm.stats();
    const claimMs = results.flatMap((r) => r.claimMs).sort((a, b) => a - b);
    const rows = results.flatMap((r) => r.claimedRows);
    const perWorker = results.map((r) => r.totals.feeds ?? 0);
    return {
      workers,
      feeds: farm.feeds.length,
      wallMs,
      feedsPerSec: farm.feeds.length / (wallMs / 1000),
      perWorker,
      requests: stats.requests,
      missed: after.rows[0]!.missed,
      extraRequests: Math.max(0, stats.requests - farm.feeds.length),
      // Each feed counts once in the totals (its last poll); a re-poll after a database error is `repolled`.
      databaseErrors: results.reduce((a, r) => a + (r.totals.repolled ?? r.totals.databaseErrors ?? 0), 0),
      newEntries: after.rows[0]!.entries - before.n,
      claims: {
        count: claimMs.length,
        emptyShare: rows.length ? rows.filter((n) => n === 0).length / rows.length : 0,
        rowsPerClaim: rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0,
        p50Ms: pct(claimMs, 50),
        p95Ms: pct(claimMs, 95),
        p99Ms: pct(claimMs, 99),
        maxMs: claimMs[claimMs.length - 1] ?? 0,
      },
      activity,
      cpuSeconds: results.reduce((a, r) => a + r.usage.cpuSeconds, 0),
      usage: results.map((r) => r.usage),
    };
  } finally {
    await conn.end();
  }
}

/** Runs the many-workers rounds on a fresh database of the DATABASE_URL server. */
export async function workersPhase(
  o: { feeds: number; hosts: number; workers: number[] },
  log: (s: string) => void,
): Promise<WorkersResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-workers-'));
  const hosts = Math.min(o.hosts, o.feeds);
  const farm = await startFarm({ feeds: o.feeds, items: 3, hosts });
  const db = await createBenchDatabase(process.env.DATABASE_URL);
  try {
    const url = db.env.DATABASE_URL!;
    const conn = await db.open();
    try {
      await migrate(conn);
      await insertFeeds(conn, farm.feeds);
    } finally {
      await conn.close();
    }
    // Worker processes as deployed, but no host spacing (the farm is one machine) and a pool per
    // worker small enough that 8 of them stay well inside max_connections.
    const env: Record<string, string> = {
      DATABASE_URL: url, ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'warn', DEMO: 'false', FEEDS: '',
      FETCH_HOST_SPACING_MS: '0', DB_POOL_SIZE: '5', RETENTION_DAYS: '36500', PARSE_THREADS: '0',
    };
    log(`workers ${o.feeds} feeds on ${hosts} addresses: cold load with ${Math.max(...o.workers)} workers`);
    const cold = await round(db, url, farm, Math.max(...o.workers), env, dir);
    const rounds: WorkersRound[] = [];
    for (const w of o.workers) {
      // A few feeds gain items each round, so rounds ingest as well as revalidate (304).
      farm.advanceRound(0.05, 2);
      log(`workers ${o.feeds} feeds: ${w} worker${w === 1 ? '' : 's'}`);
      rounds.push(await round(db, url, farm, w, env, dir));
    }
    return { feeds: o.feeds, hosts, cold: { wallMs: cold.wallMs, entries: cold.newEntries, workerCpuSeconds: cold.cpuSeconds, postgresCpuSeconds: cold.activity.postgresCpuSeconds }, rounds };
  } finally {
    await farm.close();
    await db.drop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const pc = (n: number) => `${(n * 100).toFixed(1)} %`;

export function renderWorkers(r: WorkersResult): string {
  const base = r.rounds[0];
  const lines = [
    `## Many workers: ${r.feeds.toLocaleString('en-US')} feeds on ${r.hosts} loopback addresses`,
    '',
    `Cold load (all workers at once): ${f1(r.cold.wallMs / 1000)} s, ${r.cold.entries.toLocaleString('en-US')} entries; ` +
      `worker CPU ${f1(r.cold.workerCpuSeconds)} s, PostgreSQL backends' CPU ${f1(r.cold.postgresCpuSeconds)} s ` +
      `(${f0(r.cold.entries / r.cold.postgresCpuSeconds)} new entries per PostgreSQL CPU second). ` +
      'Then one round per worker count: every feed due, 5 % of feeds with 2 new items, the rest 304.',
    '',
    '| workers | wall s | feeds/s | × 1 worker | polled per worker | once each | claims | empty | rows/claim | claim p50 / p95 / p99 / max ms | lock-wait samples | LWLock samples | top waits | worker CPU s | PostgreSQL CPU s |',
    '| ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: |',
    ...r.rounds.map((x) =>
      [
        x.workers, f1(x.wallMs / 1000), f0(x.feedsPerSec), base ? `${(x.feedsPerSec / base.feedsPerSec).toFixed(2)}×` : '',
        x.perWorker.join(' / '),
        x.missed === 0 && x.extraRequests === 0
          ? 'yes'
          : `**no**: ${x.missed} missed, ${x.extraRequests} extra (${x.databaseErrors} re-polled after a database error)`,
        x.claims.count, pc(x.claims.emptyShare), f1(x.claims.rowsPerClaim),
        `${f1(x.claims.p50Ms)} / ${f1(x.claims.p95Ms)} / ${f1(x.claims.p99Ms)} / ${f1(x.claims.maxMs)}`,
        `${pc(x.activity.lockWaitShare)} of ${x.activity.samples}`, pc(x.activity.lwlockShare), x.activity.topWaits.join(', ') || '—', f1(x.cpuSeconds), f1(x.activity.postgresCpuSeconds),
      ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'),
    ),
    '',
  ];
  return lines.join('\n');
}
