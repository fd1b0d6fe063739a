import { NEAREST_PER_SIDE, type StoryMember, type StoryMembership } from '../stories/assign.ts';
import { BANDS } from '../stories/minhash.ts';
import { decodeFeatureVector, type FeatureVector } from '../stories/features.ts';
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

// Laterals keep the plan to index look-ups (per probed key, then per found entry) whatever the
// statistics: a plain join let the planner cross the probes with every member first (seconds per batch).
// Per key, the NEAREST_PER_SIDE entries before (or at) the probe's time and after it, within the
// window (as assign.ts): two bounded scans of story_buckets_latest (sql/010) from the probe's time,
// one backward and one forward.
const FIND_CANDIDATES = `
select m.entry_id, m.story_id, m.language, extract(epoch from m.at)::float8 * 1000 as at_ms, hashtext(m.features) as features_hash, c.band_keys
from (
  select b.entry_id, array_agg(distinct b.band_key) as band_keys
  from (select k as band_key, to_timestamp(ms / 1000.0) as at from unnest($1::bigint[], $2::float8[]) as u(k, ms)) as q
  cross join lateral (
    (select b.entry_id, b.band_key from story_buckets b
     where b.band_key = q.band_key and b.at between q.at - make_interval(secs => $3) and q.at
     order by b.at desc, b.entry_id desc limit $4)
    union all
    (select b.entry_id, b.band_key from story_buckets b
     where b.band_key = q.band_key and b.at > q.at and b.at <= q.at + make_interval(secs => $3)
     order by b.at, b.entry_id limit $4)
  ) b
  group by b.entry_id
) c
cross join lateral (select * from story_members m where m.entry_id = c.entry_id limit 1) m`;

const FEATURES_OF = `select entry_id, features from story_members where entry_id = any($1::bigint[])`;

/**
 * Decoded features of entries read as candidates, by entry id, with the hash of the stored text
 * (PostgreSQL's hashtext): an entry's features never change after insert, and the hash tells apart
 * the same id in another database (tests, benches) or reused after a restore. A cold round reads
 * each entry of the window as a candidate dozens of times (up to 64 candidates per new entry); with
 * the cache its features text never crosses the wire back (entries this process stored: their
 * vectors are kept at insert) or does once (entries another process stored). Bounded, oldest first
 * out: the 72 h window of 1,000 feeds × 20 items a day is ~60,000 entries. Memory: two typed arrays
 * per entry, ~0.6 KB of heap and up to 1.2 KB of RSS each (a cold round's heap peak rose ~80 MB).
 * Keeping the text instead (decoded per comparison) saved no poller CPU in the cold round.
 */
const FEATURE_CACHE_SIZE = 60_000;
const featureCache = new Map<number, { hash: number; features: FeatureVector }>();

function cacheFeatures(entryId: number, hash: number, features: FeatureVector): void {
  featureCache.delete(entryId);
  featureCache.set(entryId, { hash, features });
  if (featureCache.size > FEATURE_CACHE_SIZE) featureCache.delete(featureCache.keys().next().value!);
}

/**
 * Stored entries sharing a band key with a probe within the window of its time. Band keys are
 * hashed with the language, so one language never finds another's entries. Their story ids are
 * read every time (merges change them); their features only when not cached (a second statement).
 */
export async function findStoryCandidates(tx: Queryable, probes: readonly StoryProbeRow[], windowSeconds: number): Promise<StoryMember[]> {
  const seen = new Map<number, number[]>();
  const keys: number[] = [];
  const ats: number[] = [];
  for (const p of probes) {
    for (const k of p.bandKeys) {
      // Entries of one batch often share keys and times (one story, one poll): probe each pair once.
      const times = seen.get(k);
      if (times?.includes(p.at)) continue;
      if (times) times.push(p.at);
      else seen.set(k, [p.at]);
      keys.push(k);
      ats.push(p.at);
    }
  }
  if (keys.length === 0) return [];
  const r = await tx.query<{ entry_id: number; story_id: number; language: string; at_ms: number; features_hash: number; band_keys: Array<number | string> }>(
    FIND_CANDIDATES,
    [keys, ats, windowSeconds, NEAREST_PER_SIDE],
  );
  const features = new Map<number, FeatureVector>();
  const missing: number[] = [];
  for (const row of r.rows) {
    const id = Number(row.entry_id);
    const cached = featureCache.get(id);
    if (cached && cached.hash === row.features_hash) features.set(id, cached.features);
    else missing.push(id);
  }
  if (missing.length > 0) {
    const hashes = new Map(r.rows.map((row) => [Number(row.entry_id), row.features_hash]));
    for (const row of (await tx.query<{ entry_id: number; features: string }>(FEATURES_OF, [missing])).rows) {
      const id = Number(row.entry_id);
      const decoded = decodeFeatureVector(row.features);
      features.set(id, decoded);
      cacheFeatures(id, hashes.get(id)!, decoded);
    }
  }
  return r.rows.flatMap((row) => {
    const id = Number(row.entry_id);
    const f = features.get(id);
    // Deleted between the two statements (retention): no longer a candidate.
    if (f === undefined) return [];
    return [{
      entryId: id,
      storyId: Number(row.story_id),
      lang: row.language,
      // Epoch ms (float8): a cold round reads ~1.5 million candidate rows, and timestamptz text is
      // parsed into a Date per row.
      at: Math.round(row.at_ms),
      features: f,
      // int8[] comes back as strings from pg (only scalar int8 is parsed as a number).
      bandKeys: row.band_keys.map(Number),
    }];
  });
}

