/**
 * WebSub state (sql/008): our subscriptions at publishers' hubs, and the publisher's per-topic
 * ping debounce. One function per statement; the lifecycle rules live in src/websub.
 */
import type { Db, Queryable } from './db.ts';

export type SubscriptionState = 'pending' | 'subscribed' | 'failed' | 'expired';

export interface SubscriptionRow {
  feed_id: number;
  hub: string;
  topic: string;
  token: string;
  secret: string;
  state: SubscriptionState;
  pending_mode: 'subscribe' | 'unsubscribe' | null;
  pending_since: Date | null;
  lease_seconds: number | null;
  expires_at: Date | null;
  ending: boolean;
  attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
}

const COLUMNS = `feed_id, hub, topic, token, secret, state, pending_mode, pending_since, lease_seconds, expires_at,
  ending, attempts, next_attempt_at, last_error`;

export async function getSubscription(q: Queryable, feedId: number): Promise<SubscriptionRow | null> {
  const r = await q.query<SubscriptionRow>(`select ${COLUMNS} from websub_subscriptions where feed_id = $1`, [feedId]);
  return r.rows[0] ?? null;
}

/** Push state of every feed that has a subscription row (for /api/feeds). */
export async function listSubscriptions(q: Queryable, feedIds?: number[]): Promise<SubscriptionRow[]> {
  const r = await q.query<SubscriptionRow>(
    `select ${COLUMNS} from websub_subscriptions where $1::int[] is null or feed_id = any($1::int[])`,
    [feedIds ?? null],
  );
  return r.rows;
}

export interface SubscribeIntent {
  feedId: number;
  hub: string;
  topic: string;
  /** Used when the row is new or names another hub/topic; a renewal keeps the row's own. */
  token: string;
  secret: string;
  leaseSeconds: number;
  now: Date;
  /** Until then the hub may verify; after it the maintenance job retries. */
  verifyBy: Date;
}

/**
 * Records that a subscribe request is about to be sent (before sending: a hub may verify before it
 * even answers the POST). A live subscription stays 'subscribed' while its renewal is pending.
 */
export async function markSubscribePending(q: Queryable, i: SubscribeIntent): Promise<SubscriptionRow> {
  const r = await q.query<SubscriptionRow>(
    `insert into websub_subscriptions as s
       (feed_id, hub, topic, token, secret, state, pending_mode, pending_since, lease_seconds, next_attempt_at, updated_at)
     values ($1::int, $2::text, $3::text, $4::text, $5::text, 'pending', 'subscribe', $7::timestamptz, $6::int, $8::timestamptz, $7::timestamptz)
     on conflict (feed_id) do update set
       token = case when s.hub = excluded.hub and s.topic = excluded.topic then s.token else excluded.token end,
       secret = case when s.hub = excluded.hub and s.topic = excluded.topic then s.secret else excluded.secret end,
       state = case when s.hub = excluded.hub and s.topic = excluded.topic and s.state = 'subscribed' and s.expires_at > $7
                    then 'subscribed' else 'pending' end,
       expires_at = case when s.hub = excluded.hub and s.topic = excluded.topic then s.expires_at end,
       hub = excluded.hub, topic = excluded.topic,
       pending_mode = 'subscribe', pending_since = $7, lease_seconds = $6, ending = false,
       next_attempt_at = $8, updated_at = $7
     returning ${COLUMNS}`,
    [i.feedId, i.hub, i.topic, i.token, i.secret, i.leaseSeconds, i.now, i.verifyBy],
  );
  return r.rows[0]!;
}

/** Marks the subscription as ending (feed removed or disabled) and an unsubscribe as pending. */
export async function markUnsubscribePending(q: Queryable, feedId: number, now: Date, verifyBy: Date): Promise<SubscriptionRow | null> {
  const r = await q.query<SubscriptionRow>(
    `update websub_subscriptions set ending = true, pending_mode = 'unsubscribe', pending_since = $2,
       next_attempt_at = $3, updated_at = $2
     where feed_id = $1
     returning ${COLUMNS}`,
    [feedId, now, verifyBy],
  );
  return r.rows[0] ?? null;
}

/** The hub did not take the request: recorded, retried at `retryAt`. A lease still running stays live. */
export async function recordRequestFailure(
  q: Queryable,
  feedId: number,
  token: string,
  mode: 'subscribe' | 'unsubscribe',
  error: string,
  now: Date,
  retryAt: Date,
): Promise<void> {
  await q.query(
    `update websub_subscriptions set
       state = case when $3 = 'unsubscribe' or (state = 'subscribed' and expires_at > $5) then state else 'failed' end,
       pending_mode = null, pending_since = null, attempts = attempts + 1, last_error = $4,
       next_attempt_at = $6, updated_at = $5
     where feed_id = $1 and token = $2 and pending_mode = $3`,
    [feedId, token, mode, error.slice(0, 500), now, retryAt],
  );
}

export interface VerifiedSubscription {
  feedId: number;
  token: string;
  topic: string;
  leaseSeconds: number | null;
  now: Date;
  /** When to renew (before the lease ends). */
  renewAt: (leaseSeconds: number) => Date;
  /** POLL_MAX_INTERVAL: a live subscription's feed is polled only this often. */
  pollMaxSeconds: number;
}

/**
 * Intent verification of a subscribe: only a pending one with this token and topic. The feed's next
 * poll moves out to POLL_MAX_INTERVAL in the same transaction.
 */
