import type { Queryable } from './db.ts';

export interface ItemDigestsWrite {
  feedId: number;
  digests: string;
  /** The record the document was parsed against (null: none). */
  prior: string | null;
}

// A record replaces only the one the document was parsed against. If a source of the feed was
// deleted since (retention: sql/016's trigger dropped the record), no new record is written and the
// next document is normalised whole, so skipped items never hide a tombstone.
const SAVE = `
with x as (select * from unnest($1::int[], $2::text[], $3::text[]) as x(feed_id, digests, prior)),
replaced as (
  update feed_item_digests d set digests = x.digests
  from x where d.feed_id = x.feed_id and x.prior is not null and d.digests = x.prior and d.digests <> x.digests
)
insert into feed_item_digests (feed_id, digests)
select feed_id, digests from x where prior is null
on conflict (feed_id) do nothing`;

/**
 * The record of each feed's last stored document (sql/016, src/dedupe/item-digests.ts), written in
 * the poll's transaction with its items. One statement for a batch of feeds.
 */
export async function saveItemDigests(tx: Queryable, writes: readonly ItemDigestsWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await tx.query(SAVE, [writes.map((w) => w.feedId), writes.map((w) => w.digests), writes.map((w) => w.prior)]);
}
