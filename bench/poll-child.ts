import v8 from 'node:v8';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../src/config/env.ts';
import { createRuntime } from '../src/runtime.ts';
import { pollOnce } from '../src/worker/poll-once.ts';
import { migrate } from '../src/store/migrate.ts';
import { insertFeeds, type NewFeed } from '../src/store/feeds.ts';
import { emitResult, measured } from './child.ts';
import { startSqlTimes } from './sql-times.ts';

/**
 * One polling round through the real code path (`poll --once --all`), alone in this process so
 * its CPU seconds and peak RSS are the poller's own. The database comes from the environment
 * (DATABASE_URL, or DATA_DIR for the embedded back end); feeds in argv[2] (JSON) are registered
 * first, set-based and outside the measurement (already-registered ones are skipped).
 * BENCH_STORIES=off runs it with story assignment off (bench only, no product setting).
 */

const feeds = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as NewFeed[];
const config = loadConfig(process.env);
const rt = await createRuntime(config);
// BENCH_V8_FLAGS: V8 flags set at start (those NODE_OPTIONS refuses, e.g. --trace-gc; its output
// reaches BENCH_CHILD_STDOUT), after the product's own (src/heap-growth.ts) so they can override them.
if (process.env.BENCH_V8_FLAGS) v8.setFlagsFromString(process.env.BENCH_V8_FLAGS);
try {
  await migrate(rt.db);
  await insertFeeds(rt.db, feeds);
  // BENCH_STORIES=off: the same round with no story assignment, to measure what stories cost.
  if (process.env.BENCH_STORIES === 'off') rt.pollDeps.assignStories = false;
  const stopSqlTimes = process.env.BENCH_SQL_TIMES ? startSqlTimes(process.env.BENCH_SQL_TIMES, process.env.DATABASE_URL) : null;
  const { result: totals, wallMs, usage } = await measured(() => pollOnce(rt, { all: true }));
  await stopSqlTimes?.();
  // BENCH_HEAP_SNAPSHOT=<file>: the first round (cold) writes a heap snapshot of what outlived it.
  if (process.env.BENCH_HEAP_SNAPSHOT && !existsSync(process.env.BENCH_HEAP_SNAPSHOT)) v8.writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT);
  const counts = await rt.db.query<{ entries: number; sources: number }>(
    `select (select count(*) from entries)::int as entries, (select count(*) from entry_sources)::int as sources`,
  );
  emitResult({ totals, wallMs, usage, db: counts.rows[0] });
} finally {
  await rt.close();
}
