import cron, { type ScheduledTask } from 'node-cron';
import type { Runtime } from '../runtime.ts';
import { deleteExpiredEntries } from '../store/retention.ts';
import { runPolls, type PollTotals } from './poll-run.ts';

export interface WorkerHandle {
  /** Resolves after the first tick (the demo waits for it). */
  firstTick: Promise<void>;
  /** Stops claiming, lets in-flight polls finish (they are bounded by the fetch timeout), releases the rest. */
  stop(): Promise<void>;
}

const RETENTION_SCHEDULE = '17 * * * *';
const RETENTION_BATCH = 1000;

/**
 * `tributary worker`: node-cron ticks; each tick polls the due feeds (claimed in batches with
 * FOR UPDATE SKIP LOCKED under a lease, so any number of workers can share one database).
 */
export function startWorker(rt: Runtime): WorkerHandle {
  const { config, logger } = rt;
  let stopping = false;
  let current: Promise<unknown> = Promise.resolve();

  const tick = async (): Promise<PollTotals | null> => {
    if (stopping) return null;
    try {
      const totals = await runPolls(rt.pollDeps, {
        concurrency: config.FETCH_CONCURRENCY,
        batchSize: config.POLL_BATCH_SIZE,
        leaseSeconds: config.LEASE_SECONDS,
        notFetchedSince: null,
        shouldStop: () => stopping,
      });
      if (totals.feeds > 0) logger.info({ ...totals }, 'poll tick done');
      return totals;
    } catch (err) {
      // Database down or restarting: log, keep the process, try again next tick.
      logger.error({ err: (err as Error).message }, 'poll tick failed');
      return null;
    }
  };

  const retention = async (): Promise<void> => {
    if (stopping) return;
    try {
      const olderThan = new Date(Date.now() - config.RETENTION_DAYS * 86400_000);
      const deleted = await deleteExpiredEntries(rt.db, { olderThan, batchSize: RETENTION_BATCH });
      if (deleted > 0) logger.info({ deleted, olderThan }, 'retention: old entries deleted');
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'retention job failed');
    }
  };

  const tracked = <T>(p: Promise<T>): Promise<T> => {
    current = Promise.allSettled([current, p]);
    return p;
  };

  const tasks: ScheduledTask[] = [
    cron.schedule(config.POLL_SCHEDULE, () => tracked(tick()), { name: 'poll', noOverlap: true, suppressMissedWarning: true }),
    cron.schedule(RETENTION_SCHEDULE, () => tracked(retention()), { name: 'retention', noOverlap: true, suppressMissedWarning: true }),
  ];
  const firstTick = tracked(retention().then(tick)).then(() => undefined);
  logger.info({ schedule: config.POLL_SCHEDULE, owner: rt.pollDeps.owner }, 'worker started');

  return {
    firstTick,
    async stop() {
      if (stopping) return;
      stopping = true;
      await Promise.all(tasks.map((t) => t.stop()));
      // In-flight fetches end by themselves within FETCH_TIMEOUT_MS; wait a little longer than that.
      const bound = config.FETCH_TIMEOUT_MS + 5000;
      await Promise.race([current, new Promise((r) => setTimeout(r, bound).unref())]);
      logger.info('worker stopped');
    },
  };
}
