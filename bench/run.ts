import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/env.ts';
import { migrate } from '../src/store/migrate.ts';
import { createBenchDatabase, type BenchDatabase } from './bench-db.ts';
import { childCode, runChild, spawnChild, type ChildUsage } from './child.ts';
import { startFarm, type Farm } from './farm.ts';
import type { FloorJob, FloorResult } from './floor.ts';
import { describeLoaded, loadEntries } from './load-entries.ts';
import { openPostgres } from '../src/store/db.ts';
import { renderMarkdown, type BenchResults, type PollPhase, type ServingPhase } from './report.ts';
import { checkTargets } from './targets.ts';
import { driveApi, driveLadder, type EndpointKind } from './serving.ts';
import { explainPage } from '../src/store/entry-queries.ts';
import { prepareStreamDb, renderStreamMarkdown, streamPhase } from './stream.ts';
import { renderWorkers, workersPhase, type WorkersResult } from './workers.ts';
import { renderWebSubMarkdown, runWebSubBench } from './websub.ts';

/**
 * `npm run bench [-- options]`: feed farm + floor + polling through the real code path, then the
 * API under load on bulk-loaded databases, then storage. Prints Markdown, writes results/latest.json.
 */

const USAGE = `usage: npm run bench -- [--quick] [--feeds N --items N] [--entries N[,M]] [--hosts N]
                      [--connections N] [--duration S] [--ladder-duration S] [--skip-polling] [--skip-serving]
                      [--skip-floor] [--skip-ladder] [--only-ladder] [--existing-db URL]
                      [--skip-stream] [--cold-only] [--streams N] [--stream-rounds N]
                      [--workers 1,2,4,8] [--worker-feeds N] [--skip-workers]
       npm run bench -- --websub [--quick]     (WebSub delivery → committed/visible latency only)`;

interface Options {
  quick: boolean;
  scenarios: { feeds: number; items: number }[];
  entries: number[];
  /** Farm addresses; null: one per feed up to DEFAULT_MAX_HOSTS (farmHosts). */
  hosts: number | null;
  connections: number;
  durationS: number;
  ladderDurationS: number;
  skipPolling: boolean;
  skipServing: boolean;
  skipFloor: boolean;
  skipLadder: boolean;
  /** Serving phases measure the search ladder only (no endpoints under load). */
  onlyLadder: boolean;
  /** Serve databases an earlier run loaded (comma-separated URLs; kept, not dropped) instead of loading --entries. */
  existingDb: string[];
  /** Live stream latency (issue 12): open streams on one API process, and commits timed to their events. */
  skipStream: boolean;
  /** Polling: the cold round only (memory and CPU experiments). */
  coldOnly: boolean;
  streams: number;
  streamRounds: number;
  /** Many-workers rounds (server only): worker counts, and the farm size they share. */
  workers: number[];
  workerFeeds: number;
  skipWorkers: boolean;
  /** Only the WebSub delivery section (bench/websub.ts). */
  websub: boolean;
}

