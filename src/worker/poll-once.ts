import { databaseNow } from '../store/feed-polling.ts';
import { runPolls, type PollSettings, type PollTotals } from './poll-run.ts';
import type { FeedPollSummary, PollDeps } from './poll-feed.ts';

export type { PollTotals, FeedPollSummary };

/** What polling needs from the process: its dependencies and settings (the runtime provides both). */
export interface Poller {
  pollDeps: PollDeps;
  pollSettings: PollSettings;
}

export interface PollOnceOptions {
  all: boolean;
  onFeed?: ((s: FeedPollSummary) => void) | undefined;
  shouldStop?: (() => boolean) | undefined;
  /** How long to wait for an unreachable database before giving up the run (DB_CONNECT_TIMEOUT). */
  databaseWaitMs?: number | undefined;
}

/** `poll --once`: every due feed (with `all`, every enabled feed) polled once. */
export async function pollOnce(p: Poller, opts: PollOnceOptions): Promise<PollTotals> {
  return runPolls(p.pollDeps, {
    ...p.pollSettings,
    // The database's clock, which stamps last_fetched_at: a feed polled in this run is then never
    // "not fetched since" its start, whatever the two clocks say.
    notFetchedSince: opts.all ? await databaseNow(p.pollDeps.db) : null,
    onFeed: opts.onFeed,
    shouldStop: opts.shouldStop,
    claimRetryMs: opts.databaseWaitMs,
  });
}

/** Polls one feed now, due or not (POST /api/feeds/:id/refresh); null when another worker holds it. */
export async function refreshFeed(p: Poller, feedId: number): Promise<FeedPollSummary | null> {
  let result: FeedPollSummary | null = null;
  await runPolls(p.pollDeps, {
    concurrency: 1,
    batchSize: 1,
    leaseSeconds: p.pollSettings.leaseSeconds,
    notFetchedSince: new Date(Date.now() + 1000),
    ids: [feedId],
    onFeed: (s) => {
      result = s;
    },
  });
  return result;
}
