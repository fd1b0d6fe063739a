import type { StoryMember, StoryMembership } from '../stories/assign.ts';
import type { Queryable } from './db.ts';

/**
 * Writes and look-ups of story clustering state (sql/005_stories.sql). Each function is one
 * statement over whole arrays, whatever the batch size.
 */

export interface StoryProbeRow {
  lang: string;
  at: number;
  bandKeys: readonly number[];
}

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

const FIND_CANDIDATES = `
select m.entry_id, m.story_id, m.language, m.at, m.features, array_agg(distinct b.band_key) as band_keys
from unnest($1::bigint[], $2::timestamptz[], $3::text[]) as q(band_key, at, language)
join story_buckets b
  on b.band_key = q.band_key
 and b.at between q.at - make_interval(secs => $4) and q.at + make_interval(secs => $4)
join story_members m on m.entry_id = b.entry_id and m.language = q.language
group by m.entry_id`;

/** Stored entries sharing a band key with any probe, in its language and within the window of its time. */
export async function findStoryCandidates(tx: Queryable, probes: readonly StoryProbeRow[], windowSeconds: number): Promise<StoryMember[]> {
  const keys: number[] = [];
  const ats: string[] = [];
  const langs: string[] = [];
  for (const p of probes) {
    const at = new Date(p.at).toISOString();
    for (const k of p.bandKeys) {
      keys.push(k);
      ats.push(at);
      langs.push(p.lang);
    }
  }
  if (keys.length === 0) return [];
  const r = await tx.query<{ entry_id: number; story_id: number; language: string; at: Date | string; features: string[]; band_keys: Array<number | string> }>(
    FIND_CANDIDATES,
    [keys, ats, langs, windowSeconds],
  );
  return r.rows.map((row) => ({
    entryId: Number(row.entry_id),
    storyId: Number(row.story_id),
    lang: row.language,
    at: new Date(row.at).getTime(),
    features: row.features,
    // int8[] comes back as strings from pg (only scalar int8 is parsed as a number).
    bandKeys: row.band_keys.map(Number),
  }));
}

const UPSERT_STORIES = `
insert into stories (id, first_at, last_at)
select * from unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[])
on conflict (id) do update
set first_at = least(stories.first_at, excluded.first_at), last_at = greatest(stories.last_at, excluded.last_at)`;

export interface StorySpan {
  id: number;
  firstAt: number;
  lastAt: number;
}

/** Creates stories, or widens the time span of existing ones. Ids must be distinct. */
export async function upsertStories(tx: Queryable, spans: readonly StorySpan[]): Promise<void> {
  if (spans.length === 0) return;
  await tx.query(UPSERT_STORIES, [
    spans.map((s) => s.id),
    spans.map((s) => new Date(s.firstAt).toISOString()),
    spans.map((s) => new Date(s.lastAt).toISOString()),
  ]);
}

const INSERT_MEMBERS = `
with members as (
  insert into story_members (entry_id, story_id, language, at, features)
  select x.entry_id, x.story_id, x.language, x.at, array(select jsonb_array_elements_text(x.features::jsonb))
  from unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[])
    as x(entry_id, story_id, language, at, features)
)
insert into story_buckets (band_key, at, entry_id)
select * from unnest($6::bigint[], $7::timestamptz[], $8::bigint[])`;

/** Records new entries' stories and their band buckets (one statement). */
export async function insertStoryMembers(tx: Queryable, members: readonly StoryMembership[]): Promise<void> {
  if (members.length === 0) return;
  const bucketKeys: number[] = [];
  const bucketAts: string[] = [];
  const bucketEntries: number[] = [];
  const ats = members.map((m) => new Date(m.at).toISOString());
  members.forEach((m, i) => {
    for (const k of m.bandKeys) {
      bucketKeys.push(k);
      bucketAts.push(ats[i]!);
      bucketEntries.push(m.entryId);
    }
  });
  await tx.query(INSERT_MEMBERS, [
    members.map((m) => m.entryId),
    members.map((m) => m.storyId),
    members.map((m) => m.lang),
    ats,
    members.map((m) => JSON.stringify(m.features)),
    bucketKeys,
    bucketAts,
    bucketEntries,
  ]);
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
