import type { NewStoryEntry } from '../../src/stories/assign.ts';
import { storyProbe } from '../../src/stories/assign.ts';
import type { LabelledItem } from './labelled-set.ts';

/**
 * A crowded story window: bench-like noise reports (pseudo-words) of which a share of words (`mix`)
 * are the labelled set's own, so they share its band keys (as a real cold round of ~47,500 reports
 * in 72 h shares most keys among dozens of entries) without reporting its events. Labelled words are
 * drawn from the same language's headlines and leads with their frequency in the set (a word used
 * often is drawn often), names kept capitalised; times uniform over the labelled set's span and a
 * day either side.
 */
export function crowdedNoise(set: readonly LabelledItem[], perLanguage: number, mix: number, seed = 7): Array<Omit<NewStoryEntry, 'entryId'>> {
  let s = seed;
  const random = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const times = set.map((x) => x.published.getTime());
  const from = Math.min(...times) - 86_400_000;
  const span = Math.max(...times) + 86_400_000 - from;
  const noise: Array<Omit<NewStoryEntry, 'entryId'>> = [];
  for (const lang of [...new Set(set.map((x) => x.language))].sort()) {
    const own = set.filter((x) => x.language === lang);
    const titleWords = own.flatMap((x) => x.title.split(/\s+/));
    const leadWords = own.flatMap((x) => x.lead.split(/\s+/));
    const pseudo = () => 'q' + Math.floor(random() * 30_000).toString(36);
    const draw = (pool: string[], n: number) =>
      Array.from({ length: n }, () => (random() < mix ? pool[Math.floor(random() * pool.length)]! : pseudo())).join(' ');
    for (let i = 0; i < perLanguage; i++) {
      noise.push({ at: Math.floor(from + random() * span), title: draw(titleWords, 9), summary: draw(leadWords, 25), language: lang });
    }
  }
  return noise.sort((a, b) => a.at - b.at);
}

/**
 * Share of the labelled reports' band keys that at least `crowd` noise reports also carry within the
 * window around the report: how crowded the window is where it matters.
 */
export function crowdedKeyShare(set: readonly LabelledItem[], noise: ReturnType<typeof crowdedNoise>, windowMs: number, crowd: number): number {
  const byKey = new Map<number, number[]>();
  for (const n of noise) for (const k of new Set(storyProbe({ ...n, entryId: 0 }).bandKeys)) byKey.set(k, [...(byKey.get(k) ?? []), n.at]);
  let keys = 0;
  let crowded = 0;
  for (const x of set) {
    const at = x.published.getTime();
    for (const k of new Set(storyProbe({ entryId: 0, at, title: x.title, summary: x.lead, language: x.language }).bandKeys)) {
      keys++;
      if ((byKey.get(k) ?? []).filter((t) => Math.abs(t - at) <= windowMs).length >= crowd) crowded++;
    }
  }
  return crowded / keys;
}
