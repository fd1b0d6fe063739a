/**
 * The polling state of `feeds`: claiming due feeds under a lease, and recording each poll's result.
 * Every "finish" statement checks the lease owner, so a worker whose lease expired and was taken by
 * another cannot overwrite that worker's result.
 */
import type { Queryable } from './db.ts';
import { FEED_COLUMNS, type FeedRow } from './feeds.ts';

export interface ClaimOptions {
  owner: string;
  limit: number;
  leaseSeconds: number;
  /** null: feeds whose next poll time has come. A time: every enabled feed not fetched since then (`poll --once --all`). */
  notFetchedSince: Date | null;
  /** Restrict to these feeds (refresh). */
  ids?: number[] | undefined;
  /** Never these (feeds this run handed back because their host is paused). */
  excludeIds?: number[] | undefined;
}

/** The database's current time (the clock of last_fetched_at and leases). */
export async function databaseNow(q: Queryable): Promise<Date> {
  const r = await q.query<{ now: Date | string }>(`select now() as now`);
  return new Date(r.rows[0]!.now);
}

/** A claimed feed, with the record of its last stored document (src/dedupe/item-digests.ts). */
export interface ClaimedFeed extends FeedRow {
  item_digests?: string | null;
}

/** Claims due feeds; concurrent claimers skip each other's rows instead of waiting (SKIP LOCKED). */
export async function claimDueFeeds(q: Queryable, o: ClaimOptions): Promise<ClaimedFeed[]> {
  const r = await q.query<ClaimedFeed>(
    `with due as (
       select id from feeds
       where enabled
         and (lease_until is null or lease_until < now())
         and (case when $4::timestamptz is null then next_poll_at <= now()
                   else (last_fetched_at is null or last_fetched_at < $4::timestamptz) end)
         and ($5::int[] is null or id = any($5::int[]))
         and not (id = any($6::int[]))
       order by next_poll_at, id
       limit $2
       for update skip locked
     )
     update feeds as f set lease_owner = $1, lease_until = now() + make_interval(secs => $3)
     from due where f.id = due.id
     returning ${FEED_COLUMNS}, (select d.digests from feed_item_digests d where d.feed_id = f.id) as item_digests`,
    [o.owner, o.limit, o.leaseSeconds, o.notFetchedSince, o.ids ?? null, o.excludeIds ?? []],
  );
  return r.rows;
}

export interface PollSuccess {
  id: number;
  owner: string;
  status: number;
  etag: string | null;
  lastModified: string | null;
  bodyHash: string | null;
  title: string | null;
  siteUrl: string | null;
  language: string | null;
  intervalSeconds: number;
  nextPollAt: Date;
  movedTo: string | null;
  movedSeen: number;
  /** Set when a permanent move is confirmed: the feed's URL becomes this. */
  newUrl: string | null;
}

/** Records a fetched-and-stored poll; false when the lease was lost (the caller rolls back). */
export async function finishPollSuccess(q: Queryable, p: PollSuccess): Promise<boolean> {
  const r = await q.query(
    `update feeds set
       etag = $3, last_modified = $4, body_hash = coalesce($5, body_hash),
       title = coalesce($6, title), site_url = coalesce($7, site_url), language = coalesce(language, $8),
       last_fetched_at = now(), last_status = $9, last_error = null, last_error_kind = null,
       error_count = 0, first_error_at = null, poll_interval_s = $10, next_poll_at = $11,
       moved_to = $12, moved_seen = $13,
       url = coalesce($14, url), host = coalesce($15, host),
       lease_owner = null, lease_until = null
     where id = $1 and lease_owner = $2
       and ($14::text is null or not exists (select 1 from feeds o where o.url = $14 and o.id <> $1))`,
    [
      p.id, p.owner, p.etag, p.lastModified, p.bodyHash, p.title, p.siteUrl, p.language, p.status,
      p.intervalSeconds, p.nextPollAt, p.movedTo, p.movedSeen, p.newUrl, p.newUrl ? new URL(p.newUrl).host.toLowerCase() : null,
    ],
  );
  if (r.rowCount > 0 || !p.newUrl) return r.rowCount > 0;
  // The new URL belongs to another feed already: record the move without taking over its URL.
  return finishPollSuccess(q, { ...p, newUrl: null });
}