export interface StorySpan {
  id: number;
  firstAt: number;
  lastAt: number;
}

// Times travel as epoch milliseconds (float8): cheaper to send and to parse than timestamp text.
// Bucket rows take their entry and time from the members' arrays: band keys come BANDS per member
// (null-padded for an entry with no words), so the key's position names its member.
const INSERT_MEMBERS = `
with spans as (
  insert into stories (id, first_at, last_at)
  select id, to_timestamp(f / 1000.0), to_timestamp(l / 1000.0) from unnest($7::bigint[], $8::float8[], $9::float8[]) as u(id, f, l)
  on conflict (id) do update
  set first_at = least(stories.first_at, excluded.first_at), last_at = greatest(stories.last_at, excluded.last_at)
), members as (
  insert into story_members (entry_id, story_id, language, at, features)
  select e, s, l, to_timestamp(ms / 1000.0), f from unnest($1::bigint[], $2::bigint[], $3::text[], $4::float8[], $5::text[]) as u(e, s, l, ms, f)
  returning entry_id, hashtext(features) as features_hash
), buckets as (
  insert into story_buckets (band_key, at, entry_id)
  select k.band_key, to_timestamp(($4::float8[])[(k.n - 1) / $10 + 1] / 1000.0), ($1::bigint[])[(k.n - 1) / $10 + 1]
  from unnest($6::bigint[]) with ordinality as k(band_key, n)
  where k.band_key is not null
)
select entry_id, features_hash from members`;

/**
 * Records new entries' stories, features and band buckets, and creates their stories or widens
 * their time spans (span ids must be distinct): one statement.
 */
export async function insertStoryMembers(tx: Queryable, members: readonly StoryMembership[], spans: readonly StorySpan[]): Promise<void> {
  if (members.length === 0) return;
  const bucketKeys: Array<number | null> = [];
  for (const m of members) {
    if (m.bandKeys.length === BANDS) bucketKeys.push(...m.bandKeys);
    else if (m.bandKeys.length === 0) for (let b = 0; b < BANDS; b++) bucketKeys.push(null);
    else throw new Error(`entry ${m.entryId} has ${m.bandKeys.length} band keys, not ${BANDS}`);
  }
  const r = await tx.query<{ entry_id: number; features_hash: number }>(INSERT_MEMBERS, [
    members.map((m) => m.entryId),
    members.map((m) => m.storyId),
    members.map((m) => m.lang),
    members.map((m) => m.at),
    members.map((m) => m.features),
    bucketKeys,
    spans.map((sp) => sp.id),
    spans.map((sp) => sp.firstAt),
    spans.map((sp) => sp.lastAt),
    BANDS,
  ]);
  // New entries are the next ones' candidates: keep their decoded features (if this transaction
  // rolls back, their ids are never reused by PostgreSQL's sequence, and the hash guards the rest).
  const vectors = new Map(members.map((m) => [m.entryId, m.vector]));
  for (const row of r.rows) {
    const vector = vectors.get(Number(row.entry_id));
    if (vector) cacheFeatures(Number(row.entry_id), row.features_hash, vector);
  }
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

/** Deletes band buckets of entries older than retention keeps (their at is the entry's sort_at). */
export async function deleteStoryBucketsBefore(tx: Queryable, before: Date): Promise<number> {
  const r = await tx.query(`delete from story_buckets where at < $1::timestamptz`, [before.toISOString()]);
  return r.rowCount;
}
