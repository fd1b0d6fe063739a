/**
 * Cost of story assignment at ingest (issue 11: at most +25% ingest CPU per item). The real
 * ingestPolls runs with stories off and on, alternating, each run on a fresh database:
 *   npm run bench:stories                 (embedded PGlite: the process's CPU includes the database)
 *   DATABASE_URL=postgres://… npm run bench:stories   (server: this process's CPU plus its backend's)
 * Options (env): FEEDS (40), ITEMS per feed (50), ROUNDS (3), WORKLOAD (news or recurring; both), PIPELINE (1: also the pipeline scope),
 * BATCH: feeds stored per transaction (8, as the worker's group commit does; 1 = a feed at a time),
 * WINDOW_FILL: background entries already in the story window before the measured ingest (0; the
 * real cold round of 1,000 feeds has ~47,500: WINDOW_FILL=45000 crowds most band keys as it does).
 * WARM_INDEX=1: the story index has loaded them before the measurement (a worker that has been
 * running), rather than in the measured ingest's first batches (a worker just started).
 *
 * Two workloads. "news": headline 10 and lead 40 words drawn Zipf-like from 30,000 words per
 * language (en/it/fr/ar scripts, the 100 commonest left out as stop words), publication times
 * spread over the story window, so tokenising, band look-ups and verification do realistic work.
 * "recurring": every item of a feed titled "<feed> update <n>" (daily weather, rates, scores): the
 * worst case for band keys, where every entry shares keys with every earlier one.
 * The ratio is to the same ingest without stories measured in the same run (never an absolute).
 *
 * Two scopes, each on its own line: "store" (ingestPolls alone, items already normalised: the
 * issue's "ingest CPU per item") and, with PIPELINE=1, "pipeline" (what a worker does after the
 * fetch: the feed's RSS bytes decoded, parsed and normalised by the project's parse step, the same
 * parseFeed the worker's parse threads call, then ingestPolls). Both count the same CPU as above.
 */
import { readFileSync } from 'node:fs';
import { createBenchDatabase } from './bench-db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres, type Db } from '../src/store/db.ts';
import { insertFeeds } from '../src/store/feeds.ts';
import { ingestPolls } from '../src/store/ingest.ts';
import type { NormalisedItem } from '../src/parse/types.ts';
import { parseFeed } from '../src/parse/index.ts';
import { decodeFeedBytes } from '../src/fetch/charset.ts';
import { insertEntries } from '../src/store/entries.ts';
import { insertStoryMembers, lockStoryLanguages } from '../src/store/stories.ts';
import { syncStoryIndex } from '../src/store/story-index.ts';
import { storyProbe } from '../src/stories/assign.ts';
import { encodeFeatures } from '../src/stories/features.ts';