const FINISH_SUCCESS_BATCH = `
update feeds f set
  etag = x.etag, last_modified = x.last_modified, body_hash = coalesce(x.body_hash, f.body_hash),
  title = coalesce(x.title, f.title), site_url = coalesce(x.site_url, f.site_url), language = coalesce(f.language, x.language),
  last_fetched_at = now(), last_status = x.status, last_error = null, last_error_kind = null,
  error_count = 0, first_error_at = null, poll_interval_s = x.interval_s, next_poll_at = x.next_poll_at,
  moved_to = x.moved_to, moved_seen = x.moved_seen,
  lease_owner = null, lease_until = null
from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::int[], $10::int[], $11::timestamptz[], $12::text[], $13::int[])
  as x(id, owner, etag, last_modified, body_hash, title, site_url, language, status, interval_s, next_poll_at, moved_to, moved_seen)
where f.id = x.id and f.lease_owner = x.owner
returning f.id`;

/**
 * finishPollSuccess for many feeds in one statement; answers, per poll in order, whether its lease
 * was held. Confirmed moves (newUrl) go one by one, as their new URL may belong to another feed.
 */
export function finishPollsSuccess(q: Queryable, polls: readonly PollSuccess[]): Promise<boolean[]> {
  return finishInOneStatement(q, polls, (plain) => [
    plain.map((p) => p.id),
    plain.map((p) => p.owner),
    plain.map((p) => p.etag),
    plain.map((p) => p.lastModified),
    plain.map((p) => p.bodyHash),
    plain.map((p) => p.title),
    plain.map((p) => p.siteUrl),
    plain.map((p) => p.language),
    plain.map((p) => p.status),
    plain.map((p) => p.intervalSeconds),
    plain.map((p) => p.nextPollAt.toISOString()),
    plain.map((p) => p.movedTo),
    plain.map((p) => p.movedSeen),
  ], FINISH_SUCCESS_BATCH, finishPollSuccess);
}

/**
 * Runs a batch finish statement (`sql`, whose rows are the feeds whose lease was still held) for the
 * polls without a confirmed move, and `one` for each move; answers per poll, in order, whether its
 * lease was held. A move's new URL may belong to another feed, so moves cannot share the statement.
 */
async function finishInOneStatement<P extends { id: number; newUrl?: string | null | undefined }>(
  q: Queryable,
  polls: readonly P[],
  params: (plain: P[]) => unknown[],
  sql: string,
  one: (q: Queryable, p: P) => Promise<boolean>,
): Promise<boolean[]> {
  const plain = polls.filter((p) => !p.newUrl);
  const held = new Set<number>();
  if (plain.length > 0) {
    const r = await q.query<{ id: number }>(sql, params(plain));
    for (const row of r.rows) held.add(Number(row.id));
  }
  const moved = new Map<P, boolean>();
  for (const p of polls) if (p.newUrl) moved.set(p, await one(q, p));
  return polls.map((p) => moved.get(p) ?? held.has(p.id));
}

const LOCK_HELD_LEASES = `
select f.id from feeds f
join unnest($1::int[], $2::text[]) as x(id, owner) on f.id = x.id and f.lease_owner = x.owner
order by f.id
for update of f`;

/**
 * Of these (feed, owner) leases, the ids still held, locked until the transaction ends: no other
 * worker can take them meanwhile (claims skip locked rows), so what is written for them under the
 * lock is finished with the lease still held. Locks go in id order, so two batches never deadlock here.
 */
export async function lockHeldLeases(q: Queryable, leases: ReadonlyArray<{ id: number; owner: string }>): Promise<Set<number>> {
  if (leases.length === 0) return new Set();
  const r = await q.query<{ id: number }>(LOCK_HELD_LEASES, [leases.map((l) => l.id), leases.map((l) => l.owner)]);
  return new Set(r.rows.map((row) => Number(row.id)));
}

export interface PollFailure {
  id: number;
  owner: string;
  status: number | null;
  errorKind: string;
  message: string;
  nextPollAt: Date;
  /** A reason to disable the feed (410 Gone, failing for too long), else null. */
  disableReason: string | null;
}

export async function finishPollFailure(q: Queryable, p: PollFailure): Promise<boolean> {
  const r = await q.query(
    `update feeds set
       last_fetched_at = now(), last_status = $3, last_error = $4, last_error_kind = $5,
       error_count = error_count + 1, first_error_at = coalesce(first_error_at, now()),
       next_poll_at = $6,
       enabled = case when $7::text is null then enabled else false end,
       disabled_reason = coalesce($7, disabled_reason),
       lease_owner = null, lease_until = null
     where id = $1 and lease_owner = $2`,
    [p.id, p.owner, p.status, p.message.slice(0, 2000), p.errorKind, p.nextPollAt, p.disableReason],
  );
  return r.rowCount > 0;
}

