import cron, { type ScheduledTask } from 'node-cron';
import { isDbUnavailable } from '../store/db.ts';
import { deleteExpiredEntries } from '../store/retention.ts';
import type { PollDeps } from './poll-feed.ts';
import { runPolls, type PollSettings, type PollTotals } from './poll-run.ts';

export interface WorkerSettings extends PollSettings {
  /** POLL_SCHEDULE (node-cron syntax). */
  schedule: string;
  /** How long stop() waits for polls in flight (they are bounded by the fetch timeout). */
  stopWaitMs: number;
  /** Further periodic jobs (WebSub lease renewal); a run still going when the next is due is skipped. */
  jobs?: { name: string; schedule: string; run(): Promise<void> }[];
}

export interface WorkerHandle {
  /** Stops claiming, lets in-flight polls finish (they are bounded by the fetch timeout), releases the rest. */
  stop(): Promise<void>;
}

const RETENTION_SCHEDULE = '17 * * * *';
const RETENTION_BATCH = 1000;

/**
 * `tributary worker`: node-cron ticks; each tick polls the due feeds (claimed in batches with
 * FOR UPDATE SKIP LOCKED under a lease, so any number of workers can share one database). At most
 * one poll loop runs in the process at any time: a tick that finds one running is skipped.
 */
export function startWorker(d: PollDeps, s: WorkerSettings): WorkerHandle {
  const { logger } = d;
  let stopping = false;
  let loop: Promise<void> | null = null;
  let retentionRun: Promise<void> | null = null;

  const tick = async (): Promise<PollTotals | null> => {
    try {
      const totals = await runPolls(d, {
        concurrency: s.concurrency,
        batchSize: s.batchSize,
        leaseSeconds: s.leaseSeconds,
        notFetchedSince: null,
        shouldStop: () => stopping,
      });
      if (totals.databaseErrors > 0) {
        logger.warn({ ...totals }, `poll tick: ${totals.databaseErrors} polls failed because the database went away; they are polled again`);
      } else if (totals.feeds > 0) {
        logger.info({ ...totals }, 'poll tick done');
      }
      return totals;
    } catch (err) {
      // Database down or restarting: one line, keep the process, try again next tick.
      const why = isDbUnavailable(err) ? 'database unavailable' : 'unexpected error';
      logger.error({ err: (err as Error).message }, `poll tick failed (${why}); retrying on the next tick`);
      return null;
    }
  };

  /** The one way a poll loop starts (first run and every cron tick): never two at once. */
  const pollLoop = (first?: () => Promise<void>): Promise<void> => {
    if (stopping || loop) return Promise.resolve();
    loop = (async () => {
      await first?.();
      if (!stopping) await tick();
    })().finally(() => {
      loop = null;
    });
    return loop;
  };

  const retention = (): Promise<void> => {
    if (stopping || retentionRun) return Promise.resolve();
    retentionRun = (async () => {
      try {
        const olderThan = new Date(Date.now() - d.retentionDays * 86400_000);
        const deleted = await deleteExpiredEntries(d.db, { olderThan, batchSize: RETENTION_BATCH });
        if (deleted > 0) logger.info({ deleted, olderThan }, 'retention: old entries deleted');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'retention job failed');
      }
    })().finally(() => {
      retentionRun = null;
    });
    return retentionRun;
  };

  // The guards above replace node-cron's noOverlap (whose own first run would escape it).
  const tasks: ScheduledTask[] = [
    cron.schedule(s.schedule, () => pollLoop(), { name: 'poll', suppressMissedWarning: true }),
    cron.schedule(RETENTION_SCHEDULE, () => retention(), { name: 'retention', suppressMissedWarning: true }),
  ];
  const jobRuns = new Map<string, Promise<void>>();
  for (const job of s.jobs ?? []) {
    tasks.push(
      cron.schedule(job.schedule, () => {
        if (stopping || jobRuns.has(job.name)) return;
        const run = job
          .run()
          .catch((err: unknown) => logger.error({ err: (err as Error).message }, `${job.name} job failed`))
          .finally(() => jobRuns.delete(job.name));
        jobRuns.set(job.name, run);
      }, { name: job.name, suppressMissedWarning: true }),
    );
  }
  // The first loop starts now (after a retention pass), under the same guard as the ticks.
  void pollLoop(retention);
  logger.info({ schedule: s.schedule, owner: d.owner }, 'worker started');

  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      await Promise.all(tasks.map((t) => t.stop()));
      const running = Promise.allSettled([loop, retentionRun, ...jobRuns.values()]);
      await Promise.race([running, new Promise((r) => setTimeout(r, s.stopWaitMs).unref())]);
      logger.info('worker stopped');
    },
  };
}
