/** Tuning aid, not a test: npx tsx tests/stories/eval.ts [--errors] */
import { assignStories, storyProbe, type NewStoryEntry } from '../../src/stories/assign.ts';
import { loadLabelledSet, type LabelledItem } from './labelled-set.ts';
import { formatQuality, quality } from './metrics.ts';

const set = loadLabelledSet();
const entries: NewStoryEntry[] = set.map((x) => ({ entryId: x.index + 1, at: x.published.getTime(), title: x.title, summary: x.lead, language: x.language }));
const t0 = performance.now();
const probes = entries.map(storyProbe);
const { members } = assignStories(entries, probes, [], { windowMs: 72 * 3_600_000 });
const ms = performance.now() - t0;
const predicted = members.map((m) => m.storyId);
const scored = (subset: LabelledItem[]) => quality(subset.map((x) => ({ gold: x.story, predicted: predicted[x.index]!, negativeGroup: x.negativeGroup })));
for (const [label, subset] of [
  ['all', set],
  ['tune', set.filter((x) => x.split === 'tune')],
  ['holdout', set.filter((x) => x.split === 'holdout')],
  ...['en', 'it', 'fr', 'ar'].map((l) => [l, set.filter((x) => x.language.startsWith(l))] as const),
] as const) {
  console.log(formatQuality(label.padEnd(7), scored([...subset])));
}
console.log(`clustering ${set.length} items: ${ms.toFixed(1)} ms`);
if (process.argv.includes('--errors')) {
  const q = scored(set);
  const show = (x: LabelledItem) => `[${x.story} ${x.outlet} +${(x.published.getTime() - Date.parse('2026-11-23T00:00:00Z')) / 3.6e6}h] ${x.title}`;
  for (const [i, j] of q.falseMerges) console.log(`FALSE MERGE\n  ${show(set[i]!)}\n  ${show(set[j]!)}`);
  for (const [i, j] of q.missedPairs) console.log(`MISSED\n  ${show(set[i]!)}\n  ${show(set[j]!)}`);
}
if (process.argv.includes('--why')) {
  const { similarity, requiredSimilarity } = await import('../../src/stories/match.ts');
  const q = scored(set);
  const doc = (i: number) => ({ lang: probes[i]!.lang, at: entries[i]!.at, features: probes[i]!.features });
  for (const [i, j] of q.missedPairs) {
    const a = doc(i), b = doc(j);
    const shared = [...a.features].filter(([w]) => b.features.has(w)).map(([w, f]) => `${w}:${f}|${b.features.get(w)}`);
    const bandShared = probes[i]!.bandKeys.filter((k) => probes[j]!.bandKeys.includes(k)).length;
    console.log(`${set[i]!.story}: sim ${similarity({ ...a, features: probes[i]!.vector }, { ...b, features: probes[j]!.vector }).toFixed(3)} need ${requiredSimilarity(Math.abs(a.at - b.at), 72 * 3.6e6).toFixed(3)} bands ${bandShared} shared ${shared.join(' ')}`);
    console.log(`   A ${[...a.features].map(([w, f]) => w + ':' + f).join(' ')}`);
    console.log(`   B ${[...b.features].map(([w, f]) => w + ':' + f).join(' ')}`);
  }
}
{
  // Candidate generation alone: gold pairs that share at least one band key, and how many pairs do.
  let goldPairs = 0, goldFound = 0, candidatePairs = 0;
  for (let i = 0; i < set.length; i++) for (let j = i + 1; j < set.length; j++) {
    const sharesBand = probes[i]!.lang === probes[j]!.lang && probes[i]!.bandKeys.some((k) => probes[j]!.bandKeys.includes(k));
    if (sharesBand) candidatePairs++;
    if (set[i]!.story === set[j]!.story) { goldPairs++; if (sharesBand) goldFound++; }
  }
  console.log(`LSH candidates: ${goldFound}/${goldPairs} gold pairs found, ${candidatePairs} candidate pairs in all`);
}
if (process.argv.includes('--near')) {
  const { similarity, requiredSimilarity } = await import('../../src/stories/match.ts');
  const rows: string[] = [];
  for (let i = 0; i < set.length; i++) for (let j = i + 1; j < set.length; j++) {
    if (set[i]!.story === set[j]!.story || probes[i]!.lang !== probes[j]!.lang) continue;
    const a = { lang: probes[i]!.lang, at: entries[i]!.at, features: probes[i]!.features };
    const b = { lang: probes[j]!.lang, at: entries[j]!.at, features: probes[j]!.features };
    const gap = Math.abs(a.at - b.at);
    const sim = similarity({ ...a, features: probes[i]!.vector }, { ...b, features: probes[j]!.vector });
    if (sim < 0.15 || gap > 72 * 3.6e6) continue;
    const need = requiredSimilarity(gap, 72 * 3.6e6);
    rows.push(`${(sim - need).toFixed(3)} sim ${sim.toFixed(3)} need ${need.toFixed(3)} gap ${(gap / 3.6e6).toFixed(0)}h ${set[i]!.story} ~ ${set[j]!.story}`);
  }
  console.log(rows.sort().reverse().slice(0, 25).join('\n'));
}