export async function confirmSubscribe(db: Db, v: VerifiedSubscription): Promise<boolean> {
  return db.transaction(async (tx) => {
    const row = await tx.query<{ lease_seconds: number | null }>(
      `select lease_seconds from websub_subscriptions
       where feed_id = $1 and token = $2 and topic = $3 and pending_mode = 'subscribe' and not ending
       for update`,
      [v.feedId, v.token, v.topic],
    );
    if (!row.rows[0]) return false;
    const lease = v.leaseSeconds ?? row.rows[0].lease_seconds ?? 86400;
    await tx.query(
      `update websub_subscriptions set state = 'subscribed', pending_mode = null, pending_since = null,
         lease_seconds = $2::int, expires_at = $3::timestamptz + make_interval(secs => $2::int), attempts = 0, last_error = null,
         next_attempt_at = $4, updated_at = $3
       where feed_id = $1`,
      [v.feedId, lease, v.now, v.renewAt(lease)],
    );
    await holdPolling(tx, v.feedId, v.pollMaxSeconds);
    return true;
  });
}

/** Intent verification of an unsubscribe: the row goes. */
export async function confirmUnsubscribe(q: Queryable, feedId: number, token: string, topic: string): Promise<boolean> {
  const r = await q.query(
    `delete from websub_subscriptions where feed_id = $1 and token = $2 and topic = $3 and pending_mode = 'unsubscribe'`,
    [feedId, token, topic],
  );
  return r.rowCount > 0;
}

/** hub.mode=denied: the hub refused (or later cancelled) the subscription. */
export async function recordDenied(q: Queryable, feedId: number, token: string, topic: string, reason: string, now: Date, retryAt: Date): Promise<boolean> {
  const r = await q.query(
    `update websub_subscriptions set state = 'failed', pending_mode = null, pending_since = null, expires_at = null,
       attempts = attempts + 1, last_error = $4, next_attempt_at = $6, updated_at = $5
     where feed_id = $1 and token = $2 and topic = $3 and not ending`,
    [feedId, token, topic, reason.slice(0, 500), now, retryAt],
  );
  return r.rowCount > 0;
}

/** While pushed, a feed is polled at POLL_MAX_INTERVAL only (a safety net). */
export async function holdPolling(q: Queryable, feedId: number, pollMaxSeconds: number): Promise<void> {
  await q.query(
    `update feeds set next_poll_at = greatest(next_poll_at, coalesce(last_fetched_at, now()) + make_interval(secs => $2::int))
     where id = $1`,
    [feedId, Math.round(pollMaxSeconds)],
  );
}

/**
 * Subscriptions whose lease ran out become 'expired', and their feeds are due at once: adaptive
 * polling resumes. Answers the feed ids.
 */
export async function expireLapsed(db: Db, now: Date): Promise<number[]> {
  return db.transaction(async (tx) => {
    const r = await tx.query<{ feed_id: number }>(
      `update websub_subscriptions set state = 'expired', updated_at = $1
       where state = 'subscribed' and expires_at <= $1
       returning feed_id`,
      [now],
    );
    const ids = r.rows.map((row) => row.feed_id);
    if (ids.length > 0) await tx.query(`update feeds set next_poll_at = least(next_poll_at, $2) where id = any($1::int[])`, [ids, now]);
    return ids;
  });
}

/** Rows of feeds that are gone or disabled are marked as ending (a 410 or giving up disables feeds in the worker). */
export async function markOrphansEnding(q: Queryable, now: Date): Promise<number> {
  const r = await q.query(
    `update websub_subscriptions s set ending = true, next_attempt_at = $1, updated_at = $1
     where not s.ending and not exists (select 1 from feeds f where f.id = s.feed_id and f.enabled)`,
    [now],
  );
  return r.rowCount;
}

export interface DueSubscription extends SubscriptionRow {
  /** The feed exists and is enabled. */
  feed_live: boolean;
}

/**
 * Claims rows whose next step is due (renewal, retry, verification timed out, unsubscribe), pushing
 * their next attempt out by `holdSeconds` so other processes skip them meanwhile.
 */
export async function claimDueSubscriptions(q: Queryable, now: Date, limit: number, holdSeconds: number): Promise<DueSubscription[]> {
  const r = await q.query<DueSubscription>(
    `with due as (
       select feed_id from websub_subscriptions
       where next_attempt_at <= $1
       order by next_attempt_at
       limit $2
       for update skip locked
     )
     update websub_subscriptions s set next_attempt_at = $1::timestamptz + make_interval(secs => $3::int)
     from due where s.feed_id = due.feed_id
     returning ${COLUMNS.split(',').map((c) => `s.${c.trim()}`).join(', ')},
       exists (select 1 from feeds f where f.id = s.feed_id and f.enabled) as feed_live`,
    [now, limit, holdSeconds],
  );
  return r.rows;
}

export async function deleteSubscription(q: Queryable, feedId: number): Promise<void> {
  await q.query(`delete from websub_subscriptions where feed_id = $1`, [feedId]);
}

/**
 * Takes the ping slot of each topic whose last ping is at least `intervalSeconds` old (or never
 * was): one conditional upsert, so across processes at most one wins a topic per interval.
 * Answers the topics this caller may ping now.
 */
export async function claimPingSlots(q: Queryable, topics: string[], now: Date, intervalSeconds: number): Promise<string[]> {
  if (topics.length === 0) return [];
  const r = await q.query<{ topic: string }>(
    `insert into websub_pings as p (topic, last_ping_at)
     select t, $2::timestamptz from unnest($1::text[]) as t
     on conflict (topic) do update set last_ping_at = excluded.last_ping_at
       where p.last_ping_at <= $2::timestamptz - make_interval(secs => $3::int)
     returning p.topic`,
    [topics, now, intervalSeconds],
  );
  return r.rows.map((row) => row.topic);
}
