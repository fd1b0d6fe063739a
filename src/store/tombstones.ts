import type { Queryable } from './db.ts';

/**
 * Identities of items deleted on purpose (retention), so a feed still listing them cannot bring
 * them back. A tombstone is needed only while its feed lists the item: each ingest notes which
 * tombstoned items the document still lists, and the retention step prunes the others.
 */

/*
 * One statement, the ingest's only tombstone round trip: the keys given are the document's items
 * not stored for this feed, which include every tombstoned item it lists (a tombstoned item has no
 * source). Those are marked listed now; the feed's other tombstones are marked unlisted.
 */
const MARK_LISTED = `
with listed as (
  update tombstones set last_listed_at = $3::timestamptz, unlisted_since = null
  where feed_id = $1 and item_key = any($2::text[])
  returning item_key
), unlisted as (
  update tombstones set unlisted_since = $3::timestamptz
  where feed_id = $1 and unlisted_since is null and item_key <> all($2::text[])
)
select item_key from listed`;

/**
 * The tombstoned keys among `unknownKeys` (this poll's items that the feed has no source for),
 * recording that this document lists them and no longer lists the feed's other tombstoned items.
 */
export async function markListedTombstones(tx: Queryable, feedId: number, unknownKeys: readonly string[], at: Date): Promise<Set<string>> {
  if (unknownKeys.length === 0) return new Set();
  const r = await tx.query<{ item_key: string }>(MARK_LISTED, [feedId, unknownKeys, at.toISOString()]);
  return new Set(r.rows.map((row) => row.item_key));
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
