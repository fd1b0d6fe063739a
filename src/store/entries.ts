import type { Queryable } from './db.ts';

/**
 * Writes to `entries`. Every statement takes whole arrays (one round trip per batch, whatever its
 * size). Categories and enclosures travel as JSON text per row because unnest() of a text[][]
 * would flatten the per-row arrays into one.
 */

export interface NewEntryRow {
  dedupeKey: string;
  canonicalUrl: string | null;
  url: string | null;
  title: string | null;
  author: string | null;
  summary: string | null;
  contentHtml: string | null;
  /** ISO-8601 or null. */
  publishedAt: string | null;
  updatedAt: string | null;
  categories: string[];
  enclosures: unknown[];
  language: string | null;
  contentHash: string;
}

export interface EntryContentUpdate {
  id: number;
  url: string | null;
  title: string | null;
  author: string | null;
  summary: string | null;
  contentHtml: string | null;
  /** ISO-8601: the item's own updated date, else the time of the poll that saw the edit. */
  updatedAt: string;
  categories: string[];
  enclosures: unknown[];
  language: string | null;
  contentHash: string;
}

const INSERT_ENTRIES = `
insert into entries (dedupe_key, canonical_url, url, title, author, summary, content_html,
                     published_at, updated_at, first_seen_at, sort_at, categories, enclosures,
                     language, content_hash, changed_at)
select x.dedupe_key, x.canonical_url, x.url, x.title, x.author, x.summary, x.content_html,
       x.published_at, x.updated_at, $1::timestamptz,
       least(coalesce(x.published_at, $1::timestamptz), $1::timestamptz),
       array(select jsonb_array_elements_text(x.categories::jsonb)), x.enclosures::jsonb,
       x.language, x.content_hash, $1::timestamptz
from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::text[])
  as x(dedupe_key, canonical_url, url, title, author, summary, content_html,
       published_at, updated_at, categories, enclosures, language, content_hash)
-- Key order: two transactions inserting overlapping sets wait on each other in one order, never deadlock.
order by x.dedupe_key
on conflict (dedupe_key) do nothing
returning id, dedupe_key`;

/**
 * Inserts entries, skipping any whose dedupe_key exists, and returns the ids of those it inserted.
 * first_seen_at and changed_at are `now`; sort_at is the publication time clamped to `now`, so a future-dated
 * item cannot stay on top. Rows whose key was taken (possibly by a transaction that committed
 * while this one waited) are absent from the result: look them up with a new statement.
 */
export async function insertEntries(
  tx: Queryable,
  rows: readonly NewEntryRow[],
  now: Date,
): Promise<Map<string, number>> {
  if (rows.length === 0) return new Map();
  const r = await tx.query<{ id: number; dedupe_key: string }>(INSERT_ENTRIES, [
    now.toISOString(),
    rows.map((e) => e.dedupeKey),
    rows.map((e) => e.canonicalUrl),
    rows.map((e) => e.url),
    rows.map((e) => e.title),
    rows.map((e) => e.author),
    rows.map((e) => e.summary),
    rows.map((e) => e.contentHtml),
    rows.map((e) => e.publishedAt),
    rows.map((e) => e.updatedAt),
    rows.map((e) => JSON.stringify(e.categories)),
    rows.map((e) => JSON.stringify(e.enclosures)),
    rows.map((e) => e.language),
    rows.map((e) => e.contentHash),
  ]);
  return new Map(r.rows.map((row) => [row.dedupe_key, Number(row.id)]));
}

const FIND_IDS_BY_DEDUPE_KEY = `select id, dedupe_key from entries where dedupe_key = any($1::text[])`;

export async function findEntryIdsByDedupeKey(tx: Queryable, keys: readonly string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const r = await tx.query<{ id: number; dedupe_key: string }>(FIND_IDS_BY_DEDUPE_KEY, [keys]);
  return new Map(r.rows.map((row) => [row.dedupe_key, Number(row.id)]));
}

const UPDATE_ENTRY_CONTENT = `
update entries e
set url = x.url, title = x.title, author = x.author, summary = x.summary,
    content_html = x.content_html, updated_at = x.updated_at,
    categories = array(select jsonb_array_elements_text(x.categories::jsonb)),
    enclosures = x.enclosures::jsonb, language = x.language, content_hash = x.content_hash,
    change_seq = nextval('entries_change_seq'), changed_at = $12::timestamptz
from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[])
  as x(id, url, title, author, summary, content_html, updated_at, categories, enclosures, language, content_hash)
where e.id = x.id`;

/**
 * Edits entries in place: the content changes, publication date, first sight and sort position
 * stay, and each edited entry takes a new change_seq, changed at `now`. Ids must be distinct.
 */
export async function updateEntryContent(tx: Queryable, rows: readonly EntryContentUpdate[], now: Date): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await tx.query(UPDATE_ENTRY_CONTENT, [
    rows.map((e) => e.id),
    rows.map((e) => e.url),
    rows.map((e) => e.title),
    rows.map((e) => e.author),
    rows.map((e) => e.summary),
    rows.map((e) => e.contentHtml),
    rows.map((e) => e.updatedAt),
    rows.map((e) => JSON.stringify(e.categories)),
    rows.map((e) => JSON.stringify(e.enclosures)),
    rows.map((e) => e.language),
    rows.map((e) => e.contentHash),
    now.toISOString(),
  ]);
  return r.rowCount;
}

const DELETE_ORPHANS = `
delete from entries e
where not exists (select 1 from entry_sources s where s.entry_id = e.id)`;

/** Deletes entries no feed carries any more (after a feed was deleted). Returns how many. */
export async function deleteOrphanEntryRows(tx: Queryable): Promise<number> {
  const r = await tx.query(DELETE_ORPHANS);
  return r.rowCount;
}

/**
 * Moves the entries version on (after a change commits, or inside a deletion's transaction), so
 * merged-feed and /api/items ETags change. The version is a row (sql/009), not the sequence's
 * last_value, so that a read replica's version moves exactly with its rows.
 */
export async function bumpChangeSeq(tx: Queryable): Promise<number> {
  const r = await tx.query<{ seq: number }>(`update entries_version set seq = nextval('entries_change_seq') returning seq`);
  return Number(r.rows[0]?.seq);
}
