import type { Db, Queryable } from './db.ts';
import { bumpChangeSeq } from './entries.ts';

/** A row of `feeds` as the store returns it. */
export interface FeedRow {
  id: number;
  url: string;
  host: string;
  /** Display title: the user's title, else the one the feed announces. */
  title: string | null;
  title_override: string | null;
  site_url: string | null;
  region: string | null;
  language: string | null;
  etag: string | null;
  last_modified: string | null;
  body_hash: string | null;
  last_fetched_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  last_error_kind: string | null;
  error_count: number;
  first_error_at: Date | null;
  next_poll_at: Date;
  poll_interval_s: number | null;
  moved_to: string | null;
  moved_seen: number;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
}

export interface FeedWithStats extends FeedRow {
  entry_count: number;
}

/** Columns of a FeedRow, from `feeds f`; shared with feed-polling.ts. */
export const FEED_COLUMNS = `f.id, f.url, f.host, coalesce(f.title_override, f.title) as title, f.title_override,
  f.site_url, f.region, f.language, f.etag, f.last_modified, f.body_hash, f.last_fetched_at, f.last_status,
  f.last_error, f.last_error_kind, f.error_count, f.first_error_at, f.next_poll_at, f.poll_interval_s,
  f.moved_to, f.moved_seen, f.enabled, f.disabled_reason, f.created_at`;

const WITH_STATS = `${FEED_COLUMNS},
  (select count(*) from entry_sources s where s.feed_id = f.id)::int as entry_count`;

export interface NewFeed {
  url: string;
  title?: string | null | undefined;
  region?: string | null | undefined;
  language?: string | null | undefined;
}

/** Inserts a feed; null when a feed with this URL exists already. */
export async function insertFeed(q: Queryable, input: NewFeed): Promise<FeedRow | null> {
  const r = await q.query<FeedRow>(
    `insert into feeds as f (url, host, title_override, region, language)
     values ($1, $2, $3, $4, $5)
     on conflict (url) do nothing
     returning ${FEED_COLUMNS}`,
    [input.url, new URL(input.url).host.toLowerCase(), input.title ?? null, input.region ?? null, input.language ?? null],
  );
  return r.rows[0] ?? null;
}

/** Set-based import (OPML, FEEDS): inserts the URLs not present yet, returns the rows inserted. */
export async function insertFeeds(q: Queryable, inputs: NewFeed[]): Promise<FeedRow[]> {
  if (inputs.length === 0) return [];
  const r = await q.query<FeedRow>(
    `insert into feeds as f (url, host, title_override, region, language)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
     on conflict (url) do nothing
     returning ${FEED_COLUMNS}`,
    [
      inputs.map((i) => i.url),
      inputs.map((i) => new URL(i.url).host.toLowerCase()),
      inputs.map((i) => i.title ?? null),
      inputs.map((i) => i.region ?? null),
      inputs.map((i) => i.language ?? null),
    ],
  );
  return r.rows;
}

/** The feeds among these URLs that exist already: one statement for a whole import. */
export async function findFeedsByUrl(q: Queryable, urls: readonly string[]): Promise<{ id: number; url: string }[]> {
  if (urls.length === 0) return [];
  const r = await q.query<{ id: number; url: string }>(`select id, url from feeds where url = any($1::text[])`, [urls]);
  return r.rows;
}

export type FeedUrlChange = { kind: 'changed'; feed: FeedRow } | { kind: 'missing' } | { kind: 'taken'; feedId: number };

/**
 * Moves a feed to a new URL (the user's PATCH). The HTTP validators and the failure state belonged
 * to the old URL, so they are cleared and the feed is due now; a URL another feed has is refused.
 */
