import { decodeFeatureVector, encodeFeatures, featureVector, storyFeatures, storyLanguage, type FeatureVector, type StoryDoc, type StoryText, IN_TITLE, STRONG } from './features.ts';
import { bandKeysOfHashes } from './minhash.ts';
import { sameEvent, type MatchRules } from './match.ts';

/**
 * Incremental story assignment for one batch of new entries, with no database: the store fetches
 * the candidates (entries sharing a band key within the window) and writes the result. Entries are
 * taken in the order given, each compared with the candidates and with the batch's earlier entries,
 * so the outcome depends only on arrival order.
 *
 * A story's id is the id of its first entry. An entry that matches entries of several stories joins
 * the oldest (lowest id) and the others are merged into it: their ids redirect to the survivor.
 */

/** STORY_WINDOW's default: reports of one event come within hours, rarely after three days. */
export const DEFAULT_STORY_WINDOW_SECONDS = 72 * 3600;

/**
 * Per band key, an entry is compared with at most this many entries on each side of its time: the
 * nearest before it (or at the same time) and the nearest after it, within the window. A key shared
 * by hundreds of entries in the window is a common word (a daily "weather update", a name in every
 * headline of the week); without a cap every new entry would be read back and compared with all of
 * them, and ingest would grow with the square of such entries. Reports of one event come close
 * together and share several keys, so the nearest in time are the ones that matter. (The cap was
 * "the 8 latest of the window": in a cold round, where ~47,500 reports of the last 72 h arrive in
 * any time order, those are the newest reports of the window, hours or days away from most entries,
 * and pairwise recall in a crowded window fell to 0.03, tests/stories/crowded.test.ts.) The store
 * applies the same cap when it reads candidates (two bounded index scans per key, stories.ts), so a
 * batch and one-by-one arrival decide alike.
 */
export const NEAREST_PER_SIDE = 4;

export interface NewStoryEntry extends StoryText {
  entryId: number;
  /** Sort time (publication clamped to first sight), ms since the epoch. */
  at: number;
}

/** An entry already in a story, as stored. */
export interface StoryMember {
  entryId: number;
  storyId: number;
  lang: string;
  at: number;
  /**
   * Features as the store keeps them (encodeFeatures's text, decoded only when the member is
   * compared), or already decoded (the store keeps decoded features of entries it read before).
   */
  features: string | FeatureVector;
  /** The band keys through which it was found. */
  bandKeys: readonly number[];
}

/** What the store writes for one new entry. */
export interface StoryMembership {
  entryId: number;
  storyId: number;
  lang: string;
  at: number;
  /** encodeFeatures's text. */
  features: string;
  /** The same features decoded, when at hand (the store keeps them for later look-ups). */
  vector?: FeatureVector;
  bandKeys: number[];
}

export interface StoryAssignment {
  members: StoryMembership[];
  /** Stories absorbed by another: `from` now redirects to `into` (into < from). */
  merges: Array<{ from: number; into: number }>;
}

export interface StoryProbe {
  lang: string;
  features: Map<string, number>;
  vector: FeatureVector;
  bandKeys: number[];
}

/** The searchable part of a new entry: its language, band keys and features. */
export function storyProbe(e: NewStoryEntry): StoryProbe {
  const lang = storyLanguage(e);
  const features = storyFeatures(e);
  const vector = featureVector(features);
  return { lang, features, vector, bandKeys: bandKeysOfHashes(lang, keyWordHashes(vector)) };
}

/**
 * The words hashed into bands: the headline's and the names/numbers of the lead. Reports of one
 * event share a larger part of these than of all their words, so narrower bands still find them.
 */
function keyWordHashes(v: FeatureVector): number[] {
  const hashes: number[] = [];
  for (let i = 0; i < v.hashes.length; i++) if ((v.flags[i]! & (STRONG | IN_TITLE)) !== 0) hashes.push(v.hashes[i]!);
  return hashes;
}

