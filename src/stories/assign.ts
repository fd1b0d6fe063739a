import { decodeFeatureVector, encodeFeatures, featureVector, storyFeatures, storyLanguage, type FeatureVector, type StoryDoc, type StoryText } from './features.ts';
import { storyBandKeys } from './minhash.ts';
import { sameEvent, type MatchRules } from './match.ts';
import { WindowIndex } from './window-index.ts';

/**
 * Incremental story assignment for one batch of new entries, with no database, in two steps the
 * store calls with a statement between them: matchEntries compares each entry with the stored
 * members nearest to it per band key (an in-process index of the window, window-index.ts) and with
 * the batch's earlier entries; resolveStories then turns the matches into stories, given the
 * current story ids of the stored entries matched (merges change them, so the index keeps none).
 * Entries are taken in the order given, so the outcome depends only on arrival order.
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
 * and pairwise recall in a crowded window fell to 0.03, tests/stories/crowded.test.ts.) Stored
 * members and the batch's earlier entries are in one index, so a batch and one-by-one arrival
 * decide alike.
 */
export const NEAREST_PER_SIDE = 4;

export interface NewStoryEntry extends StoryText {
  entryId: number;
  /** Sort time (publication clamped to first sight), ms since the epoch. */
  at: number;
}

/** An entry already in a story, as stored (assignStories's candidates). */
export interface StoryMember {
  entryId: number;
  storyId: number;
  lang: string;
  at: number;
  /** Features as stored (encodeFeatures's text) or decoded. */
  features: string | FeatureVector;
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
  return { lang, features, vector, bandKeys: storyBandKeys(lang, vector) };
}

/**
 * For each entry, the ids of the entries it matches: stored members of its language's index and
 * earlier entries of the batch, each compared once. The index must hold every stored member within
 * the window of each entry's time; each entry is added to it once compared, so the batch's later
 * entries find it as they would a stored one.
 */
export function matchEntries(
  entries: readonly NewStoryEntry[],
  probes: readonly StoryProbe[],
  indexOf: (lang: string) => WindowIndex,
  rules: MatchRules,
): number[][] {
  const found: number[] = [];
  return entries.map((e, i) => {
    const probe = probes[i]!;
    const index = indexOf(probe.lang);
    const doc: StoryDoc = { lang: probe.lang, at: e.at, features: probe.vector };
    found.length = 0;
    for (const key of probe.bandKeys) index.nearest(key, e.at, rules.windowMs, NEAREST_PER_SIDE, found);
    const matched: number[] = [];
    const compared = new Set<number>();
    for (const slot of found) {
      // Found through several keys: compared once.
      if (compared.has(slot)) continue;
      compared.add(slot);
      if (sameEvent(doc, { lang: probe.lang, at: index.at(slot), features: index.vector(slot) }, rules)) matched.push(index.entryId(slot));
    }
    index.add(e.entryId, e.at, probe.vector, probe.bandKeys);
    return matched;
  });
}

/**
 * Stories from matches: an entry joins the oldest story among those of the entries it matched;
 * when they are several, the others merge into it. `storedStory` gives the current story of each
 * stored entry matched; one it lacks was deleted meanwhile and counts as no match.
 */
export function resolveStories(
  entries: readonly NewStoryEntry[],
  probes: readonly StoryProbe[],
  matches: readonly number[][],
  storedStory: ReadonlyMap<number, number>,
): StoryAssignment {
  // Merges decided in this batch: story id → the id it now belongs to.
  const redirect = new Map<number, number>();
  const resolve = (id: number): number => {
    let r = id;
    for (let next = redirect.get(r); next !== undefined; next = redirect.get(r)) r = next;
    return r;
  };
  const batchStory = new Map<number, number>();
  const members: StoryMembership[] = entries.map((e, i) => {
    const probe = probes[i]!;
    const matched = new Set<number>();
    for (const id of matches[i]!) {
      const story = batchStory.get(id) ?? storedStory.get(id);
      if (story !== undefined) matched.add(resolve(story));
    }
    const storyId = matched.size === 0 ? e.entryId : Math.min(...matched);
    for (const other of matched) if (other !== storyId) redirect.set(other, storyId);
    batchStory.set(e.entryId, storyId);
    return { entryId: e.entryId, storyId, lang: probe.lang, at: e.at, features: encodeFeatures(probe.features), bandKeys: probe.bandKeys };
  });
  // Entries of this batch may have joined a story that a later entry merged away.
  for (const m of members) m.storyId = resolve(m.storyId);
  const merges = [...redirect.keys()].map((from) => ({ from, into: resolve(from) })).sort((a, b) => a.from - b.from);
  return { members, merges };
}

/** Both steps over given candidates (tests and evaluation: everything in memory). */
export function assignStories(
  entries: readonly NewStoryEntry[],
  probes: readonly StoryProbe[],
  candidates: readonly StoryMember[],
  rules: MatchRules,
): StoryAssignment {
  const indexes = new Map<string, WindowIndex>();
  const indexOf = (lang: string): WindowIndex => {
    let index = indexes.get(lang);
    if (!index) indexes.set(lang, (index = new WindowIndex(lang)));
    return index;
  };
  const storedStory = new Map<number, number>();
  for (const c of candidates) {
    indexOf(c.lang).add(c.entryId, c.at, typeof c.features === 'string' ? decodeFeatureVector(c.features) : c.features, c.bandKeys);
    storedStory.set(c.entryId, c.storyId);
  }
  return resolveStories(entries, probes, matchEntries(entries, probes, indexOf, rules), storedStory);
}