export async function changeFeedUrl(q: Queryable, id: number, url: string): Promise<FeedUrlChange> {
  const taken = await q.query<{ id: number }>(`select id from feeds where url = $1 and id <> $2`, [url, id]);
  if (taken.rows[0]) return { kind: 'taken', feedId: taken.rows[0].id };
  try {
    const r = await q.query<FeedRow>(
      `update feeds as f set
         url = $2, host = $3,
         etag = case when f.url = $2 then f.etag end,
         last_modified = case when f.url = $2 then f.last_modified end,
         body_hash = case when f.url = $2 then f.body_hash end,
         moved_to = case when f.url = $2 then f.moved_to end,
         moved_seen = case when f.url = $2 then f.moved_seen else 0 end,
         error_count = case when f.url = $2 then f.error_count else 0 end,
         first_error_at = case when f.url = $2 then f.first_error_at end,
         next_poll_at = case when f.url = $2 then f.next_poll_at else now() end
       where f.id = $1
       returning ${FEED_COLUMNS}`,
      [id, url, new URL(url).host.toLowerCase()],
    );
    return r.rows[0] ? { kind: 'changed', feed: r.rows[0] } : { kind: 'missing' };
  } catch (err) {
    // Another request took the URL between the two statements.
    if ((err as { code?: string }).code !== '23505') throw err;
    const other = await q.query<{ id: number }>(`select id from feeds where url = $1`, [url]);
    return { kind: 'taken', feedId: other.rows[0]?.id ?? 0 };
  }
}

export async function getFeed(q: Queryable, id: number): Promise<FeedWithStats | null> {
  const r = await q.query<FeedWithStats>(`select ${WITH_STATS} from feeds f where f.id = $1`, [id]);
  return r.rows[0] ?? null;
}

export async function getFeedByUrl(q: Queryable, url: string): Promise<FeedWithStats | null> {
  const r = await q.query<FeedWithStats>(`select ${WITH_STATS} from feeds f where f.url = $1`, [url]);
  return r.rows[0] ?? null;
}

export async function listFeeds(q: Queryable): Promise<FeedWithStats[]> {
  const r = await q.query<FeedWithStats>(`select ${WITH_STATS} from feeds f order by f.id`);
  return r.rows;
}

export interface FeedPatch {
  title?: string | null | undefined;
  region?: string | null | undefined;
  enabled?: boolean | undefined;
}

/**
 * Applies a user's change. Re-enabling a feed clears its failure state and makes it due now, so a
 * feed disabled by a 410 or by giving up is retried at once.
 */
export async function updateFeed(q: Queryable, id: number, patch: FeedPatch): Promise<FeedRow | null> {
  const r = await q.query<FeedRow>(
    `update feeds as f set
       title_override = case when $2 then $3 else f.title_override end,
       region = case when $4 then $5 else f.region end,
       enabled = coalesce($6, f.enabled),
       disabled_reason = case when $6 is true then null else f.disabled_reason end,
       error_count = case when $6 is true and not f.enabled then 0 else f.error_count end,
       first_error_at = case when $6 is true and not f.enabled then null else f.first_error_at end,
       next_poll_at = case when $6 is true and not f.enabled then now() else f.next_poll_at end
     where f.id = $1
     returning ${FEED_COLUMNS}`,
    [id, patch.title !== undefined, patch.title ?? null, patch.region !== undefined, patch.region ?? null, patch.enabled ?? null],
  );
  // Source names and regions appear in the merged feeds.
  if (r.rows[0] && (patch.title !== undefined || patch.region !== undefined)) await bumpChangeSeq(q);
  return r.rows[0] ?? null;
}

/** Deletes a feed; its sources go with it, and so does every entry left with no source. */
export async function deleteFeed(db: Db, id: number): Promise<boolean> {
  const deleted = await db.transaction(async (tx) => {
    const orphans = await tx.query<{ entry_id: number }>(
      `select s.entry_id from entry_sources s
       where s.feed_id = $1
         and not exists (select 1 from entry_sources o where o.entry_id = s.entry_id and o.feed_id <> $1)`,
      [id],
    );
    const r = await tx.query('delete from feeds where id = $1', [id]);
    if (r.rowCount === 0) return false;
    if (orphans.rows.length > 0) {
      await tx.query('delete from entries where id = any($1::bigint[])', [orphans.rows.map((o) => o.entry_id)]);
    }
    return true;
  });
  // After commit, so a merged feed rendered meanwhile cannot be cached under the new version.
  if (deleted) await bumpChangeSeq(db);
  return deleted;
}


/** Makes feeds due now (`poll --once --all`, refresh). */
export async function makeFeedsDue(q: Queryable, ids: number[] | 'all'): Promise<number> {
  const r =
    ids === 'all'
      ? await q.query(`update feeds set next_poll_at = now() where enabled`)
      : await q.query(`update feeds set next_poll_at = now() where id = any($1::int[])`, [ids]);
  return r.rowCount;
}
