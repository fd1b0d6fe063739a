import type { Queryable } from './db.ts';
import { sourceId, type SourceKey } from './entry-sources.ts';

/**
 * Identities of items deleted on purpose (retention), so a feed still listing them cannot bring
 * them back. A tombstone is needed only while its feed lists the item: each ingest notes which
 * tombstoned items the document still lists, and the retention step prunes the others.
 */

/*
 * One statement, the ingest's only tombstone round trip, for the feeds of one batch: the keys given
 * are each document's items not stored for its feed, which include every tombstoned item it lists
 * (a tombstoned item has no source). Those are marked listed now; the other tombstones of those
 * feeds are marked unlisted.
 */
const MARK_LISTED = `
with keys as (
  select * from unnest($1::int[], $2::text[]) as x(feed_id, item_key)
), listed as (
  update tombstones t set last_listed_at = $3::timestamptz, unlisted_since = null
  from keys k where t.feed_id = k.feed_id and t.item_key = k.item_key
  returning t.feed_id, t.item_key
), unlisted as (
  update tombstones t set unlisted_since = $3::timestamptz
  where t.feed_id in (select feed_id from keys) and t.unlisted_since is null
    and not exists (select 1 from keys k where k.feed_id = t.feed_id and k.item_key = t.item_key)
)
select feed_id, item_key from listed`;

/**
 * The tombstoned items among `unknown` (items of this batch their feed has no source for), by
 * `sourceId`, recording that these documents list them and no longer list their feeds' other
 * tombstoned items. A feed with no unknown item is left alone.
 */
export async function markListedTombstones(tx: Queryable, unknown: readonly SourceKey[], at: Date): Promise<Set<string>> {
  if (unknown.length === 0) return new Set();
  const r = await tx.query<{ feed_id: number; item_key: string }>(MARK_LISTED, [
    unknown.map((k) => k.feedId),
    unknown.map((k) => k.itemKey),
    at.toISOString(),
  ]);
  return new Set(r.rows.map((row) => sourceId(Number(row.feed_id), row.item_key)));
}

const INSERT_TOMBSTONES = `
insert into tombstones (feed_id, item_key, deleted_at, last_listed_at)
select $1, k, $2::timestamptz, $2::timestamptz from unnest($3::text[]) as k
on conflict (feed_id, item_key) do nothing`;

export async function insertTombstones(
  tx: Queryable,
  feedId: number,
  itemKeys: readonly string[],
  at: Date,
): Promise<number> {
  if (itemKeys.length === 0) return 0;
  const r = await tx.query(INSERT_TOMBSTONES, [feedId, at.toISOString(), itemKeys]);
  return r.rowCount;
}

const PRUNE_TOMBSTONES = `
delete from tombstones
where unlisted_since is not null or last_listed_at < $1::timestamptz`;

/**
 * Forgets the tombstones that protect nothing any more: items their feed no longer lists, and items
 * last listed before `listedBefore` (RETENTION_DAYS ago: a feed that stopped being polled, or whose
 * document has not changed since). Returns how many were removed.
 */
export async function pruneTombstones(q: Queryable, listedBefore: Date): Promise<number> {
  const r = await q.query(PRUNE_TOMBSTONES, [listedBefore.toISOString()]);
  return r.rowCount;
}