/** Endpoints measured against a bare node:http server answering the same bytes (issue 10). */
const FLOOR_KINDS: EndpointKind[] = ['health', 'feedNotModified', 'feed', 'first', 'item', 'search'];

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive whole number, got "${v}"`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      feeds: { type: 'string' },
      items: { type: 'string' },
      entries: { type: 'string' },
      hosts: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      'ladder-duration': { type: 'string' },
      'skip-floor': { type: 'boolean', default: false },
      'skip-ladder': { type: 'boolean', default: false },
      'only-ladder': { type: 'boolean', default: false },
      'existing-db': { type: 'string' },
      'skip-polling': { type: 'boolean', default: false },
      'skip-serving': { type: 'boolean', default: false },
      'skip-stream': { type: 'boolean', default: false },
      'cold-only': { type: 'boolean', default: false },
      streams: { type: 'string' },
      'stream-rounds': { type: 'string' },
      workers: { type: 'string' },
      'worker-feeds': { type: 'string' },
      'skip-workers': { type: 'boolean', default: false },
      websub: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const feeds = positive('feeds', values.feeds);
  const items = positive('items', values.items);
  const scenarios =
    feeds !== undefined || items !== undefined
      ? [{ feeds: feeds ?? (quick ? 100 : 1000), items: items ?? (quick ? 10 : 50) }]
      : quick
        ? [{ feeds: 100, items: 10 }]
        : [
            { feeds: 1000, items: 50 },
            { feeds: 10000, items: 20 },
          ];
  const entries = values.entries
    ? values.entries.split(',').map((e) => positive('entries', e.trim())!)
    : quick
      ? [5000]
      : [100_000, 1_000_000];
  return {
    quick,
    scenarios,
    entries,
    hosts: positive('hosts', values.hosts) ?? null,
    connections: positive('connections', values.connections) ?? (quick ? 10 : 50),
    durationS: positive('duration', values.duration) ?? (quick ? 2 : 10),
    ladderDurationS: positive('ladder-duration', values['ladder-duration']) ?? (quick ? 2 : 5),
    skipPolling: values['skip-polling'],
    skipServing: values['skip-serving'],
    skipFloor: values['skip-floor'],
    skipLadder: values['skip-ladder'],
    onlyLadder: values['only-ladder'],
    existingDb: values['existing-db']?.split(',').filter(Boolean) ?? [],
    skipStream: values['skip-stream'],
    coldOnly: values['cold-only'],
    streams: positive('streams', values.streams) ?? 1000,
    streamRounds: positive('stream-rounds', values['stream-rounds']) ?? (quick ? 10 : 50),
    workers: values.workers ? values.workers.split(',').map((w) => positive('workers', w.trim())!) : [1, 2, 4, 8],
    workerFeeds: positive('worker-feeds', values['worker-feeds']) ?? (quick ? 300 : 20_000),
    // Starting up to 8 worker processes per round takes over a minute even at 300 feeds on 2 cores:
    // --quick runs it only when asked for with --workers or --worker-feeds.
    skipWorkers: values['skip-workers'] || (quick && values.workers === undefined && values['worker-feeds'] === undefined),
    websub: values.websub,
  };
}

const started = performance.now();
/** Progress on stderr, with seconds since start, so stdout is only the report. */
const log = (s: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${s}\n`);

async function floorRun(job: FloorJob, dir: string, name: string): Promise<FloorResult> {
  const path = join(dir, `floor-${name}.json`);
  writeFileSync(path, JSON.stringify(job));
  return runChild<FloorResult>('floor.ts', [path], { timeoutMs: 30 * 60_000 });
}

interface PollChildResult {
  totals: Record<string, number>;
  wallMs: number;
  usage: ChildUsage;
  db: { entries: number; sources: number };
}

/** Environment of the poller child: the real configuration, loopback allowed, quiet, no demo feeds. */
/**
 * Farm addresses when --hosts is not given: one per feed, up to 1,000. A thousand regional feeds come
 * from about as many publishers; with 256 addresses per-host spacing alone (4 feeds × 200 ms) bounded
 * a warm 1,000-feed round at 0.8 s, so the round measured politeness, not the poller (bench/README.md).
 */
const DEFAULT_MAX_HOSTS = 1000;

function farmHosts(hosts: number | null, feeds: number): number {
  return hosts ?? Math.min(feeds, DEFAULT_MAX_HOSTS);
}

function pollEnv(db: BenchDatabase): Record<string, string | undefined> {
  // BENCH_POLL_NODE_OPTIONS: V8 flags for the poller's child alone (heap experiments), not the bench's.
  const nodeOptions = process.env.BENCH_POLL_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_POLL_NODE_OPTIONS } : {};
  return { ...db.env, ...nodeOptions, ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', DEMO: 'false', FEEDS: '' };
}

