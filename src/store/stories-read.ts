import type { Db, Queryable } from './db.ts';
import { entryConditions, listEntries, type EntryFilter, type EntryKey, type EntryWithSources } from './entry-queries.ts';

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
