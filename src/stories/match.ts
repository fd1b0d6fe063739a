import { IN_TITLE, NUMBER, STRONG, type FeatureVector, type StoryDoc } from './features.ts';

/**
 * The decision "these two entries report the same event", made on their features alone. Rules, in
 * the order a pair is rejected:
 *  - languages differ, or the publication times are further apart than the story window;
 *  - both headlines carry a number the other entry does not mention at all (tomorrow's weather,
 *    today's exchange rate, another match's score: recurring items that differ only in figures);
 *  - fewer than MIN_SHARED_STRONG names/places/numbers in common;
 *  - weighted similarity below a threshold that rises with the time between the two: reports of
 *    one event come within hours, a follow-up with the same names days later is a new development.
 */
export interface MatchRules {
  windowMs: number;
}

const STRONG_WEIGHT = 3;
const TITLE_WEIGHT = 2;
const MIN_SHARED_STRONG = 2;
/** Required similarity for two entries published together, and for two a full window apart. */
const THRESHOLD_NEAR = 0.2;
const THRESHOLD_FAR = 0.45;

/** A word's weight by its flags (STRONG | IN_TITLE; NUMBER does not weigh). */
const WEIGHT = Array.from({ length: 8 }, (_, f) => (f & STRONG ? STRONG_WEIGHT : 1) * (f & IN_TITLE ? TITLE_WEIGHT : 1));
const FOREIGN = IN_TITLE | NUMBER;

/** What one merge walk of two feature vectors finds. */
interface Overlap {
  /** Weighted Jaccard: shared weight over total weight, each word at its larger weight on either side. */
  similarity: number;
  /** Words in both, strong on either side. */
  sharedStrong: number;
  /** Each side has a headline number the other never mentions. */
  foreignNumbersBothWays: boolean;
}

function overlap(a: FeatureVector, b: FeatureVector): Overlap {
  const ha = a.hashes, hb = b.hashes, fa = a.flags, fb = b.flags;
  let i = 0, j = 0, shared = 0, total = 0, sharedStrong = 0;
  let aForeign = false, bForeign = false;
  while (i < ha.length && j < hb.length) {
    const x = ha[i]!, y = hb[j]!;
    if (x === y) {
      const f = fa[i]!, g = fb[j]!;
      const wa = WEIGHT[f]!, wb = WEIGHT[g]!;
      shared += wa < wb ? wa : wb;
      total += wa < wb ? wb : wa;
      if ((f | g) & STRONG) sharedStrong++;
      i++;
      j++;
    } else if (x < y) {
      const f = fa[i++]!;
      total += WEIGHT[f]!;
      if ((f & FOREIGN) === FOREIGN) aForeign = true;
    } else {
      const g = fb[j++]!;
      total += WEIGHT[g]!;
      if ((g & FOREIGN) === FOREIGN) bForeign = true;
    }
  }
  for (; i < ha.length; i++) {
    const f = fa[i]!;
    total += WEIGHT[f]!;
    if ((f & FOREIGN) === FOREIGN) aForeign = true;
  }
  for (; j < hb.length; j++) {
    const g = fb[j]!;
    total += WEIGHT[g]!;
    if ((g & FOREIGN) === FOREIGN) bForeign = true;
  }
  return { similarity: total === 0 ? 0 : shared / total, sharedStrong, foreignNumbersBothWays: aForeign && bForeign };
}

export function similarity(a: StoryDoc, b: StoryDoc): number {
  return overlap(a.features, b.features).similarity;
}

export function requiredSimilarity(gapMs: number, windowMs: number): number {
  const f = windowMs > 0 ? Math.min(1, gapMs / windowMs) : 1;
  return THRESHOLD_NEAR + (THRESHOLD_FAR - THRESHOLD_NEAR) * f;
}

export function sameEvent(a: StoryDoc, b: StoryDoc, rules: MatchRules): boolean {
  if (a.lang !== b.lang) return false;
  const gap = Math.abs(a.at - b.at);
  if (gap > rules.windowMs) return false;
  // One walk gives every rule's input; the rules are all required, so their order is only cost.
  const o = overlap(a.features, b.features);
  if (o.foreignNumbersBothWays) return false;
  if (o.sharedStrong < MIN_SHARED_STRONG) return false;
  return o.similarity >= requiredSimilarity(gap, rules.windowMs);
}
