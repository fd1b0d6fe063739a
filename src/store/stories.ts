import type { StoryMembership } from '../stories/assign.ts';
import type { Queryable } from './db.ts';

/**
 * Writes and look-ups of story clustering state (sql/005_stories.sql, sql/013_story_index.sql).
 * Each function is one statement over whole arrays, whatever the batch size.
 */

// Advisory lock class for story assignment; the second key is the language's hash.
const STORY_LOCK_CLASS = 7361030;
const LOCK_LANGUAGES = `
select count(pg_advisory_xact_lock(${STORY_LOCK_CLASS}, hashtext(l)))
from (select distinct l from unnest($1::text[]) as u(l) order by l) as langs`;

/**
 * Serialises story assignment per language until commit. Without it, two feeds ingested at once
 * (two workers, or one worker's concurrent polls) each miss the other's uncommitted entries and
 * split every story they share. Taken after the entries are written, so it is held only for the
 * story statements and the rest of the poll's transaction. Under READ COMMITTED the next statement
 * takes a new snapshot, which sees what the previous holder committed.
 */
export async function lockStoryLanguages(tx: Queryable, languages: readonly string[]): Promise<void> {
  if (languages.length === 0) return;
  await tx.query(LOCK_LANGUAGES, [languages]);
}

/** What readStoryIndexRows returns: members to add to the index and where the index now stands. */
export interface StoryIndexRows {
  /** Per language asked for: the highest seq of its members (0 when it has none). */
  seqs: Map<string, number>;
  /** How many times story_members was truncated (sql/013): a change means another database's index. */
  truncations: number;
  rows: Array<{ lang: string; entryId: number; at: number; features: string }>;
}

// Times travel as epoch ms (float8); intervals are [lo, hi). Part 0: per language the highest seq,
// by a backward scan of (language, seq). Part 1: members of other processes committed since the
// index last read (seq above its watermark) within the intervals it holds, then every member of the
// intervals it loads now, by (language, at): disjoint, since a loaded interval is one not held.
// Part 2: the truncation count (sql/013: last_value counts from 1 and is_called says it was taken).
const READ_INDEX_ROWS = `
with w as (select * from unnest($1::text[], $2::bigint[]) as w(l, wm))
select 0 as part, w.l as language, null::bigint as entry_id, null::float8 as at_ms,
  coalesce((select max(m.seq) from story_members m where m.language = w.l), 0) as n, null::text as features
from w
union all
select 1, m.language, m.entry_id, extract(epoch from m.at)::float8 * 1000, null, m.features
from w cross join lateral (select * from story_members m where m.language = w.l and m.seq > w.wm) m
where exists (
  select from unnest($3::text[], $4::float8[], $5::float8[]) as h(l, lo, hi)
  where h.l = m.language and m.at >= to_timestamp(h.lo / 1000.0) and m.at < to_timestamp(h.hi / 1000.0))
union all
select 1, m.language, m.entry_id, extract(epoch from m.at)::float8 * 1000, null, m.features
from unnest($6::text[], $7::float8[], $8::float8[]) as r(l, lo, hi)
cross join lateral (
  select * from story_members m
  where m.language = r.l and m.at >= to_timestamp(r.lo / 1000.0) and m.at < to_timestamp(r.hi / 1000.0)
  order by m.at) m
union all
select 2, null, null, null, last_value + is_called::int, null from story_members_truncations`;

export interface IndexInterval {
  lang: string;
  lo: number;
  hi: number;
}

/**
 * The story index's sync (src/store/story-index.ts), one statement: for each language (with the
 * seq up to which the index has read it, or null when it holds nothing of it), the members
 * committed since within `held`, every member within `load`, the languages' highest seqs and the
 * truncation count. Run under the languages' locks, it sees every member of them there is.
 */