async function pollRound(
  name: string,
  farm: Farm,
  db: BenchDatabase,
  dir: string,
  scenario: { feeds: number; items: number },
  opts: { withDownloadFloor: boolean; etags: string; coldFloor: boolean },
): Promise<PollPhase> {
  const config = loadConfig({ ...process.env, ...pollEnv(db) });
  const urls = farm.feeds.map((f) => f.url);
  const floorJob = { urls, concurrency: config.FETCH_CONCURRENCY };
  log(`  floor (download + parse)`);
  const floorParse = await floorRun(
    { ...floorJob, mode: 'parse', etagsIn: opts.coldFloor ? undefined : opts.etags, etagsOut: opts.etags },
    dir,
    `${name}-parse`,
  );
  let floorDownload: FloorResult | null = null;
  if (opts.withDownloadFloor) {
    log(`  floor (download only)`);
    floorDownload = await floorRun({ ...floorJob, mode: 'download' }, dir, `${name}-download`);
  }
  const feedsFile = join(dir, 'feeds.json');
  writeFileSync(feedsFile, JSON.stringify(farm.feeds));
  farm.resetStats();
  log(`  poll (child process)`);
  const child = await runChild<PollChildResult>('poll-child.ts', [feedsFile], { env: pollEnv(db), timeoutMs: 60 * 60_000 });
  const t = child.totals;
  const seconds = child.wallMs / 1000;
  return {
    name,
    feeds: scenario.feeds,
    items: scenario.items,
    wallMs: child.wallMs,
    usage: child.usage,
    totals: t,
    feedsPerSec: (t.feeds ?? 0) / seconds,
    newItemsPerSec: ((t.inserted ?? 0) + (t.linked ?? 0)) / seconds,
    floorParse,
    floorDownload,
    floorRatio: child.wallMs / floorParse.wallMs,
    farm: farm.stats(),
    db: child.db,
    expectedEntries: farm.distinctArticles(),
    politenessBoundMs: Math.ceil(scenario.feeds / farm.hosts.length) * config.FETCH_HOST_SPACING_MS,
  };
}

