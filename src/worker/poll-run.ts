import { retryWhileUnavailable } from '../store/db.ts';
import { claimDueFeeds, extendLeases, finishPollsUnchanged, releaseFeeds } from '../store/feed-polling.ts';
import { recordPolls, type PolledItems } from '../store/record-poll.ts';
import { retryOnConflict } from '../store/retry-conflict.ts';
import { groupCommit } from './group-commit.ts';
import { languageKey } from '../stories/normalise.ts';
import type { FeedRow } from '../store/feeds.ts';
import { dispatch } from './dispatcher.ts';
import { pollFeed, type FeedPollSummary, type PollDeps, type PollWrites } from './poll-feed.ts';

/** How a process polls: from the configuration (FETCH_CONCURRENCY, POLL_BATCH_SIZE, LEASE_SECONDS). */
export interface PollSettings {
  concurrency: number;
  batchSize: number;
  leaseSeconds: number;
}

export interface PollRunOptions extends PollSettings {
  /** null: due feeds. A time: every enabled feed not fetched since then. */
  notFetchedSince: Date | null;
  ids?: number[] | undefined;
  shouldStop?: () => boolean;
  onFeed?: (s: FeedPollSummary) => void;
  /** How long a claim keeps retrying while the database is unreachable (default 0: the run fails at once). */
  claimRetryMs?: number | undefined;
}

export interface PollTotals {
  feeds: number;
  ok: number;
  notModified: number;
  failed: number;
  /** Of the failed: the database failed under the poll (connection lost); the feed is polled again. */
  databaseErrors: number;
  /** Feeds polled again in this run after their poll failed on the database (each counted once above, by its last poll). */
  repolled: number;
  /** Not polled: their host is paused by a Retry-After. */
  skipped: number;
  leaseLost: number;
  inserted: number;
  linked: number;
  updated: number;
  durationMs: number;
}

/** A host paused for longer than this is handed back to the database instead of waited for. */
const MAX_HOST_WAIT_MS = 5000;
/**
 * Claim no more than this many times the concurrency: what can start soon, so a crash orphans few
 * feeds (their leases run out, LEASE_SECONDS). With 4, a warm 10,000-feed round made 2,179 claims of
 * ~5 feeds: the budget filled with feeds waiting for their host's spacing, every freed slot
 * claimed a few more, and those claims (one round trip each, in the dispatcher's loop) set the pace
 * (7.35 s). With 16: 444 claims, 4.90 s.
 */
const CLAIM_AHEAD = 16;
/** A feed whose poll failed on a database error is claimed again this many times in one run at most. */
const DATABASE_RETRIES = 1;
/** How long handing a lease back after a database error may retry (a terminated backend reconnects at once). */
const RELEASE_RETRY_MS = 3000;

/** Most outcomes one set-based write records. */
const MAX_WRITE_BATCH = 200;
/**
 * Most feeds' documents one ingest transaction stores. Per item the work is the same whatever the
 * batch; a larger one saves round trips but holds more documents and story candidates at once
 * (32 feeds' candidates were tens of MB in one result; 4 and 8 peaked alike).
 */
const MAX_INGEST_BATCH = 8;
/**
 * Two ingest transactions at once: one inserts its entries while the other holds the story lock
 * (stories-ingest.ts), so the database and this thread's story matching overlap; batches are of one
 * language each, so two batches of different languages never wait on each other's lock. One in
 * flight was slower and did not lower the peak RSS (README, Polling).
 */
const INGESTS_IN_FLIGHT = 2;

