import type { Queryable } from './db.ts';

/** Writes and look-ups on `entry_sources`: which feed carried which entry, under which item key. */

export interface KnownSource {
  entryId: number;
  /** Fingerprint of the item as this feed last gave it; null only for rows older than migration 002. */
  contentHash: string | null;
}

export interface NewSourceRow {
  feedId: number;
  itemKey: string;
  entryId: number;
  guid: string | null;
  /** The URL exactly as the feed gave it. */
  url: string | null;
  contentHash: string;
}

export interface SourceChange {
  feedId: number;
  itemKey: string;
  url: string | null;
  contentHash: string;
}

/** A feed's item, as (feed id, item key): sources of several feeds are looked up and written at once. */
export interface SourceKey {
  feedId: number;
  itemKey: string;
}

const FIND_SOURCES = `
select s.feed_id, s.item_key, s.entry_id, s.content_hash
from unnest($1::int[], $2::text[]) as x(feed_id, item_key)
join entry_sources s on s.feed_id = x.feed_id and s.item_key = x.item_key`;

/** The known sources among `keys`, by `sourceId(feedId, itemKey)`. */
export async function findSources(tx: Queryable, keys: readonly SourceKey[]): Promise<Map<string, KnownSource>> {
  if (keys.length === 0) return new Map();
  const r = await tx.query<{ feed_id: number; item_key: string; entry_id: number; content_hash: string | null }>(FIND_SOURCES, [
    keys.map((k) => k.feedId),
    keys.map((k) => k.itemKey),
  ]);
  return new Map(
    r.rows.map((row) => [sourceId(Number(row.feed_id), row.item_key), { entryId: Number(row.entry_id), contentHash: row.content_hash }]),
  );
}

/** The map key of a feed's item (item keys never contain a newline). */
export function sourceId(feedId: number, itemKey: string): string {
  return `${feedId}\n${itemKey}`;
}

const INSERT_SOURCES = `
insert into entry_sources (feed_id, item_key, entry_id, guid, url, content_hash, first_seen_at)
select x.feed_id, x.item_key, x.entry_id, x.guid, x.url, x.content_hash, $1::timestamptz
from unnest($2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
  as x(feed_id, item_key, entry_id, guid, url, content_hash)
on conflict (feed_id, item_key) do nothing`;

/** Returns how many rows were inserted (a key another poll of the same feed just added is skipped). */
export async function insertSources(tx: Queryable, rows: readonly NewSourceRow[], now: Date): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await tx.query(INSERT_SOURCES, [
    now.toISOString(),
    rows.map((s) => s.feedId),
    rows.map((s) => s.itemKey),
    rows.map((s) => s.entryId),
    rows.map((s) => s.guid),
    rows.map((s) => s.url),
    rows.map((s) => s.contentHash),
  ]);
  return r.rowCount;
}

const UPDATE_SOURCES = `
update entry_sources s
set url = x.url, content_hash = x.content_hash
from unnest($1::int[], $2::text[], $3::text[], $4::text[]) as x(feed_id, item_key, url, content_hash)
where s.feed_id = x.feed_id and s.item_key = x.item_key`;

/** Records the item as the feed now gives it, so the same version is not seen as an edit again. */
export async function updateSources(tx: Queryable, rows: readonly SourceChange[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await tx.query(UPDATE_SOURCES, [
    rows.map((s) => s.feedId),
    rows.map((s) => s.itemKey),
    rows.map((s) => s.url),
    rows.map((s) => s.contentHash),
  ]);
  return r.rowCount;
}
