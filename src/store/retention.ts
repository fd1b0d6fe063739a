import type { Db, Queryable } from './db.ts';
import { commitChange } from './change-seq.ts';
import { bumpChangeSeq, deleteOrphanEntryRows } from './entries.ts';
import { pruneTombstones } from './tombstones.ts';

export interface RetentionOptions {
  /** Entries whose sort_at is before this are deleted, and tombstones last listed before this are forgotten. */
  olderThan: Date;
  /** Entries per transaction: bounds lock time and WAL per step on a large backlog. */
  batchSize: number;
}

/*
 * One batch in one statement: every sub-statement of a WITH sees the same snapshot, so the tombstone
 * insert still reads the sources that the delete removes by cascade. SKIP LOCKED leaves entries that
 * an ingest is editing right now for the next run instead of waiting on them.
 */
const DELETE_EXPIRED_BATCH = `
with doomed as (
  select id from entries
  where sort_at < $1::timestamptz
  order by sort_at, id
  limit $2
  for update skip locked
), tombstoned as (
  insert into tombstones (feed_id, item_key)
  select s.feed_id, s.item_key from entry_sources s where s.entry_id in (select id from doomed)
  on conflict (feed_id, item_key) do nothing
)
delete from entries where id in (select id from doomed)`;

/**
 * The retention step. Deletes expired entries in batches, each its own transaction, leaving a
 * tombstone for every (feed, item key) that carried them so a feed still listing the item does not
 * bring it back; then prunes the tombstones that protect nothing any more (their feed no longer
 * lists the item, or last listed it before `olderThan`), so the table does not grow forever.
 * Returns the number of entries deleted.
 */
export async function deleteExpiredEntries(db: Db, opts: RetentionOptions): Promise<number> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize));
  let total = 0;
  for (;;) {
    const deleted = await commitChange(
      db,
      async (tx) => (await tx.query(DELETE_EXPIRED_BATCH, [opts.olderThan.toISOString(), batchSize])).rowCount,
      (n) => n > 0,
    );
    total += deleted;
    // A short batch means nothing (unlocked) is left; each full batch removed rows, so this ends.
    if (deleted < batchSize) break;
  }
  await pruneTombstones(db, opts.olderThan);
  return total;
}

/** Deletes entries that no feed carries any more (after a feed was deleted), in the caller's transaction. */
export async function deleteOrphanEntries(tx: Queryable): Promise<number> {
  const deleted = await deleteOrphanEntryRows(tx);
  if (deleted > 0) await bumpChangeSeq(tx);
  return deleted;
}
