import { describe, expect, it } from 'vitest';
import { NEAREST_PER_SIDE } from '../../src/stories/assign.ts';
import type { FeatureVector } from '../../src/stories/features.ts';
import { storyBandKeys } from '../../src/stories/minhash.ts';
import { WindowIndex } from '../../src/stories/window-index.ts';

const WINDOW = 72 * 3_600_000;
let seed = 7;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const vector = (n: number): FeatureVector => ({ hashes: Uint32Array.from({ length: n }, (_, i) => i * 7 + 1), flags: new Uint8Array(n).fill(3) });

/** Members with a few band keys drawn from a small set, so keys are shared and crowded; ties in time too. */
function members(count: number) {
  const keys = [1, 2, 3, 2 ** 40 + 5, 2 ** 51 + 9, 123_456_789_012];
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    at: Math.floor(random() * 40) * 3_600_000,
    keys: keys.filter(() => random() < 0.4),
    words: 1 + Math.floor(random() * 30),
  }));
}

describe('the story window index', () => {
  it('gives per key the NEAREST_PER_SIDE members each side of a time within the window, as the rule says', () => {
    const all = members(2_000);
    const index = new WindowIndex('en');
    for (const m of all) index.add(m.id, m.at, vector(m.words), m.keys);
    const dead = new Set(all.filter(() => random() < 0.05).map((m) => m.id));
    for (const id of dead) index.kill(id);
    for (let probe = 0; probe < 200; probe++) {
      const at = Math.floor(random() * 50) * 3_600_000 - 5 * 3_600_000;
      const windowMs = probe % 2 === 0 ? WINDOW : 6 * 3_600_000;
      for (const key of [1, 2, 3, 2 ** 40 + 5, 2 ** 51 + 9, 123_456_789_012, 4]) {
        const bucket = all.filter((m) => m.keys.includes(key) && !dead.has(m.id) && Math.abs(m.at - at) <= windowMs).sort((a, b) => a.at - b.at || a.id - b.id);
        const want = [...bucket.filter((m) => m.at <= at).slice(-NEAREST_PER_SIDE), ...bucket.filter((m) => m.at > at).slice(0, NEAREST_PER_SIDE)].map((m) => m.id).sort((a, b) => a - b);
        const slots: number[] = [];
        index.nearest(key, at, windowMs, NEAREST_PER_SIDE, slots);
        expect(slots.map((s) => index.entryId(s)).sort((a, b) => a - b)).toEqual(want);
      }
    }
    // Each member's features come back as added.
    const slots: number[] = [];
    index.nearest(1, 20 * 3_600_000, WINDOW, 10_000, slots);
    for (const s of slots) expect([...index.vector(s).hashes]).toEqual([...vector(all[index.entryId(s) - 1]!.words).hashes]);
    // A member with no band key is never a candidate and is not held.
    expect(index.size).toBe(all.filter((m) => m.keys.length > 0 && !dead.has(m.id)).length);
  });

  it('keeps only the retained interval, and its held intervals as a sorted union', () => {
    const index = new WindowIndex('en');
    index.cover(100, 200);
    index.cover(300, 400);
    expect(index.missing(50, 450)).toEqual([{ lo: 50, hi: 100 }, { lo: 200, hi: 300 }, { lo: 400, hi: 450 }]);
    expect(index.missing(120, 180)).toEqual([]);
    index.cover(200, 300);
    expect(index.intervals).toEqual([{ lo: 100, hi: 400 }]);
    // Band keys from the features, as the store adds members (a rebuild computes them again).
    for (let i = 0; i < 300; i++) index.add(i + 1, 100 + i, vector(3));
    const key = storyBandKeys('en', vector(3))[0]!;
    expect(index.countBefore(150)).toBe(50);
    index.retain(150, Infinity);
    expect(index.intervals).toEqual([{ lo: 150, hi: 400 }]);
    expect(index.size).toBe(250);
    const slots: number[] = [];
    index.nearest(key, 120, 1_000, 3, slots);
    expect(slots.map((s) => index.entryId(s))).toEqual([51, 52, 53]);
  });
});