interface Known {
  entryId: number;
  storyId: number;
  /** Sort time: buckets are ordered by it without decoding features. */
  at: number;
  readonly doc: StoryDoc;
  /** The new entry it was last compared with (entries are taken one at a time). */
  comparedWith: number;
}

export function assignStories(
  entries: readonly NewStoryEntry[],
  probes: readonly StoryProbe[],
  candidates: readonly StoryMember[],
  rules: MatchRules,
): StoryAssignment {
  // Each bucket sorted by (at, entryId), so the latest entries of a window are found by bisection.
  const buckets = new Map<number, Known[]>();
  const put = (key: number, k: Known) => {
    const list = buckets.get(key);
    if (!list) {
      buckets.set(key, [k]);
      return;
    }
    list.splice(bisect(list, k.at, k.entryId), 0, k);
  };
  // Candidates in id order, so a bucket lists older entries first whatever order the database returned.
  for (const c of [...candidates].sort((a, b) => a.entryId - b.entryId)) {
    // Features are decoded on first comparison: most candidates of a crowded key are never compared.
    let doc: StoryDoc | null = null;
    const known: Known = {
      entryId: c.entryId,
      storyId: c.storyId,
      at: c.at,
      comparedWith: 0,
      get doc() {
        return (doc ??= { lang: c.lang, at: c.at, features: typeof c.features === 'string' ? decodeFeatureVector(c.features) : c.features });
      },
    };
    for (const key of c.bandKeys) put(key, known);
  }

  // Merges decided in this batch: story id → the id it now belongs to.
  const redirect = new Map<number, number>();
  const resolve = (id: number): number => {
    let r = id;
    for (let next = redirect.get(r); next !== undefined; next = redirect.get(r)) r = next;
    return r;
  };

  const members: StoryMembership[] = [];
  entries.forEach((e, i) => {
    const probe = probes[i]!;
    const doc: StoryDoc = { lang: probe.lang, at: e.at, features: probe.vector };
    const matched = new Set<number>();
    for (const key of probe.bandKeys) {
      const list = buckets.get(key);
      if (!list) continue;
      // The NEAREST_PER_SIDE entries of the bucket before (or at) its time and after it, within the
      // window, as the store reads them.
      const start = bisect(list, e.at - rules.windowMs, -Infinity);
      const middle = bisect(list, e.at, Infinity);
      const end = bisect(list, e.at + rules.windowMs, Infinity);
      const last = Math.min(end, middle + NEAREST_PER_SIDE);
      for (let i = Math.max(start, middle - NEAREST_PER_SIDE); i < last; i++) {
        const k = list[i]!;
        // Found through several keys: compared once.
        if (k.comparedWith === e.entryId) continue;
        k.comparedWith = e.entryId;
        if (sameEvent(doc, k.doc, rules)) matched.add(resolve(k.storyId));
      }
    }
    const storyId = matched.size === 0 ? e.entryId : Math.min(...matched);
    for (const other of matched) if (other !== storyId) redirect.set(other, storyId);
    const known: Known = { entryId: e.entryId, storyId, at: e.at, doc, comparedWith: 0 };
    for (const key of probe.bandKeys) put(key, known);
    members.push({ entryId: e.entryId, storyId, lang: probe.lang, at: e.at, features: encodeFeatures(probe.features), vector: probe.vector, bandKeys: probe.bandKeys });
  });

  // Entries of this batch may have joined a story that a later entry merged away.
  for (const m of members) m.storyId = resolve(m.storyId);
  const merges = [...redirect.keys()].map((from) => ({ from, into: resolve(from) })).sort((a, b) => a.from - b.from);
  return { members, merges };
}

/** Index of the first element after (at, entryId) in a list sorted by (at, entryId). */
function bisect(list: readonly Known[], at: number, entryId: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = list[mid]!;
    if (m.at < at || (m.at === at && m.entryId <= entryId)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