export async function readStoryIndexRows(
  tx: Queryable,
  languages: ReadonlyArray<{ lang: string; watermark: number | null }>,
  held: readonly IndexInterval[],
  load: readonly IndexInterval[],
): Promise<StoryIndexRows> {
  const r = await tx.query<{ part: number; language: string; entry_id: number; at_ms: number; n: number; features: string }>(READ_INDEX_ROWS, [
    languages.map((l) => l.lang),
    languages.map((l) => l.watermark),
    held.map((h) => h.lang),
    held.map((h) => h.lo),
    held.map((h) => h.hi),
    load.map((h) => h.lang),
    load.map((h) => h.lo),
    load.map((h) => h.hi),
  ]);
  const out: StoryIndexRows = { seqs: new Map(), truncations: 0, rows: [] };
  for (const row of r.rows) {
    if (row.part === 0) out.seqs.set(row.language, Number(row.n));
    else if (row.part === 2) out.truncations = Number(row.n);
    // Epoch ms: timestamptz text would be parsed into a Date per row.
    else out.rows.push({ lang: row.language, entryId: Number(row.entry_id), at: Math.round(row.at_ms), features: row.features });
  }
  return out;
}

/**
 * Current story ids of stored entries (merges change them, so the index keeps none). An entry
 * deleted since the index read it is absent from the answer.
 */
export async function readStoryIds(tx: Queryable, entryIds: readonly number[]): Promise<Map<number, number>> {
  if (entryIds.length === 0) return new Map();
  const r = await tx.query<{ entry_id: number; story_id: number }>(`select entry_id, story_id from story_members where entry_id = any($1::bigint[])`, [entryIds]);
  return new Map(r.rows.map((row) => [Number(row.entry_id), Number(row.story_id)]));
}

export interface StorySpan {
  id: number;
  firstAt: number;
  lastAt: number;
}

// Times travel as epoch milliseconds (float8): cheaper to send and to parse than timestamp text.
// seq comes from its sequence (sql/013); the highest per language is returned, as the story index's
// new watermark.
const INSERT_MEMBERS = `
with spans as (
  insert into stories (id, first_at, last_at)
  select id, to_timestamp(f / 1000.0), to_timestamp(l / 1000.0) from unnest($6::bigint[], $7::float8[], $8::float8[]) as u(id, f, l)
  on conflict (id) do update
  set first_at = least(stories.first_at, excluded.first_at), last_at = greatest(stories.last_at, excluded.last_at)
), members as (
  insert into story_members (entry_id, story_id, language, at, features)
  select e, s, l, to_timestamp(ms / 1000.0), f from unnest($1::bigint[], $2::bigint[], $3::text[], $4::float8[], $5::text[]) as u(e, s, l, ms, f)
  returning language, seq
)
select language, max(seq) as seq from members group by language`;

/**
 * Records new entries' stories and features, and creates their stories or widens their time spans
 * (span ids must be distinct): one statement. Answers per language the highest seq written.
 */
export async function insertStoryMembers(tx: Queryable, members: readonly StoryMembership[], spans: readonly StorySpan[]): Promise<Map<string, number>> {
  if (members.length === 0) return new Map();
  const r = await tx.query<{ language: string; seq: number }>(INSERT_MEMBERS, [
    members.map((m) => m.entryId),
    members.map((m) => m.storyId),
    members.map((m) => m.lang),
    members.map((m) => m.at),
    members.map((m) => m.features),
    spans.map((sp) => sp.id),
    spans.map((sp) => sp.firstAt),
    spans.map((sp) => sp.lastAt),
  ]);
  return new Map(r.rows.map((row) => [row.language, Number(row.seq)]));
}

const MERGE_STORIES = `
with m as (select * from unnest($1::bigint[], $2::bigint[]) as m(from_id, into_id)),
moved as (
  update story_members s set story_id = m.into_id from m where s.story_id = m.from_id
),
redirected as (
  -- Redirects that pointed at a merged story follow it, so a redirect is always one hop.
  update stories s set merged_into = m.into_id
  from m where s.id = m.from_id or s.merged_into = m.from_id
  returning s.id, s.first_at, s.last_at, m.into_id
)
update stories t
set first_at = least(t.first_at, r.first_at), last_at = greatest(t.last_at, r.last_at)
from (select into_id, min(first_at) as first_at, max(last_at) as last_at from redirected group by into_id) r
where t.id = r.into_id`;

/** Merges stories into older ones: members move, ids redirect, the survivor's span widens. */
export async function mergeStories(tx: Queryable, merges: ReadonlyArray<{ from: number; into: number }>): Promise<void> {
  if (merges.length === 0) return;
  await tx.query(MERGE_STORIES, [merges.map((m) => m.from), merges.map((m) => m.into)]);
}