/** Claims feeds in batches and polls them until none is left to claim (or stop is asked). */
export async function runPolls(d: PollDeps, o: PollRunOptions): Promise<PollTotals> {
  const started = Date.now();
  const totals: PollTotals = {
    feeds: 0, ok: 0, notModified: 0, failed: 0, databaseErrors: 0, repolled: 0, skipped: 0, leaseLost: 0,
    inserted: 0, linked: 0, updated: 0, durationMs: 0,
  };
  const shouldStop = o.shouldStop ?? (() => false);
  // Feeds handed back (paused host, waited too long) or failing again must not be claimed again in
  // this run. A polled feed is left out by the claim's own condition (its next poll is ahead; with
  // `notFetchedSince` from the database's clock, its last fetch is after it), so it is listed only in
  // a run over given ids, whose cut-off may lie ahead of the poll (refresh). Listing every polled feed
  // made each claim of a 10,000-feed round send and test thousands of ids: quadratic in the round.
  const excluded: number[] = [];
  const listPolled = o.ids !== undefined;
  const databaseFailures = new Map<number, number>();
  // The last poll of each feed: one polled again after a database error counts once, as its retry.
  const lastPoll = new Map<number, FeedPollSummary>();
  const count = (s: FeedPollSummary) => {
    if (lastPoll.has(s.feedId)) totals.repolled++;
    lastPoll.set(s.feedId, s);
    o.onFeed?.(s);
  };
  const ids = (feeds: FeedRow[]) => feeds.map((f) => f.id);
  // Polls that finish close together are written together: one set-based statement per table.
  // Batches of one story language each: their story sections (a per-language lock) can then run
  // side by side; a batch of mixed languages held every language's lock. A feed without a declared
  // language counts as 'und' (its entries may still lock 'ar': that only waits, it is never wrong).
  const ingest = groupCommit(
    (polls: PolledItems[]) => recordPolls(d.db, polls),
    MAX_INGEST_BATCH,
    INGESTS_IN_FLIGHT,
    (p) => languageKey(p.feed.language, ''),
  );
  const writes: PollWrites = {
    unchanged: groupCommit((polls) => retryOnConflict(() => finishPollsUnchanged(d.db, polls)), MAX_WRITE_BATCH),
    items: async (p) => {
      const r = await ingest(p);
      if (r instanceof Error) throw r;
      return r;
    },
  };

  await dispatch<FeedRow>({
    concurrency: o.concurrency,
    gate: d.gate,
    hostOf: (f) => f.host,
    maxWaitMs: MAX_HOST_WAIT_MS,
    maxClaimed: o.concurrency * CLAIM_AHEAD,
    maxQueuedMs: (o.leaseSeconds * 1000) / 2,
    renew: async (feeds) => {
      const held = new Set(await extendLeases(d.db, ids(feeds), d.owner, o.leaseSeconds));
      return feeds.filter((f) => held.has(f.id));
    },
    // Well before the lease runs out, so one slow round trip never lets it lapse.
    renewEveryMs: (o.leaseSeconds * 1000) / 3,
    shouldStop,
    refill: (limit) =>
      shouldStop()
        ? Promise.resolve([])
        : retryWhileUnavailable(
            () =>
              claimDueFeeds(d.db, {
                owner: d.owner,
                limit: Math.min(o.batchSize, limit),
                leaseSeconds: o.leaseSeconds,
                notFetchedSince: o.notFetchedSince,
                ids: o.ids,
                excludeIds: excluded,
              }),
            { timeoutMs: o.claimRetryMs ?? 0 },
          ),
    defer: async (feeds, untilMs, reason) => {
      excluded.push(...ids(feeds));
      await retryWhileUnavailable(() => releaseFeeds(d.db, ids(feeds), d.owner, new Date(untilMs)), { timeoutMs: o.claimRetryMs ?? 0 });
      if (reason === 'host-paused') for (const f of feeds) count(hostPaused(f, new Date(untilMs)));
    },
    abandon: (feeds) => releaseFeeds(d.db, ids(feeds), d.owner, null),
    work: async (feed, release) => {
      const s = await pollFeed(d, feed, writes, release);
      count(s);
      // Polled once per run: a cut-off ahead of the poll's own time (refresh) or a feed polled again
      // before the run's next claim would otherwise be claimed again and again.
      if (s.errorKind !== 'database') {
        if (listPolled) excluded.push(feed.id);
        return;
      }
      // Nothing of this poll was stored: hand the lease back so the feed is polled again soon (in
      // this run, once). If the database is still gone, the lease runs out instead.
      const failures = (databaseFailures.get(feed.id) ?? 0) + 1;
      databaseFailures.set(feed.id, failures);
      if (failures > DATABASE_RETRIES) excluded.push(feed.id);
      await retryWhileUnavailable(() => releaseFeeds(d.db, [feed.id], d.owner, null), { timeoutMs: RELEASE_RETRY_MS }).catch(() => {
        excluded.push(feed.id);
      });
    },
  });
  for (const s of lastPoll.values()) {
    totals.feeds++;
    if (s.outcome === 'ok') totals.ok++;
    else if (s.outcome === 'not-modified' || s.outcome === 'unchanged') totals.notModified++;
    else if (s.outcome === 'lease-lost') totals.leaseLost++;
    else if (s.outcome === 'host-paused') totals.skipped++;
    else totals.failed++;
    if (s.errorKind === 'database') totals.databaseErrors++;
    totals.inserted += s.inserted;
    totals.linked += s.linked;
    totals.updated += s.updated;
  }
  totals.durationMs = Date.now() - started;
  return totals;
}

function hostPaused(feed: FeedRow, until: Date): FeedPollSummary {
  return {
    feedId: feed.id, url: feed.url, outcome: 'host-paused', status: null, inserted: 0, linked: 0, updated: 0, unchanged: 0,
    errorKind: null, error: `host ${feed.host} is paused by a Retry-After until ${until.toISOString()}`, nextPollAt: until, durationMs: 0,
  };
}
