import type { Runtime } from '../runtime.ts';
import { runPolls, type PollTotals } from './poll-run.ts';
import type { FeedPollSummary } from './poll-feed.ts';

export type { PollTotals, FeedPollSummary };

/** `poll --once`: every due feed (with `all`, every enabled feed) polled once. */
export async function pollOnce(
  rt: Runtime,
  opts: { all: boolean; onFeed?: (s: FeedPollSummary) => void; shouldStop?: () => boolean },
): Promise<PollTotals> {
  return runPolls(rt.pollDeps, {
    concurrency: rt.config.FETCH_CONCURRENCY,
    batchSize: rt.config.POLL_BATCH_SIZE,
    leaseSeconds: rt.config.LEASE_SECONDS,
    notFetchedSince: opts.all ? new Date() : null,
    onFeed: opts.onFeed,
    shouldStop: opts.shouldStop,
  });
}

/** Polls one feed now, due or not (POST /api/feeds/:id/refresh); null when another worker holds it. */
export async function refreshFeed(rt: Runtime, feedId: number): Promise<FeedPollSummary | null> {
  let result: FeedPollSummary | null = null;
  await runPolls(rt.pollDeps, {
    concurrency: 1,
    batchSize: 1,
    leaseSeconds: rt.config.LEASE_SECONDS,
    notFetchedSince: new Date(Date.now() + 1000),
    ids: [feedId],
    onFeed: (s) => {
      result = s;
    },
  });
  return result;
}
