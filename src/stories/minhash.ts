import { IN_TITLE, STRONG, type FeatureVector } from './features.ts';

/**
 * MinHash over an entry's key words (headline words, names, numbers), cut into LSH bands. Two
 * entries that share a band key are candidates; the probability of sharing at least one of B bands
 * of R rows is 1 - (1 - J^R)^B for key-word Jaccard J. Reworded headlines with the same facts share
 * few words (J ≈ 0.15–0.4), so bands are one row wide: on the labelled set 16 such bands find 56 of
 * 59 same-story pairs (2 rows × 16 bands found 42, 2 × 32 found 50 with all words). 8, 12 and 16
 * one-row bands give the same clustering there (6 lose pairs): 8, since every band is a posting
 * list to keep and to search per entry (it was a bucket row to write and an index probe at every
 * ingest when candidates came from SQL). Candidates are verified exactly (match.ts), so a
 * spurious candidate costs a comparison, a missed one costs recall.
 * Keys are 52-bit integers, exact in a JS number. They are not stored: the story index computes a
 * member's keys from its stored features (src/stories/window-index.ts).
 */
export const BANDS = 8;
export const ROWS = 1;

const SEEDS = Array.from({ length: BANDS * ROWS }, (_, i) => mix32(0x9e3779b9 ^ Math.imul(i + 1, 0x85ebca6b)));

/** FNV-1a over UTF-16 code units: stable across runs and processes. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: a cheap, well-mixed permutation of 32-bit values. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Band keys of a word set within one language, the words given by their FNV-1a hashes (features.ts's
 * wordHash); empty for an entry with no words.
 */
export function bandKeysOfHashes(lang: string, hashes: ArrayLike<number>): number[] {
  if (hashes.length === 0) return [];
  const mins = new Uint32Array(SEEDS.length).fill(0xffffffff);
  for (let s = 0; s < SEEDS.length; s++) {
    const seed = SEEDS[s]!;
    let min = 0xffffffff;
    for (let i = 0; i < hashes.length; i++) {
      const v = mix32(hashes[i]! ^ seed);
      if (v < min) min = v;
    }
    mins[s] = min;
  }
  const keys: number[] = [];
  const langHash = fnv1a(lang);
  for (let b = 0; b < BANDS; b++) {
    let hi = mix32(langHash ^ Math.imul(b + 1, 0x27d4eb2f));
    let lo = mix32(hi ^ 0x165667b1);
    for (let r = 0; r < ROWS; r++) {
      const v = mins[b * ROWS + r]!;
      hi = mix32(hi ^ v);
      lo = mix32(Math.imul(lo, 31) ^ v);
    }
    keys.push((hi & 0xfffff) * 0x100000000 + lo);
  }
  return keys;
}

/**
 * An entry's band keys, from its feature vector: the words hashed are the headline's and the
 * names/numbers of the lead. Reports of one event share a larger part of these than of all their
 * words, so narrower bands still find them.
 */
export function storyBandKeys(lang: string, v: FeatureVector): number[] {
  const hashes: number[] = [];
  for (let i = 0; i < v.hashes.length; i++) if ((v.flags[i]! & (STRONG | IN_TITLE)) !== 0) hashes.push(v.hashes[i]!);
  return bandKeysOfHashes(lang, hashes);
}
