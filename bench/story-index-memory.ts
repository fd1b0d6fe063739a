/**
 * Memory of the story index (src/stories/window-index.ts) per member: ENTRIES (190,000: a cold
 * round of 10,000 feeds in one 72 h window) bench-like "news" reports of one language (headline 10
 * and lead 40 words drawn Zipf-like from 30,000, every seventh a name), added as the store adds
 * loaded members. Heap and array buffers are measured after a forced GC, with the index alive.
 *   node --expose-gc --import tsx bench/story-index-memory.ts
 */
import { storyProbe } from '../src/stories/assign.ts';
import { decodeFeatureVector, encodeFeatures } from '../src/stories/features.ts';
import { WindowIndex } from '../src/stories/window-index.ts';

const ENTRIES = Number(process.env.ENTRIES ?? 190_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

let seed = 42;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const harmonic: number[] = [];
for (let r = 1, h = 0; r <= 30_000; r++) harmonic.push((h += 1 / (r + 100)));
const total = harmonic.at(-1)!;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
function word(): string {
  const x = random() * total;
  let lo = 0;
  let hi = harmonic.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (harmonic[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  let w = '';
  for (let n = lo + 7919; w.length < 4 || n > 0; n = Math.floor(n / LETTERS.length)) w += LETTERS[n % LETTERS.length];
  return lo % 7 === 0 ? w[0]!.toUpperCase() + w.slice(1) : w;
}
const words = (n: number) => Array.from({ length: n }, word).join(' ');

// Stored text, as the sync reads it; generated first so only the index is alive at the end.
const NOW = Date.parse('2026-11-28T00:00:00Z');
const rows = Array.from({ length: ENTRIES }, (_, i) => {
  const at = Math.floor(NOW - random() * 72 * 3_600_000);
  return { id: i + 1, at, features: encodeFeatures(storyProbe({ entryId: i + 1, at, title: words(10), summary: words(40), language: 'en' }).features) };
}).sort((a, b) => a.at - b.at);

const usage = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
};
const wordsEach = rows.reduce((n, r) => n + r.features.split(' ').length, 0) / rows.length;
// Measured both ways: with the index built, and once it is dropped again.
const before = usage();
let index: WindowIndex | null = new WindowIndex('en');
for (const r of rows) index.add(r.id, r.at, decodeFeatureVector(r.features));
const built = usage();
const counted = index.bytes();
index = null;
const dropped = usage();
const per = (bytes: number) => (bytes / ENTRIES).toFixed(0);
console.log(`${ENTRIES} members (${wordsEach.toFixed(1)} words each), bytes per member:`);
console.log(`  built:   heap +${per(built.heap - before.heap)}, array buffers +${per(built.buffers - before.buffers)}`);
console.log(`  dropped: heap −${per(built.heap - dropped.heap)}, array buffers −${per(built.buffers - dropped.buffers)}`);
console.log(`  the index's own count: ${per(counted)}`);
