import { IN_TITLE, STRONG, type StoryDoc } from './features.ts';

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

function weight(flags: number): number {
  return (flags & STRONG ? STRONG_WEIGHT : 1) * (flags & IN_TITLE ? TITLE_WEIGHT : 1);
}

/** Weighted Jaccard: shared weight over total weight, each word at its larger weight on either side. */
export function similarity(a: StoryDoc, b: StoryDoc): number {
  let shared = 0;
  let total = 0;
  for (const [word, fa] of a.features) {
    const fb = b.features.get(word);
    if (fb === undefined) {
      total += weight(fa);
    } else {
      const wa = weight(fa);
      const wb = weight(fb);
      shared += Math.min(wa, wb);
      total += Math.max(wa, wb);
    }
  }
  for (const [word, fb] of b.features) if (!a.features.has(word)) total += weight(fb);
  return total === 0 ? 0 : shared / total;
}

const isNumber = (word: string) => /^\d/.test(word);

/** A headline figure the other entry never mentions. */
function hasForeignHeadlineNumber(a: StoryDoc, b: StoryDoc): boolean {
  for (const [word, flags] of a.features) {
    if (flags & IN_TITLE && isNumber(word) && !b.features.has(word)) return true;
  }
  return false;
}

function sharedStrong(a: StoryDoc, b: StoryDoc): number {
  let n = 0;
  for (const [word, fa] of a.features) {
    const fb = b.features.get(word);
    if (fb !== undefined && (fa | fb) & STRONG) n++;
  }
  return n;
}

export function requiredSimilarity(gapMs: number, windowMs: number): number {
  const f = windowMs > 0 ? Math.min(1, gapMs / windowMs) : 1;
  return THRESHOLD_NEAR + (THRESHOLD_FAR - THRESHOLD_NEAR) * f;
}

export function sameEvent(a: StoryDoc, b: StoryDoc, rules: MatchRules): boolean {
  if (a.lang !== b.lang) return false;
  const gap = Math.abs(a.at - b.at);
  if (gap > rules.windowMs) return false;
  if (hasForeignHeadlineNumber(a, b) && hasForeignHeadlineNumber(b, a)) return false;
  if (sharedStrong(a, b) < MIN_SHARED_STRONG) return false;
  return similarity(a, b) >= requiredSimilarity(gap, rules.windowMs);
}