export interface PollUnchanged {
  id: number;
  owner: string;
  status: number;
  etag: string | null;
  lastModified: string | null;
  intervalSeconds: number;
  nextPollAt: Date;
  movedTo: string | null;
  movedSeen: number;
  newUrl: string | null;
}

/** A 304, or a 200 whose body hash did not change: nothing to store but the poll itself. */
export async function finishPollUnchanged(q: Queryable, p: PollUnchanged): Promise<boolean> {
  const r = await q.query(
    `update feeds set
       etag = coalesce($3, etag), last_modified = coalesce($4, last_modified),
       last_fetched_at = now(), last_status = $5, last_error = null, last_error_kind = null,
       error_count = 0, first_error_at = null, poll_interval_s = $6, next_poll_at = $7,
       moved_to = $8, moved_seen = $9, url = coalesce($10, url), host = coalesce($11, host),
       lease_owner = null, lease_until = null
     where id = $1 and lease_owner = $2
       and ($10::text is null or not exists (select 1 from feeds o where o.url = $10 and o.id <> $1))`,
    [
      p.id, p.owner, p.etag, p.lastModified, p.status, p.intervalSeconds, p.nextPollAt,
      p.movedTo, p.movedSeen, p.newUrl, p.newUrl ? new URL(p.newUrl).host.toLowerCase() : null,
    ],
  );
  if (r.rowCount > 0 || !p.newUrl) return r.rowCount > 0;
  return finishPollUnchanged(q, { ...p, newUrl: null });
}

const FINISH_UNCHANGED_BATCH = `
update feeds f set
  etag = coalesce(x.etag, f.etag), last_modified = coalesce(x.last_modified, f.last_modified),
  last_fetched_at = now(), last_status = x.status, last_error = null, last_error_kind = null,
  error_count = 0, first_error_at = null, poll_interval_s = x.interval_s, next_poll_at = x.next_poll_at,
  moved_to = x.moved_to, moved_seen = x.moved_seen,
  lease_owner = null, lease_until = null
from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::timestamptz[], $8::text[], $9::int[])
  as x(id, owner, etag, last_modified, status, interval_s, next_poll_at, moved_to, moved_seen)
where f.id = x.id and f.lease_owner = x.owner
returning f.id`;

/**
 * finishPollUnchanged for many feeds in one statement (a warm round is mostly 304s: one UPDATE per
 * feed was most of its cost). Answers, per poll in order, whether its lease was still held; a feed
 * whose lease another worker took is left as that worker wrote it. A confirmed move (newUrl) may
 * collide with another feed's URL, so those go one by one through finishPollUnchanged.
 */
export function finishPollsUnchanged(q: Queryable, polls: readonly PollUnchanged[]): Promise<boolean[]> {
  return finishInOneStatement(q, polls, (plain) => [
    plain.map((p) => p.id),
    plain.map((p) => p.owner),
    plain.map((p) => p.etag),
    plain.map((p) => p.lastModified),
    plain.map((p) => p.status),
    plain.map((p) => p.intervalSeconds),
    plain.map((p) => p.nextPollAt.toISOString()),
    plain.map((p) => p.movedTo),
    plain.map((p) => p.movedSeen),
  ], FINISH_UNCHANGED_BATCH, finishPollUnchanged);
}

/** Hands claimed feeds back without polling them (shutdown, paused host). */
export async function releaseFeeds(q: Queryable, ids: number[], owner: string, nextPollAt: Date | null): Promise<void> {
  if (ids.length === 0) return;
  await q.query(
    `update feeds set lease_owner = null, lease_until = null,
       next_poll_at = greatest(next_poll_at, coalesce($3::timestamptz, next_poll_at))
     where id = any($1::int[]) and lease_owner = $2`,
    [ids, owner, nextPollAt],
  );
}

/** A Retry-After from one feed pauses every feed of its host, in every worker process. */
export async function pauseHost(q: Queryable, host: string, until: Date): Promise<void> {
  await q.query(`update feeds set next_poll_at = greatest(next_poll_at, $2) where host = $1 and enabled`, [host, until]);
}

/** Extends the leases this owner still holds; answers their ids (a lease lost to expiry is not renewed). */
export async function extendLeases(q: Queryable, ids: number[], owner: string, leaseSeconds: number): Promise<number[]> {
  if (ids.length === 0) return [];
  const r = await q.query<{ id: number }>(
    `update feeds set lease_until = now() + make_interval(secs => $3)
     where id = any($1::int[]) and lease_owner = $2
     returning id`,
    [ids, owner, leaseSeconds],
  );
  return r.rows.map((row) => row.id);
}
