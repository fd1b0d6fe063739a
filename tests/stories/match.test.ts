import { describe, expect, it } from 'vitest';
import { storyProbe, DEFAULT_STORY_WINDOW_SECONDS, type NewStoryEntry } from '../../src/stories/assign.ts';
import { decodeFeatureVector, encodeFeatures, featureVector, IN_TITLE, STRONG } from '../../src/stories/features.ts';
import { requiredSimilarity, sameEvent, similarity } from '../../src/stories/match.ts';
import { loadLabelledSet } from './labelled-set.ts';

/**
 * The decision on integer feature vectors (one merge walk) must equal the rules written on word
 * maps, as they were before: the reference below, on every same-language pair of the labelled set.
 */
const weight = (f: number) => (f & STRONG ? 3 : 1) * (f & IN_TITLE ? 2 : 1);
function referenceSimilarity(a: Map<string, number>, b: Map<string, number>): number {
  let shared = 0;
  let total = 0;
  for (const [w, fa] of a) {
    const fb = b.get(w);
    if (fb === undefined) total += weight(fa);
    else {
      shared += Math.min(weight(fa), weight(fb));
      total += Math.max(weight(fa), weight(fb));
    }
  }
  for (const [w, fb] of b) if (!a.has(w)) total += weight(fb);
  return total === 0 ? 0 : shared / total;
}
const foreignNumber = (a: Map<string, number>, b: Map<string, number>) => [...a].some(([w, f]) => f & IN_TITLE && /^\d/.test(w) && !b.has(w));
const sharedStrong = (a: Map<string, number>, b: Map<string, number>) => [...a].filter(([w, f]) => b.has(w) && (f | b.get(w)!) & STRONG).length;

describe('feature vectors', () => {
  const set = loadLabelledSet();
  const windowMs = DEFAULT_STORY_WINDOW_SECONDS * 1000;
  const entries: NewStoryEntry[] = set.map((x) => ({ entryId: x.index + 1, at: x.published.getTime(), title: x.title, summary: x.lead, language: x.language }));
  const probes = entries.map(storyProbe);

  it('decode from the stored text to what the fresh features give', () => {
    for (const p of probes) {
      const text = encodeFeatures(p.features);
      expect(decodeFeatureVector(text)).toEqual(featureVector(p.features));
    }
    expect(decodeFeatureVector('').hashes.length).toBe(0);
  });

  it('decide every labelled pair as the word-map rules do', () => {
    let compared = 0;
    let same = 0;
    for (let i = 0; i < probes.length; i++) {
      for (let j = 0; j < probes.length; j++) {
        const a = probes[i]!;
        const b = probes[j]!;
        if (i === j || a.lang !== b.lang) continue;
        const gap = Math.abs(entries[i]!.at - entries[j]!.at);
        const sim = referenceSimilarity(a.features, b.features);
        const expected =
          gap <= windowMs &&
          !(foreignNumber(a.features, b.features) && foreignNumber(b.features, a.features)) &&
          sharedStrong(a.features, b.features) >= 2 &&
          sim >= requiredSimilarity(gap, windowMs);
        const da = { lang: a.lang, at: entries[i]!.at, features: decodeFeatureVector(encodeFeatures(a.features)) };
        const db = { lang: b.lang, at: entries[j]!.at, features: b.vector };
        expect(similarity(da, db)).toBe(sim);
        expect(sameEvent(da, db, { windowMs }), `${set[i]!.title} / ${set[j]!.title}`).toBe(expected);
        compared++;
        if (expected) same++;
      }
    }
    expect(compared).toBeGreaterThan(5000);
    expect(same).toBeGreaterThan(50);
  });
});
