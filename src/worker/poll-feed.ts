import { createHash } from 'node:crypto';
import { isDbUnavailable, type Db } from '../store/db.ts';
import type { FeedRow } from '../store/feeds.ts';
import { decodeItemDigests } from '../dedupe/item-digests.ts';
import type { ParseOptions } from '../parse/index.ts';
import type { Fetcher } from '../fetch/fetcher.ts';
import type { FetchFailed } from '../fetch/types.ts';
import type { ParsedFeed } from '../parse/types.ts';
import { FeedParseError } from '../parse/types.ts';
import type { IngestResult } from '../store/ingest.ts';
import { recordPolledItems, type PolledItems } from '../store/record-poll.ts';
import { finishPollFailure, finishPollUnchanged, pauseHost, type ClaimedFeed, type PollUnchanged } from '../store/feed-polling.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { HostGate } from './host-gate.ts';
import {
  errorBackoffSeconds,
  intervalFromPublishingRate,
  respectPublisherHints,
  withJitter,
  type IntervalBounds,
} from './schedule.ts';

export interface PollDeps {
  db: Db;
  fetcher: Fetcher;
  parse(text: string, opts: ParseOptions): Promise<ParsedFeed>;
  gate: HostGate;
  logger: Logger;
  metrics: Metrics;
  owner: string;
  bounds: IntervalBounds;
  giveUpDays: number;
  retentionDays: number;
  storyWindowSeconds: number;
  /** false: new entries get no story. Only bench/poll-child.ts sets it (BENCH_STORIES=off), to measure their cost. */
  assignStories?: boolean;
  now(): Date;
  random(): number;
  /**
   * Told after each poll that reached the feed (WebSub: hub pings, push subscriptions). `document`
   * is null when the feed did not change (304, same bytes). Must not throw or block.
   */
  afterPoll?: (p: { feed: FeedRow; document: ParsedFeed['feed'] | null; stored: IngestResult | null }) => void;
}

/** 'host-paused': not polled, its host is paused by a Retry-After (poll --once lists these). */
export type PollOutcome = 'ok' | 'not-modified' | 'unchanged' | 'error' | 'lease-lost' | 'host-paused';

export interface FeedPollSummary {
  feedId: number;
  url: string;
  outcome: PollOutcome;
  status: number | null;
  inserted: number;
  linked: number;
  updated: number;
  unchanged: number;
  errorKind: string | null;
  error: string | null;
  nextPollAt: Date | null;
  durationMs: number;
}

/** How many consecutive polls must see the same permanent redirect before the feed's URL changes. */
const MOVE_CONFIRMATIONS = 2;
const EMPTY: IngestResult = { inserted: 0, linked: 0, updated: 0, unchanged: 0, skippedOld: 0, tombstoned: 0 };

/**
 * Where a poll's outcome is written. A run (poll-run.ts) gathers the writes of polls that finish
 * close together into set-based statements; on its own a poll writes directly.
 */
export interface PollWrites {
  /** A 304 or an unchanged body; false when the lease was lost. */
  unchanged(p: PollUnchanged): Promise<boolean>;
  /** A parsed document: its items and the feed's new state in one transaction; null when the lease was lost. */
  items(p: PolledItems): Promise<IngestResult | null>;
}

export function directWrites(db: Db): PollWrites {
  return { unchanged: (p) => finishPollUnchanged(db, p), items: (p) => recordPolledItems(db, p) };
}

/**
 * Fetch → parse → store for one claimed feed. Never throws: every failure is recorded on the feed.
 * `release` is called once the fetch of a 304 or an unchanged body is over: recording it holds no
 * document, so the caller may start the next fetch while the group-committed write waits.
 */
