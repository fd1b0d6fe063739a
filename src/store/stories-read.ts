import type { Db, Queryable } from './db.ts';
import { entryConditions, listEntries, type EntryFilter, type EntryKey, type EntrySource, type EntryWithSources } from './entry-queries.ts';

/** Read side of stories (sql/005): the story list by last activity, and one story's entries. */

export interface StoryHead {
  id: number;
  first_at: Date;
  last_at: Date;
  /** last_at with microseconds in UTC: the cursor's source of truth. */
  sort_key: string;
}

export interface StoryWithItems extends StoryHead {
  /** Every entry of the story, earliest first. */
  items: EntryWithSources[];
}

/** Entries of one story can be many (a long-running event); a story page shows at most this many. */
export const MAX_ITEMS_PER_STORY = 100;

/**
 * Surviving stories, newest activity first, after the keyset position when given. A story is listed
 * when one of its entries matches the filter; since/until bound its last activity.
 */
export async function listStoryHeads(q: Queryable, filter: EntryFilter, limit: number, after?: EntryKey): Promise<StoryHead[]> {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const conds = ['s.merged_into is null'];
  if (after) conds.push(`(s.last_at, s.id) < (${p(after.sortAt)}::timestamptz, ${p(after.id)}::bigint)`);
  if (filter.since) conds.push(`s.last_at >= ${p(filter.since)}::timestamptz`);
  if (filter.until) conds.push(`s.last_at < ${p(filter.until)}::timestamptz`);
  const entryConds = entryConditions({ ...filter, since: undefined, until: undefined }, params);
  conds.push(`exists (select 1 from story_members m join entries e on e.id = m.entry_id
    where m.story_id = s.id${entryConds.map((c) => ` and ${c}`).join('')})`);
  const sql = `select s.id, s.first_at, s.last_at,
      to_char(s.last_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_key
    from stories s where ${conds.join(' and ')}
    order by s.last_at desc, s.id desc limit ${p(limit)}`;
  const r = await q.query<StoryHead>(sql, params);
  return r.rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/** The stories' entries with their sources, each story's earliest first. */
export async function withStoryItems(q: Db, heads: readonly StoryHead[]): Promise<StoryWithItems[]> {
  if (heads.length === 0) return [];
  const entries = await listEntries(q, { storyIds: heads.map((h) => h.id) }, heads.length * MAX_ITEMS_PER_STORY);
  const byStory = new Map<number, EntryWithSources[]>();
  for (const e of entries) {
    const sid = Number(e.story_id);
    byStory.set(sid, [...(byStory.get(sid) ?? []), e]);
  }
  return heads.map((h) => ({
    ...h,
    items: (byStory.get(h.id) ?? [])
      .sort((a, b) => a.sort_at.getTime() - b.sort_at.getTime() || a.id - b.id)
      .slice(0, MAX_ITEMS_PER_STORY),
  }));
}

/** The surviving story an id names (itself, or the story it was merged into); null when unknown. */
export async function resolveStoryId(q: Queryable, id: number): Promise<number | null> {
  const r = await q.query<{ id: number }>(`select coalesce(merged_into, id) as id from stories where id = $1`, [id]);
  const row = r.rows[0];
  return row ? Number(row.id) : null;
}

export async function getStory(q: Db, id: number): Promise<StoryWithItems | null> {
  const r = await q.query<StoryHead>(
    `select s.id, s.first_at, s.last_at, to_char(s.last_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_key
     from stories s where s.id = $1`,
    [id],
  );
  const [story] = await withStoryItems(q, r.rows.map((row) => ({ ...row, id: Number(row.id) })));
  return story && story.items.length > 0 ? story : null;
}

/** Another entry of a story, with the feeds that carried it: what a collapsed list shows under its item. */
export interface StoryReport {
  id: number;
  title: string | null;
  url: string | null;
  published_at: Date | null;
  sort_at: Date;
  sources: EntrySource[];
}

/**
 * For each entry standing for its story (`?collapse=story`), the story's other entries, earliest
 * first (at most MAX_ITEMS_PER_STORY each), keyed by the standing entry's id: one statement.
 */
export async function otherStoryReports(
  q: Queryable,
  entries: ReadonlyArray<{ id: number; story_id: number }>,
): Promise<Map<number, StoryReport[]>> {
  const out = new Map<number, StoryReport[]>();
  if (entries.length === 0) return out;
  const r = await q.query<EntrySource & { rep_id: number; id: number; title: string | null; entry_url: string | null; published_at: Date | null; sort_at: Date }>(
    `select r.rep_id, x.id, x.title, x.url as entry_url, x.published_at, x.sort_at,
            s.feed_id, coalesce(f.title_override, f.title) as feed_title, s.url, f.url as feed_url, f.site_url
     from unnest($1::bigint[], $2::bigint[]) as r(rep_id, story_id)
     cross join lateral (select m.entry_id, m.at from story_members m
       where m.story_id = r.story_id and m.entry_id <> r.rep_id order by m.at, m.entry_id limit ${MAX_ITEMS_PER_STORY}) o
     join entries x on x.id = o.entry_id
     join entry_sources s on s.entry_id = x.id join feeds f on f.id = s.feed_id
     order by r.rep_id, o.at, o.entry_id, s.first_seen_at, s.feed_id`,
    [entries.map((e) => e.id), entries.map((e) => Number(e.story_id))],
  );
  for (const row of r.rows) {
    const repId = Number(row.rep_id);
    const list = out.get(repId) ?? [];
    if (!out.has(repId)) out.set(repId, list);
    let report = list[list.length - 1];
    if (!report || report.id !== Number(row.id)) {
      report = { id: Number(row.id), title: row.title, url: row.entry_url, published_at: row.published_at, sort_at: row.sort_at, sources: [] };
      list.push(report);
    }
    report.sources.push({ feed_id: row.feed_id, feed_title: row.feed_title, url: row.url, feed_url: row.feed_url, site_url: row.site_url });
  }
  return out;
}
