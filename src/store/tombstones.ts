import type { Queryable } from './db.ts';

/** Identities of items deleted on purpose (retention), so a feed still listing them cannot bring them back. */

const FIND_TOMBSTONED = `
select item_key from tombstones where feed_id = $1 and item_key = any($2::text[])`;

export async function findTombstonedKeys(tx: Queryable, feedId: number, itemKeys: readonly string[]): Promise<Set<string>> {
  if (itemKeys.length === 0) return new Set();
  const r = await tx.query<{ item_key: string }>(FIND_TOMBSTONED, [feedId, itemKeys]);
  return new Set(r.rows.map((row) => row.item_key));
}

const INSERT_TOMBSTONES = `
insert into tombstones (feed_id, item_key, deleted_at)
select $1, k, $2::timestamptz from unnest($3::text[]) as k
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

const DELETE_TOMBSTONES_BEFORE = `delete from tombstones where deleted_at < $1::timestamptz`;

/**
 * Forgets tombstones older than `before`. Safe once that is well past the retention window: by
 * then an item still listed with a publication date is skipped as too old anyway.
 */
export async function deleteTombstonesBefore(tx: Queryable, before: Date): Promise<number> {
  const r = await tx.query(DELETE_TOMBSTONES_BEFORE, [before.toISOString()]);
  return r.rowCount;
}