async function pollingPhases(opts: Options, results: BenchResults, save: () => void): Promise<void> {
  for (const scenario of opts.scenarios) {
    const label = `${scenario.feeds}×${scenario.items}`;
    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-poll-'));
    let farm: Farm | null = null;
    let db: BenchDatabase | null = null;
    try {
      log(`polling ${label}: rendering the farm`);
      farm = await startFarm({ feeds: scenario.feeds, items: scenario.items, hosts: farmHosts(opts.hosts, scenario.feeds) });
      db = await createBenchDatabase(process.env.DATABASE_URL);
      // Created and migrated here, so the cold poller's peak RSS is not PGlite's initdb.
      const conn = await db.open();
      await migrate(conn).finally(() => conn.close());
      const etags = join(dir, 'etags.json');
      log(`polling ${label}: cold`);
      results.polling.push(await pollRound(`cold ${label}`, farm, db, dir, scenario, { withDownloadFloor: true, etags, coldFloor: true }));
      save();
      if (opts.coldOnly) continue;
      log(`polling ${label}: warm (nothing changed)`);
      results.polling.push(await pollRound(`warm ${label}`, farm, db, dir, scenario, { withDownloadFloor: false, etags, coldFloor: false }));
      save();
      farm.advanceRound(0.1, 5);
      log(`polling ${label}: 10% of feeds gained 5 items`);
      results.polling.push(await pollRound(`10% +5 ${label}`, farm, db, dir, scenario, { withDownloadFloor: false, etags, coldFloor: false }));
      save();
      // Every feed changed, by one item: publishers without validators, or whose document changes
      // at each request. Most of each document is the items stored at the last poll.
      farm.advanceRound(1, 1);
      log(`polling ${label}: every feed gained 1 item`);
      results.polling.push(await pollRound(`all +1 ${label}`, farm, db, dir, scenario, { withDownloadFloor: false, etags, coldFloor: false }));
      save();
    } catch (err) {
      results.errors.push({ phase: `polling ${label}`, message: err instanceof Error ? err.message : String(err) });
      log(`polling ${label} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await farm?.close();
      await db?.drop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Starts serve-child.ts and resolves with its port and a stop() that returns its CPU/RSS. */
async function startServer(script: string, args: string[], env: Record<string, string | undefined>): Promise<{ port: number; pid: number | undefined; stop: () => Promise<ChildUsage> }> {
  let resolvePort: (p: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  const child = spawnChild(script, args, {
    env,
    timeoutMs: 60 * 60_000,
    onLine: (line) => {
      const m = /^\{"port":(\d+)\}$/.exec(line);
      if (m) resolvePort(Number(m[1]));
    },
  });
  const p = await Promise.race([port, child.result.then(() => Promise.reject(new Error(`${script} exited before listening`)))]);
  return {
    port: p,
    pid: child.pid,
    stop: async () => {
      child.kill();
      return (await child.result) as ChildUsage;
    },
  };
}

/** The real API in a child (serve-child.ts). */
const startApi = (db: BenchDatabase) => startServer('serve-child.ts', [], { ...db.env, LOG_LEVEL: 'warn', DEMO: 'false', FEEDS: '' });

async function servingPhases(opts: Options, results: BenchResults, save: () => void): Promise<void> {
  const targets: { count: number; existing?: string }[] =
    opts.existingDb.length > 0 ? opts.existingDb.map((url) => ({ count: 0, existing: url })) : opts.entries.map((count) => ({ count }));
  for (const { count, existing } of targets) {
    let db: BenchDatabase | null = null;
    let api: Awaited<ReturnType<typeof startApi>> | null = null;
    try {
      db = existing
        ? { kind: 'postgres', env: { DATABASE_URL: existing }, open: async () => openPostgres(existing, 4), drop: async () => undefined }
        : await createBenchDatabase(process.env.DATABASE_URL);
      const conn = await db.open();
      let phase: Omit<ServingPhase, 'connections' | 'durationS' | 'endpoints' | 'deepWalk' | 'server' | 'ladder'>;
      let rungs: { word: string; matches: number; access: string; plan: string }[] = [];
      try {
        await migrate(conn);
        log(existing ? `serving an existing database` : `serving ${count}: loading entries`);
        const loaded = existing
          ? await describeLoaded(conn, NaN)
          : await loadEntries(conn, count, (done) => log(`  ${done.toLocaleString('en-US')} / ${count.toLocaleString('en-US')}`));
        const sizes = await conn.query<{ entries: number; sources: number }>(
          `select pg_total_relation_size('entries')::float8 as entries, pg_total_relation_size('entry_sources')::float8 as sources`,
        );
        const s = sizes.rows[0]!;
        phase = {
          entries: loaded.entries,
          sources: loaded.sources,
          loadSeconds: loaded.loadSeconds,
          bytesPerEntry: (s.entries + s.sources) / loaded.entries,
          tableBytes: { entries: s.entries, entrySources: s.sources },
          searchWord: loaded.searchWord,
          searchShare: loaded.searchShare,
        };
        log(`  loaded in ${loaded.loadSeconds.toFixed(1)} s; ${Math.round(phase.bytesPerEntry)} bytes per entry`);
        if (!opts.skipLadder) {
          // Plans now: an embedded database is one process's, and the API child will hold it.
          for (const rung of loaded.ladder) {
            // Twice: the first reads cold pages from disk; the ladder runs warm, so report a warm plan.
            await explainPage(conn, { q: rung.word }, 51);
            const { access, plan } = await explainPage(conn, { q: rung.word }, 51);
            rungs.push({ word: rung.word, matches: rung.matches, access, plan });
          }
        }
      } finally {
        await conn.close();
      }
      api = await startApi(db);
      log(`serving ${phase.entries}: API on port ${api.port}`);
      const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-serve-'));
      const driven = opts.onlyLadder
        ? { endpoints: [], deepWalk: { walked: 0, ms: 0 } }
        : await driveApi(
            `http://127.0.0.1:${api.port}`,
            {
              connections: opts.connections,
              durationS: opts.durationS,
              searchWord: phase.searchWord,
              region: 'syria',
              deepOffset: Math.min(10_000, Math.floor(phase.entries / 2)),
              floorKinds: opts.skipFloor ? [] : FLOOR_KINDS,
              ladderDurationS: opts.ladderDurationS,
              floorRounds: 2,
            },
            {
              apiPid: api.pid,
              dir,
              startFloor: async (file) => {
                const floor = await startServer('floor-server.ts', [file], {});
                return { base: `http://127.0.0.1:${floor.port}`, pid: floor.pid, stop: floor.stop };
              },
            },
            log,
          ).finally(() => rmSync(dir, { recursive: true, force: true }));
      const ladder = await driveLadder(`http://127.0.0.1:${api.port}`, rungs, opts.ladderDurationS, api.pid, log);
      const server = await api.stop();
      api = null;
      results.serving.push({ ...phase, connections: opts.connections, durationS: opts.durationS, ...driven, ladder, server });
      save();
    } catch (err) {
      results.errors.push({ phase: `serving ${count}`, message: err instanceof Error ? err.message : String(err) });
      log(`serving ${count} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await api?.stop().catch(() => undefined);
      await db?.drop().catch(() => undefined);
    }
  }
}

/** Issue 12: publish-to-stream latency with `streams` open on one API process, and memory per stream. */
async function streamPhases(opts: Options, results: BenchResults, save: () => void): Promise<void> {
  let db: BenchDatabase | null = null;
  let api: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    log(`stream: ${opts.streams} streams, ${opts.streamRounds} commits`);
    db = await createBenchDatabase(process.env.DATABASE_URL);
    const feedId = await prepareStreamDb(db);
    log('  database ready; starting the API');
    const limit = String(opts.streams + 10);
    api = await startServer('serve-child.ts', [], { ...db.env, LOG_LEVEL: 'warn', DEMO: 'false', FEEDS: '', STREAM_MAX_CLIENTS: limit, STREAM_MAX_PER_IP: limit });
    results.stream = await streamPhase(db, api, feedId, { streams: opts.streams, rounds: opts.streamRounds }, log);
    save();
  } catch (err) {
    results.errors.push({ phase: 'stream', message: err instanceof Error ? err.message : String(err) });
    log(`stream failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await api?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error(USAGE);
    return 2;
  }
  if (opts.websub) {
    const r = await runWebSubBench({ feeds: opts.quick ? 10 : 50, deliveries: opts.quick ? 50 : 500, concurrency: 8, log });
    console.log(renderWebSubMarkdown(r));
    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'websub.json'), `${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  const results: BenchResults & { workers?: WorkersResult } = {
    startedAt: new Date().toISOString(),
    machine: { cpus: availableParallelism(), node: process.versions.node, backend: process.env.DATABASE_URL ? 'PostgreSQL server (DATABASE_URL)' : 'embedded PGlite', code: childCode() },
    options: { ...opts },
    polling: [],
    serving: [],
    targets: [],
    errors: [],
  };
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  // Saved after every phase, so a crash late in a long run keeps what was measured.
  const save = () => {
    results.targets = checkTargets(results);
    writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  };
  const t0 = performance.now();
  if (!opts.skipPolling) await pollingPhases(opts, results, save);
  if (!opts.skipWorkers && process.env.DATABASE_URL) {
    try {
      results.workers = await workersPhase({ feeds: opts.workerFeeds, hosts: Math.max(opts.hosts ?? 0, DEFAULT_MAX_HOSTS), workers: opts.workers }, log);
      save();
    } catch (err) {
      results.errors.push({ phase: 'many workers', message: err instanceof Error ? err.message : String(err) });
      log(`many workers failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!opts.skipServing) await servingPhases(opts, results, save);
  // In --quick only on a server (≈20 s): embedded, a fresh data directory's initdb alone takes longer.
  if (!opts.skipStream && !(opts.quick && !process.env.DATABASE_URL)) await streamPhases(opts, results, save);
  results.finishedAt = new Date().toISOString();
  save();
  console.log(renderMarkdown(results));
  if (results.stream) console.log(renderStreamMarkdown(results.stream));
  if (results.workers) console.log(renderWorkers(results.workers));
  log(`bench finished in ${((performance.now() - t0) / 1000).toFixed(1)} s; results in bench/results/latest.json`);
  return results.errors.length > 0 ? 1 : 0;
}

process.exitCode = await main();