export async function pollFeed(
  d: PollDeps,
  feed: ClaimedFeed,
  writes: PollWrites = directWrites(d.db),
  release: () => void = () => undefined,
): Promise<FeedPollSummary> {
  const started = Date.now();
  const summary = (outcome: PollOutcome, r: IngestResult, extra: Partial<FeedPollSummary>): FeedPollSummary => ({
    feedId: feed.id,
    url: feed.url,
    outcome,
    status: null,
    inserted: r.inserted,
    linked: r.linked,
    updated: r.updated,
    unchanged: r.unchanged,
    errorKind: null,
    error: null,
    nextPollAt: null,
    durationMs: Date.now() - started,
    ...extra,
  });

  try {
    const res = await d.fetcher.fetchFeed({ url: feed.url, etag: feed.etag, lastModified: feed.last_modified });
    d.metrics.fetchDuration.observe(res.durationMs / 1000);
    const now = d.now();

    if (res.kind === 'error') return await recordFailure(d, feed, res, started);

    const lastInterval = feed.poll_interval_s ?? d.bounds.minSeconds;
    const move = trackMove(feed, res.permanentRedirectTo);
    if (move.newUrl) d.logger.info({ feedId: feed.id, from: feed.url, to: move.newUrl }, 'feed moved permanently; updating its URL');
    if (res.kind === 'not-modified') {
      release();
      const interval = respectPublisherHints(lastInterval, [res.freshForSeconds], d.bounds);
      const nextPollAt = new Date(now.getTime() + withJitter(interval, d.random) * 1000);
      const held = await writes.unchanged({
        id: feed.id, owner: d.owner, status: 304, etag: res.etag, lastModified: res.lastModified,
        intervalSeconds: interval, nextPollAt, ...move,
      });
      d.metrics.polls.inc({ outcome: 'not_modified' });
      if (held) d.afterPoll?.({ feed, document: null, stored: null });
      return summary(held ? 'not-modified' : 'lease-lost', EMPTY, { status: 304, nextPollAt });
    }

    const bodyHash = createHash('sha256').update(res.text).digest('hex');
    if (bodyHash === feed.body_hash) {
      // Same bytes as last time though the server sent no 304: nothing can have changed.
      release();
      const interval = respectPublisherHints(lastInterval, [res.freshForSeconds], d.bounds);
      const nextPollAt = new Date(now.getTime() + withJitter(interval, d.random) * 1000);
      const held = await writes.unchanged({
        id: feed.id, owner: d.owner, status: res.status, etag: res.etag, lastModified: res.lastModified,
        intervalSeconds: interval, nextPollAt, ...move,
      });
      d.metrics.polls.inc({ outcome: 'not_modified' });
      if (held) d.afterPoll?.({ feed, document: null, stored: null });
      return summary(held ? 'unchanged' : 'lease-lost', EMPTY, { status: res.status, nextPollAt });
    }

    // Items of the last stored document whose raw form has not changed are not normalised again.
    const priorDigests = feed.item_digests ?? null;
    let parsed: ParsedFeed;
    try {
      parsed = await d.parse(res.text, { baseUrl: res.finalUrl, knownItems: [...decodeItemDigests(priorDigests).keys()] });
    } catch (err) {
      const message =
        err instanceof FeedParseError
          ? err.message
          : `could not parse the feed: ${err instanceof Error ? err.message : String(err)}`;
      return await recordFailure(d, feed, { errorKind: 'parse', status: res.status, message, retryAfterSeconds: null }, started);
    }

    const published = [...parsed.items.map((i) => i.published), ...(parsed.digests?.unchanged ?? []).map((u) => u.published)];
    const rate = intervalFromPublishingRate(published, now, d.bounds);
    const interval = respectPublisherHints(rate, [res.freshForSeconds, parsed.feed.ttl_seconds], d.bounds);
    const nextPollAt = new Date(now.getTime() + withJitter(interval, d.random) * 1000);
    const language = parsed.feed.language ?? null;

    // Entries and the feed's new validators in one transaction (src/store), the change sequence after commit.
    const outcome = await writes.items({
      feed: { id: feed.id, language: feed.language ?? language },
      items: parsed.items,
      digests: parsed.digests && { ...parsed.digests, prior: priorDigests },
      ingest: { now, retentionDays: d.retentionDays, storyWindowSeconds: d.storyWindowSeconds, assignStories: d.assignStories },
      poll: {
        id: feed.id, owner: d.owner, status: res.status, etag: res.etag, lastModified: res.lastModified, bodyHash,
        title: parsed.feed.title, siteUrl: parsed.feed.link, language, intervalSeconds: interval, nextPollAt,
        movedTo: move.movedTo, movedSeen: move.movedSeen, newUrl: move.newUrl,
      },
    });
    if (!outcome) return summary('lease-lost', EMPTY, { status: res.status });
    d.afterPoll?.({ feed, document: parsed.feed, stored: outcome });

    d.metrics.polls.inc({ outcome: 'ok' });
    if (outcome.inserted) d.metrics.entriesIngested.inc({ effect: 'inserted' }, outcome.inserted);
    if (outcome.linked) d.metrics.entriesIngested.inc({ effect: 'linked' }, outcome.linked);
    if (outcome.updated) d.metrics.entriesIngested.inc({ effect: 'updated' }, outcome.updated);
    return summary('ok', outcome, { status: res.status, nextPollAt });
  } catch (err) {
    if (isDbUnavailable(err)) {
      // The database went away under this poll. Its entries and validators are one transaction, so
      // they were stored whole or not at all; polling again is harmless either way (dedupe). The
      // caller hands the lease back (or it runs out) and logs once for the whole run.
      d.metrics.polls.inc({ outcome: 'error' });
      return summary('error', EMPTY, { errorKind: 'database', error: `database unavailable: ${(err as Error).message}` });
    }
    // A bug: the lease expires and the feed is retried.
    d.logger.error({ err, feedId: feed.id }, 'poll failed unexpectedly');
    d.metrics.polls.inc({ outcome: 'error' });
    return summary('error', EMPTY, {
      errorKind: 'internal',
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

function trackMove(feed: FeedRow, target: string | null): { movedTo: string | null; movedSeen: number; newUrl: string | null } {
  if (!target || target === feed.url) return { movedTo: null, movedSeen: 0, newUrl: null };
  const seen = feed.moved_to === target ? feed.moved_seen + 1 : 1;
  if (seen >= MOVE_CONFIRMATIONS) return { movedTo: null, movedSeen: 0, newUrl: target };
  return { movedTo: target, movedSeen: seen, newUrl: null };
}

interface Failure {
  errorKind: FetchFailed['errorKind'] | 'parse';
  status: number | null;
  message: string;
  retryAfterSeconds: number | null;
}

async function recordFailure(d: PollDeps, feed: FeedRow, res: Failure, started: number): Promise<FeedPollSummary> {
  const now = d.now();
  const errorCount = feed.error_count + 1;
  let waitSeconds = errorBackoffSeconds(errorCount, d.bounds, d.random);
  if (res.retryAfterSeconds !== null) {
    const retryAfter = Math.min(res.retryAfterSeconds, d.bounds.maxSeconds);
    waitSeconds = Math.max(waitSeconds, retryAfter);
    const until = new Date(now.getTime() + retryAfter * 1000);
    d.gate.pause(feed.host, until.getTime());
    await pauseHost(d.db, feed.host, until);
  }
  const nextPollAt = new Date(now.getTime() + waitSeconds * 1000);
  const failingSince = feed.first_error_at ?? now;
  let disableReason: string | null = null;
  if (res.status === 410) disableReason = 'the server answered 410 Gone: the feed was removed';
  else if (now.getTime() - failingSince.getTime() >= d.giveUpDays * 86400_000) {
    disableReason = `failing for ${d.giveUpDays} days; last error: ${res.message}`;
  }
  const held = await finishPollFailure(d.db, {
    id: feed.id, owner: d.owner, status: res.status, errorKind: res.errorKind, message: res.message,
    nextPollAt, disableReason,
  });
  d.metrics.polls.inc({ outcome: 'error' });
  d.metrics.fetchErrors.inc({ kind: res.errorKind });
  d.logger.warn({ feedId: feed.id, url: feed.url, kind: res.errorKind, status: res.status, disabled: Boolean(disableReason) }, res.message);
  return {
    feedId: feed.id,
    url: feed.url,
    outcome: held ? 'error' : 'lease-lost',
    status: res.status,
    inserted: 0,
    linked: 0,
    updated: 0,
    unchanged: 0,
    errorKind: res.errorKind,
    error: disableReason ? `${res.message} (feed disabled)` : res.message,
    nextPollAt,
    durationMs: Date.now() - started,
  };
}