const FEEDS = Number(process.env.FEEDS ?? 40);
const ITEMS = Number(process.env.ITEMS ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BATCH = Number(process.env.BATCH ?? 8);
const WINDOW_FILL = Number(process.env.WINDOW_FILL ?? 0);
const NOW = new Date('2026-11-28T00:00:00Z');
const LANGS = ['en', 'it', 'fr', 'ar'];

let seed = 42;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const VOCABULARY = 30_000;
const SKIP = 100;
const harmonic: number[] = [];
for (let r = 1, h = 0; r <= VOCABULARY; r++) harmonic.push((h += 1 / (r + SKIP)));
const total = harmonic[harmonic.length - 1]!;
const LETTERS: Record<string, string> = { en: 'abcdefghijklmnopqrstuvwxyz', it: 'abcdefghilmnopqrstuvzàèéìòù', fr: 'abcdefghijlmnopqrstuvéèêàçô', ar: 'ابتثجحخدذرزسشصضطظعغفقكلمنهوي' };
function spell(lang: string, rank: number): string {
  const letters = LETTERS[lang]!;
  let w = '';
  for (let n = rank + 7919; w.length < 4 || n > 0; n = Math.floor(n / letters.length)) w += letters[n % letters.length];
  // Every seventh word capitalised: names and places.
  return rank % 7 === 0 ? w[0]!.toUpperCase() + w.slice(1) : w;
}
function word(lang: string): string {
  const x = random() * total;
  let lo = 0;
  let hi = harmonic.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (harmonic[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return spell(lang, lo);
}
const words = (lang: string, n: number) => Array.from({ length: n }, () => word(lang)).join(' ');

function item(fields: Partial<NormalisedItem> & { guid: string; url: string; title: string; summary: string; published: string }): NormalisedItem {
  return { updated: null, author: null, categories: [], enclosures: [], content_html: null, ...fields };
}

type Workload = Array<{ lang: string; items: NormalisedItem[] }>;

const WORKLOADS: Record<string, () => Workload> = {
  news: () =>
    Array.from({ length: FEEDS }, (_, f) => {
      const lang = LANGS[f % LANGS.length]!;
      return {
        lang,
        items: Array.from({ length: ITEMS }, (_, i) =>
          item({
            guid: `f${f}-i${i}`,
            url: `https://f${f}.example/news/${i}`,
            title: words(lang, 10),
            summary: words(lang, 40),
            content_html: `<p>${words(lang, 200)}</p>`,
            published: new Date(NOW.getTime() - random() * 72 * 3_600_000).toISOString(),
          }),
        ),
      };
    }),
  recurring: () =>
    Array.from({ length: FEEDS }, (_, f) => ({
      lang: 'en',
      items: Array.from({ length: ITEMS }, (_, i) =>
        item({
          guid: `f${f}-i${i}`,
          url: `https://f${f}.example/update/${i}`,
          title: `Harbour update ${f * ITEMS + i}`,
          summary: `Summary of harbour update ${f * ITEMS + i}`,
          published: new Date(NOW.getTime() - (f * ITEMS + i) * 60_000).toISOString(),
        }),
      ),
    })),
};

/** CPU time (µs) of a server backend so far, from /proc: the bench runs on the database's machine. */
function backendCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => XML_ESCAPES[c]!);
const cdata = (s: string) => `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

/** A feed's items as the RSS 2.0 bytes a publisher serves (as bench/render.ts renders the farm's). */
function renderRss(f: number, doc: Workload[number]): Uint8Array {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>',
    `<title>Feed ${f}</title><link>https://f${f}.example/</link><description>News</description><language>${doc.lang}</language>`,
  ];
  for (const it of doc.items) {
    out.push(
      `<item><title>${esc(it.title!)}</title><link>${esc(it.url!)}</link><guid isPermaLink="false">${esc(it.guid!)}</guid>`,
      `<pubDate>${new Date(it.published!).toUTCString().replace('GMT', '+0000')}</pubDate>`,
      `<description>${cdata(it.summary ?? '')}</description>`,
      it.content_html ? `<content:encoded>${cdata(it.content_html)}</content:encoded>` : '',
      '</item>',
    );
  }
  out.push('</channel></rss>');
  return new TextEncoder().encode(out.join('\n'));
}

/** What a poll hands to ingest: the document's bytes parsed, or (store scope) the items as they are. */
type Source = { kind: 'items' } | { kind: 'bytes'; bytes: Uint8Array[] };

async function itemsOf(source: Source, docs: Workload, f: number): Promise<NormalisedItem[]> {
  if (source.kind === 'items') return docs[f]!.items;
  const { text } = decodeFeedBytes(source.bytes[f]!, 'application/rss+xml; charset=UTF-8');
  return (await parseFeed(text, { baseUrl: `https://f${f}.example/feed` })).items;
}

/**
 * WINDOW_FILL background reports of the "news" kind (same vocabularies, so they share band keys with
 * the measured items), over the same 72 h, stored before the measurement: entries with headline and
 * lead, each its own story with its features, as if ingested with stories on (the bulk path, since
 * ingesting them one poll at a time would take minutes per run). Written past the story index, as
 * another process would: the measured ingest's first batch of each language loads them.
 */
