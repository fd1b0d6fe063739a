import { decodeFeatures, encodeFeatures, storyFeatures, storyLanguage, type StoryDoc, type StoryText } from './features.ts';
import { bandKeys } from './minhash.ts';
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
   * Encoded features, or the space-separated text the store keeps them as: split only when the
   * member is compared (a batch reads back tens of thousands of candidates; most are never compared).
   */
  features: readonly string[] | string;
  /** The band keys through which it was found. */
  bandKeys: readonly number[];
}

/** What the store writes for one new entry. */
export interface StoryMembership {
  entryId: number;
  storyId: number;
  lang: string;
  at: number;
  features: string[];
  bandKeys: number[];
}

export interface StoryAssignment {
  members: StoryMembership[];
  /** Stories absorbed by another: `from` now redirects to `into` (into < from). */
  merges: Array<{ from: number; into: number }>;
}

/** The searchable part of a new entry: its language, band keys and features. */
export function storyProbe(e: NewStoryEntry): { lang: string; features: Map<string, number>; bandKeys: number[] } {
  const lang = storyLanguage(e);
  const features = storyFeatures(e);
  return { lang, features, bandKeys: bandKeys(lang, keyWords(features)) };
}

/**
 * The words hashed into bands: the headline's and the names/numbers of the lead. Reports of one
 * event share a larger part of these than of all their words, so narrower bands still find them.
 */
function keyWords(features: ReadonlyMap<string, number>): string[] {
  const words: string[] = [];
  for (const [word, flags] of features) if (flags !== 0) words.push(word);
  return words;
}

/** At most this many holders of one band key are compared with a new entry (the most recent). */
const BUCKET_SCAN_LIMIT = 12;

interface Known {
  entryId: number;
  storyId: number;
  readonly doc: StoryDoc;
}

export function assignStories(
  entries: readonly NewStoryEntry[],
  probes: ReadonlyArray<ReturnType<typeof storyProbe>>,
  candidates: readonly StoryMember[],
  rules: MatchRules,
): StoryAssignment {
  const buckets = new Map<number, Known[]>();
  const put = (key: number, k: Known) => {
    const list = buckets.get(key);
    if (list) list.push(k);
    else buckets.set(key, [k]);
  };
  // Candidates in id order, so a bucket lists older entries first whatever order the database returned.
  for (const c of [...candidates].sort((a, b) => a.entryId - b.entryId)) {
    // Features are decoded on first comparison: most candidates of a crowded key are never compared.
    let doc: StoryDoc | null = null;
    const known: Known = {
      entryId: c.entryId,
      storyId: c.storyId,
      get doc() {
        return (doc ??= { lang: c.lang, at: c.at, features: decodeFeatures(c.features) });
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
    const doc: StoryDoc = { lang: probe.lang, at: e.at, features: probe.features };
    const seen = new Set<number>();
    const matched = new Set<number>();
    for (const key of probe.bandKeys) {
      const list = buckets.get(key) ?? [];
      // The newest few of a crowded bucket only (the store bounds its look-up the same way):
      // comparing every new entry with every holder of a common key is quadratic.
      for (let j = list.length - 1; j >= Math.max(0, list.length - BUCKET_SCAN_LIMIT); j--) {
        const k = list[j]!;
        if (seen.has(k.entryId)) continue;
        seen.add(k.entryId);
        if (sameEvent(doc, k.doc, rules)) matched.add(resolve(k.storyId));
      }
    }
    const storyId = matched.size === 0 ? e.entryId : Math.min(...matched);
    for (const other of matched) if (other !== storyId) redirect.set(other, storyId);
    const known: Known = { entryId: e.entryId, storyId, doc };
    for (const key of probe.bandKeys) put(key, known);
    members.push({ entryId: e.entryId, storyId, lang: probe.lang, at: e.at, features: encodeFeatures(probe.features), bandKeys: probe.bandKeys });
  });

  // Entries of this batch may have joined a story that a later entry merged away.
  for (const m of members) m.storyId = resolve(m.storyId);
  const merges = [...redirect.keys()].map((from) => ({ from, into: resolve(from) })).sort((a, b) => a.from - b.from);
  return { members, merges };
}
