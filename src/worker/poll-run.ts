import { claimDueFeeds, releaseFeeds } from '../store/feed-polling.ts';
import type { FeedRow } from '../store/feeds.ts';
import { dispatch } from './dispatcher.ts';
import { pollFeed, type FeedPollSummary, type PollDeps } from './poll-feed.ts';

export interface PollRunOptions {
  concurrency: number;
  batchSize: number;
  leaseSeconds: number;
  /** null: due feeds. A time: every enabled feed not fetched since then. */
  notFetchedSince: Date | null;
  ids?: number[] | undefined;
  shouldStop?: () => boolean;
  onFeed?: (s: FeedPollSummary) => void;
}

export interface PollTotals {
  feeds: number;
  ok: number;
  notModified: number;
  failed: number;
  leaseLost: number;
  inserted: number;
  linked: number;
  updated: number;
  durationMs: number;
}

/** A host paused for longer than this is handed back to the database instead of waited for. */
const MAX_HOST_WAIT_MS = 5000;

/** Claims feeds in batches and polls them until none is left to claim (or stop is asked). */
export async function runPolls(d: PollDeps, o: PollRunOptions): Promise<PollTotals> {
  const started = Date.now();
  const totals: PollTotals = { feeds: 0, ok: 0, notModified: 0, failed: 0, leaseLost: 0, inserted: 0, linked: 0, updated: 0, durationMs: 0 };
  const shouldStop = o.shouldStop ?? (() => false);
  // Feeds handed back because their host is paused must not be claimed again in this run.
  const handedBack: number[] = [];
  await dispatch<FeedRow>({
    concurrency: o.concurrency,
    gate: d.gate,
    hostOf: (f) => f.host,
    maxWaitMs: MAX_HOST_WAIT_MS,
    // Enough look-ahead that per-host spacing on some hosts leaves no slot idle while others are free.
    maxQueued: Math.max(o.concurrency * 8, o.batchSize * 4),
    // Half the lease: a feed still queued then is handed back before another worker could take it.
    maxQueuedMs: (o.leaseSeconds * 1000) / 2,
    shouldStop,
    refill: () =>
      shouldStop()
        ? Promise.resolve([])
        : claimDueFeeds(d.db, {
            owner: d.owner,
            limit: o.batchSize,
            leaseSeconds: o.leaseSeconds,
            notFetchedSince: o.notFetchedSince,
            ids: o.ids,
            excludeIds: handedBack,
          }),
    defer: (feeds, untilMs) => {
      handedBack.push(...feeds.map((f) => f.id));
      return releaseFeeds(d.db, feeds.map((f) => f.id), d.owner, new Date(untilMs));
    },
    abandon: (feeds) => releaseFeeds(d.db, feeds.map((f) => f.id), d.owner, null),
    work: async (feed) => {
      const s = await pollFeed(d, feed);
      totals.feeds++;
      if (s.outcome === 'ok') totals.ok++;
      else if (s.outcome === 'not-modified' || s.outcome === 'unchanged') totals.notModified++;
      else if (s.outcome === 'lease-lost') totals.leaseLost++;
      else totals.failed++;
      totals.inserted += s.inserted;
      totals.linked += s.linked;
      totals.updated += s.updated;
      o.onFeed?.(s);
    },
  });
  totals.durationMs = Date.now() - started;
  return totals;
}
