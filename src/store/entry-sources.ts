import type { Queryable } from './db.ts';

/** Writes and look-ups on `entry_sources`: which feed carried which entry, under which item key. */

export interface KnownSource {
  entryId: number;
  /** Fingerprint of the item as this feed last gave it; null only for rows older than migration 002. */
  contentHash: string | null;
}

export interface NewSourceRow {
  itemKey: string;
  entryId: number;
  guid: string | null;
  /** The URL exactly as the feed gave it. */
  url: string | null;
  contentHash: string;
}

export interface SourceChange {
  itemKey: string;
  url: string | null;
  contentHash: string;
}

const FIND_SOURCES = `
select item_key, entry_id, content_hash
from entry_sources
where feed_id = $1 and item_key = any($2::text[])`;

export async function findSources(
  tx: Queryable,
  feedId: number,
  itemKeys: readonly string[],
): Promise<Map<string, KnownSource>> {
  if (itemKeys.length === 0) return new Map();
  const r = await tx.query<{ item_key: string; entry_id: number; content_hash: string | null }>(FIND_SOURCES, [
    feedId,
    itemKeys,
  ]);
  return new Map(r.rows.map((row) => [row.item_key, { entryId: Number(row.entry_id), contentHash: row.content_hash }]));
}

const INSERT_SOURCES = `
insert into entry_sources (feed_id, item_key, entry_id, guid, url, content_hash, first_seen_at)
select $1, x.item_key, x.entry_id, x.guid, x.url, x.content_hash, $2::timestamptz
from unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
  as x(item_key, entry_id, guid, url, content_hash)
on conflict (feed_id, item_key) do nothing`;

/** Returns how many rows were inserted (a key another poll of the same feed just added is skipped). */
export async function insertSources(
  tx: Queryable,
  feedId: number,
  rows: readonly NewSourceRow[],
  now: Date,
): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await tx.query(INSERT_SOURCES, [
    feedId,
    now.toISOString(),
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
from unnest($2::text[], $3::text[], $4::text[]) as x(item_key, url, content_hash)
where s.feed_id = $1 and s.item_key = x.item_key`;

/** Records the item as the feed now gives it, so the same version is not seen as an edit again. */
export async function updateSources(tx: Queryable, feedId: number, rows: readonly SourceChange[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await tx.query(UPDATE_SOURCES, [
    feedId,
    rows.map((s) => s.itemKey),
    rows.map((s) => s.url),
    rows.map((s) => s.contentHash),
  ]);
  return r.rowCount;
}
