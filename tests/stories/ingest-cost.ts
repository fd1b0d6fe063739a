/**
 * Measurement, not a test: ingest CPU per item with and without story assignment.
 *   npx tsx tests/stories/ingest-cost.ts <dir of a checkout without stories>
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx tests/stories/ingest-cost.ts <dir>
 * The baseline is the ingest code of another checkout (e.g. `git archive main src | tar -x -C DIR`,
 * with node_modules linked), run in this process on its own fresh database, alternating with this
 * checkout's ingest. Items are random text with a news-like word distribution (Zipf over 30,000
 * words, the commonest 100 left out as stop words; headline 10 words, lead 40 in the language's
 * script), so tokenising, band look-ups and verification do real work with realistic overlap. CPU is this process's user+system
 * time: on the embedded back end it includes the database; on the server it is the client side only
 * (the server's CPU is reported by wall time).
 */
import { createTestDb } from '../helpers/db.ts';
import { createFeed } from '../store/fixtures.ts';
import { emptyItem } from '../helpers/items.ts';
import { ingestItems as withStories } from '../../src/store/ingest.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';

type Ingest = typeof withStories;
const baselineDir = process.argv[2];
if (!baselineDir) throw new Error('usage: ingest-cost.ts <dir of a checkout without stories>');
const { ingestItems: withoutStories } = (await import(`${baselineDir}/src/store/ingest.ts`)) as { ingestItems: Ingest };

const FEEDS = Number(process.env.FEEDS ?? 40);
const ITEMS = Number(process.env.ITEMS ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const NOW = new Date('2026-11-28T00:00:00Z');

let seed = 42;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const VOCABULARY = 30_000;
const SKIP = 100;
const harmonic: number[] = [];
for (let r = 1, h = 0; r <= VOCABULARY; r++) harmonic.push((h += 1 / (r + SKIP)));
const total = harmonic[harmonic.length - 1]!;
const LETTERS: Record<string, string> = { en: 'abcdefghijklmnopqrstuvwxyz', it: 'abcdefghilmnopqrstuvzàèéìòù', fr: 'abcdefghijlmnopqrstuvéèêàçô', ar: 'ابتثجحخدذرزسشصضطظعغفقكلمنهوي' };
const spell = (lang: string, rank: number) => {
  const letters = LETTERS[lang]!;
  let w = '';
  for (let n = rank + 7919; w.length < 4 || n > 0; n = Math.floor(n / letters.length)) w += letters[n % letters.length];
  return rank % 7 === 0 ? w[0]!.toUpperCase() + w.slice(1) : w;
};
const word = (lang: string) => {
  const x = random() * total;
  let lo = 0;
  let hi = harmonic.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (harmonic[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return spell(lang, lo);
};
const words = (lang: string, n: number) => Array.from({ length: n }, () => word(lang)).join(' ');

const LANGS = ['en', 'it', 'fr', 'ar'];
const docs: Array<{ lang: string; items: NormalisedItem[] }> = Array.from({ length: FEEDS }, (_, f) => {
  const lang = LANGS[f % LANGS.length]!;
  return {
    lang,
    items: Array.from({ length: ITEMS }, (_, i) =>
      emptyItem({
        guid: `f${f}-i${i}`,
        url: `https://f${f}.example/news/${i}`,
        title: words(lang, 10),
        summary: words(lang, 40),
        content_html: `<p>${words(lang, 200)}</p>`,
        published: new Date(NOW.getTime() - random() * 72 * 3_600_000).toISOString(),
      }),
    ),
  };
});

async function run(ingest: Ingest): Promise<{ cpuUsPerItem: number; wallUsPerItem: number }> {
  const t = await createTestDb();
  try {
    const feeds: number[] = [];
    for (let f = 0; f < FEEDS; f++) feeds.push(await createFeed(t.db, `https://f${f}.example/feed`, docs[f]!.lang));
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let f = 0; f < FEEDS; f++) {
      await t.db.transaction((tx) => ingest(tx, { id: feeds[f]!, language: docs[f]!.lang }, docs[f]!.items, { now: NOW, retentionDays: 3650 }));
    }
    const cpu = process.cpuUsage(cpu0);
    const n = FEEDS * ITEMS;
    return { cpuUsPerItem: (cpu.user + cpu.system) / n, wallUsPerItem: ((performance.now() - wall0) * 1000) / n };
  } finally {
    await t.drop();
  }
}

const results: Record<'without' | 'with', Array<{ cpuUsPerItem: number; wallUsPerItem: number }>> = { without: [], with: [] };
await run(withStories); // warm-up: JIT, template load
for (let r = 0; r < ROUNDS; r++) {
  results.without.push(await run(withoutStories));
  results.with.push(await run(withStories));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const backend = process.env.DATABASE_URL ? 'postgres' : 'embedded';
const cpuWithout = median(results.without.map((r) => r.cpuUsPerItem));
const cpuWith = median(results.with.map((r) => r.cpuUsPerItem));
const wallWithout = median(results.without.map((r) => r.wallUsPerItem));
const wallWith = median(results.with.map((r) => r.wallUsPerItem));
console.log(
  `${backend}: ${FEEDS} feeds × ${ITEMS} new items, median of ${ROUNDS}: ` +
    `CPU ${cpuWithout.toFixed(0)} → ${cpuWith.toFixed(0)} µs/item (${(((cpuWith - cpuWithout) / cpuWithout) * 100).toFixed(1)}%), ` +
    `wall ${wallWithout.toFixed(0)} → ${wallWith.toFixed(0)} µs/item (${(((wallWith - wallWithout) / wallWithout) * 100).toFixed(1)}%)`,
);