async function fillWindow(db: Db, count: number): Promise<void> {
  const saved = seed;
  seed = 4242;
  const CHUNK = 5_000;
  for (let from = 0; from < count; from += CHUNK) {
    const fill = Array.from({ length: Math.min(CHUNK, count - from) }, (_, i) => {
      const lang = LANGS[(from + i) % LANGS.length]!;
      return { lang, title: words(lang, 10), summary: words(lang, 40), at: Math.floor(NOW.getTime() - random() * 72 * 3_600_000) };
    });
    await db.transaction(async (tx) => {
      const ids = await insertEntries(
        tx,
        fill.map((f, i) => ({
          dedupeKey: `https://fill.example/${from + i}`, canonicalUrl: `https://fill.example/${from + i}`, url: `https://fill.example/${from + i}`,
          title: f.title, author: null, summary: f.summary, contentHtml: null, publishedAt: new Date(f.at).toISOString(), updatedAt: null,
          categories: [], enclosures: [], language: f.lang, contentHash: `fill${from + i}`,
        })),
        NOW,
      );
      const members = fill.map((f, i) => {
        const entryId = ids.get(`https://fill.example/${from + i}`)!;
        const probe = storyProbe({ entryId, at: f.at, title: f.title, summary: f.summary, language: f.lang });
        return { entryId, storyId: entryId, lang: probe.lang, at: f.at, features: encodeFeatures(probe.features), bandKeys: probe.bandKeys };
      });
      await insertStoryMembers(tx, members, members.map((m) => ({ id: m.entryId, firstAt: m.at, lastAt: m.at })));
    });
  }
  await db.query('analyze');
  seed = saved;
}

async function run(docs: Workload, stories: boolean, source: Source = { kind: 'items' }): Promise<number> {
  const bench = await createBenchDatabase(process.env.DATABASE_URL);
  // One connection on the server, so its backend's CPU is all the database did for this run.
  const db: Db = bench.kind === 'postgres' ? openPostgres(bench.env.DATABASE_URL!, 1, () => undefined) : await bench.open();
  try {
    await migrate(db);
    if (WINDOW_FILL > 0) await fillWindow(db, WINDOW_FILL);
    if (stories && process.env.WARM_INDEX === '1') {
      // One entry time 36 h back per language: its window covers every measured item's.
      const probes = LANGS.map((lang) => ({ lang, at: NOW.getTime() - 36 * 3_600_000 }));
      await db.transaction((tx) => syncStoryIndex(tx, probes, 72 * 3_600_000, (langs) => lockStoryLanguages(tx, langs)));
    }
    const feeds = await insertFeeds(
      db,
      docs.map((d, f) => ({ url: `https://f${f}.example/feed`, language: d.lang })),
    );
    const byUrl = new Map(feeds.map((f) => [f.url, f.id]));
    const ids = docs.map((_, f) => byUrl.get(`https://f${f}.example/feed`)!);
    const pid = bench.kind === 'postgres' ? Number((await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid) : 0;
    const server0 = pid ? backendCpuUs(pid) : 0;
    const cpu0 = process.cpuUsage();
    for (let f = 0; f < docs.length; f += BATCH) {
      const group = docs.slice(f, f + BATCH);
      const batch: Array<{ feed: { id: number; language: string }; items: NormalisedItem[] }> = [];
      for (const [i, d] of group.entries()) batch.push({ feed: { id: ids[f + i]!, language: d.lang }, items: await itemsOf(source, docs, f + i) });
      await db.transaction((tx) => ingestPolls(tx, batch, { now: NOW, retentionDays: 3650, assignStories: stories }));
    }
    const cpu = process.cpuUsage(cpu0);
    const server = pid ? backendCpuUs(pid) - server0 : 0;
    return (cpu.user + cpu.system + server) / docs.reduce((n, d) => n + d.items.length, 0);
  } finally {
    await db.close();
    await bench.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const backend = process.env.DATABASE_URL ? 'server (client + backend CPU)' : 'embedded (process CPU, database included)';
console.log(`Stories ingest cost, ${backend}: ${FEEDS} feeds × ${ITEMS} new items, ${BATCH} feeds per transaction, ${WINDOW_FILL} entries already in the window, median of ${ROUNDS} runs each`);
for (const [name, make] of Object.entries(WORKLOADS).filter(([n]) => !process.env.WORKLOAD || n === process.env.WORKLOAD)) {
  const docs = make();
  const scopes: Array<[string, Source]> = [['store', { kind: 'items' }]];
  if (process.env.PIPELINE === '1') scopes.push(['pipeline', { kind: 'bytes', bytes: docs.map((d, f) => renderRss(f, d)) }]);
  for (const [scope, source] of scopes) {
    await run(docs, true, source); // warm-up: JIT, migrations' first load
    const off: number[] = [];
    const on: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      off.push(await run(docs, false, source));
      on.push(await run(docs, true, source));
    }
    const a = median(off);
    const b = median(on);
    const label = `${name} ${scope}`.padEnd(18);
    console.log(`  ${label} CPU per item: without stories ${a.toFixed(0)} µs, with ${b.toFixed(0)} µs: ${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`);
  }
}
