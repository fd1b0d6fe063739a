import { existsSync } from 'node:fs';
import { loadConfig } from '../src/config/env.ts';
import { createRuntime } from '../src/runtime.ts';
import { pollOnce } from '../src/worker/poll-once.ts';
import type { Db } from '../src/store/db.ts';
import { emitResult, measured } from './child.ts';

/**
 * One of N worker processes of a many-workers round: the real `poll --once` path (due feeds,
 * claimed under leases with SKIP LOCKED), started together with the others when argv[2] (a file)
 * appears. The claim statement is timed here, around the database handle the poller is given.
 */

const goFile = process.argv[2]!;
const config = loadConfig(process.env);
const rt = await createRuntime(config, { migrate: false });
const claimMs: number[] = [];
const claimedRows: number[] = [];
const timed: Db = {
  ...rt.db,
  async query(sql, params) {
    if (!sql.includes('skip locked')) return rt.db.query(sql, params);
    const t0 = performance.now();
    const r = await rt.db.query(sql, params);
    claimMs.push(performance.now() - t0);
    claimedRows.push(r.rowCount);
    return r as never;
  },
};
try {
  emitResult({ ready: true });
  while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 10));
  // As `poll --once` does: a claim that cannot get a connection for a while (a starved machine,
  // a small pool) waits up to DB_CONNECT_TIMEOUT instead of ending the run.
  const { result: totals, wallMs, usage } = await measured(() => pollOnce({ pollDeps: { ...rt.pollDeps, db: timed }, pollSettings: rt.pollSettings }, { all: false, databaseWaitMs: config.DB_CONNECT_TIMEOUT * 1000 }));
  emitResult({ totals, wallMs, usage, claimMs, claimedRows });
} finally {
  await rt.close();
}
