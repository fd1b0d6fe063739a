import { describe, expect, it } from 'vitest';
import { assignStories, storyProbe, DEFAULT_STORY_WINDOW_SECONDS, type NewStoryEntry } from '../../src/stories/assign.ts';
import { loadLabelledSet, scoreOf } from './labelled-set.ts';
import { formatQuality, quality } from './metrics.ts';
import { crowdedKeyShare, crowdedNoise } from './crowded.ts';

/**
 * Quality in a crowded window (pure clustering; the store reads candidates by the same per-key rule,
 * tests/stories/chain.test.ts). A real cold round puts ~47,500 reports in one 72 h window, and most
 * band keys are then shared by more entries than a key's candidates read back: the labelled set must
 * still cluster as well when its reports arrive into a window already full of look-alike noise.
 */
const RULES = { windowMs: DEFAULT_STORY_WINDOW_SECONDS * 1000 };
const NOISE_PER_LANGUAGE = 3_000;

describe('story clustering of the labelled set in a crowded window', () => {
  const set = loadLabelledSet();
  const noise = crowdedNoise(set, NOISE_PER_LANGUAGE, Number(process.env.MIX ?? 0.3));

  it('keeps pairwise precision ≥ 0.95 and recall ≥ 0.85 after thousands of noise reports', () => {
    // Noise first (the window pre-filled), then the labelled reports in arrival order.
    const entries: NewStoryEntry[] = [
      ...noise.map((n, i) => ({ ...n, entryId: i + 1 })),
      ...set.map((x) => ({ entryId: noise.length + x.index + 1, at: x.published.getTime(), title: x.title, summary: x.lead, language: x.language })),
    ];
    const { members } = assignStories(entries, entries.map(storyProbe), [], RULES);
    const predicted = members.slice(noise.length).map((m) => m.storyId);
    const q = quality(scoreOf(set, (x) => predicted[x.index]!));
    const share = crowdedKeyShare(set, noise, RULES.windowMs, 8);
    console.log(
      `Story quality in a crowded window (${noise.length} noise reports, ${(share * 100).toFixed(0)}% of the labelled band keys shared by ≥ 8 of them):\n  ${formatQuality('all', q)}`,
    );
    expect(share).toBeGreaterThan(0.5);
    expect(q.pairwisePrecision).toBeGreaterThanOrEqual(0.95);
    expect(q.pairwiseRecall).toBeGreaterThanOrEqual(0.85);
    expect(q.hardNegativeMergeRate).toBeLessThan(0.03);
  });
});
