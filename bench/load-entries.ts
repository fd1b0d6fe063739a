import type { Db } from '../src/store/db.ts';
import { hash32, PLACES, REGIONS, WORDS, type Lang } from './content.ts';
import { searchMatchCount } from '../src/store/entry-queries.ts';
import { countLadder, ladderFor, plantedWordsSql, type LadderRung } from './search-ladder.ts';

/**
 * Bulk-loads a realistic entry set with a few set-based statements (generate_series), for the
 * serving and storage phases: ~200 feeds with regions and languages; per entry a title, a ~300
 * character summary and ~1.5 KB of HTML, dates over the last 90 days, one source (≈5% two).
 *
 * Text comes from a pool of paragraphs built here: words drawn log-uniformly from the real
 * vocabulary plus ~8,000 synthetic words per language, so common words are common (a search for
 * one matches a realistic share of rows) and the search index sees a realistic lexeme spread.
 */

export const BENCH_FEEDS = 200;
const LANGS: Lang[] = ['en', 'it', 'fr', 'ar'];
const POOL_PER_LANG = 2000;
const SYLLABLES: Record<Lang, string[]> = {
  en: 'ka lo mi ra ten vor sal dun pe ri gan mo bel tis no wer ham cor fin la'.split(' '),
  it: 'ca lo mi ra ten vor sal dun pe ri gan mo bel tis no cer ghi cor fin là'.split(' '),
  fr: 'ca lo mi ra ten vor sal dun pé ri gan mo bel tis no ère ché cor fin là'.split(' '),
  ar: 'كا لو مي را تن فو سل دن بي ري غا مو بل تس نو شر حم قر فن لا'.split(' '),
};
const SYNTHETIC = 8000;

function wordAt(lang: Lang, rank: number): string {
  const real = WORDS[lang];
  if (rank < real.length) return real[rank]!;
  const s = SYLLABLES[lang];
  return s[rank % 20]! + s[Math.floor(rank / 20) % 20]! + s[Math.floor(rank / 400) % 20]!;
}

/** Log-uniform rank: rank r is picked with probability ∝ 1/(r+1), a Zipf-like spread. */
function pickRank(seed: number, i: number): number {
  const u = hash32(seed, i) / 2 ** 32;
  return Math.floor(Math.exp(u * Math.log(SYNTHETIC + 1))) - 1;
}

function paragraph(lang: Lang, seed: number, chars: number): string {
  const out: string[] = [];
  let len = 0;
  for (let i = 0; len < chars; i++) {
    const w = wordAt(lang, pickRank(seed, i));
    out.push(i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w);
    len += w.length + 1;
  }
  return `${out.join(' ')}.`;
}

export interface LoadResult {
  entries: number;
  sources: number;
  loadSeconds: number;
  /** A word present in a realistic share (10–30%) of English entries, for the search benchmark. */
  searchWord: string;
  /** Share of all entries that ?q=searchWord matches (parsed in each entry's own configuration, as the API does). */
  searchShare: number;
  region: string;
  /** Words matching 0, 1, 10, … entries and the common word (bench/search-ladder.ts). */
  ladder: LadderRung[];
}

/** Loads `count` entries in chunks; `progress` is told after each chunk. */
export async function loadEntries(db: Db, count: number, progress?: (done: number) => void): Promise<LoadResult> {
  const t0 = performance.now();
  const pool = LANGS.flatMap((lang) => poolParagraphs(lang).map((text, n) => ({ lang, n, text })));

  await db.exec(`drop table if exists bench_pool; create table bench_pool (lang text, n int, text text, primary key (lang, n))`);
  await db.query(`insert into bench_pool select * from unnest($1::text[], $2::int[], $3::text[])`, [
    pool.map((p) => p.lang),
    pool.map((p) => p.n),
    pool.map((p) => p.text),
  ]);
  await db.query(
    `insert into feeds (id, url, host, title, region, language)
     select g, 'https://news-' || g || '.example/feed/', 'news-' || g || '.example', 'Bench feed ' || g,
            ($1::text[])[1 + g % cardinality($1::text[])], ($2::text[])[1 + g % 4]
     from generate_series(1, ${BENCH_FEEDS}) g
     on conflict do nothing`,
    [REGIONS, LANGS],
  );

  // Most of the cost is the schema's generated search column (four to_tsvector calls per row) and
  // its GIN index; on a server two chunks run at once so both cores work.
  const ladder = ladderFor(count);
  const chunk = 25_000;
  const starts: number[] = [];
  for (let from = 1; from <= count; from += chunk) starts.push(from);
  let done = 0;
  const loadChunk = (from: number, to: number) =>
    db.transaction(async (tx) => {
      // Row g belongs to feed 1 + g % 200, whose language is LANGS[feed % 4]; hashint8 spreads picks.
      await tx.query(
        `insert into entries (id, dedupe_key, canonical_url, url, title, author, summary, content_html,
                              published_at, first_seen_at, sort_at, categories, language, content_hash)
         select g, u.url, u.url, u.url,
                left(t.text, 40 + (hashint8(g) & 2147483647) % 50) || ' — ' || ($3::text[])[1 + (hashint8(g + 1) & 2147483647) % cardinality($3::text[])] || ${plantedWordsSql('g', '$5', '$6')},
                ($4::text[])[1 + g % cardinality($4::text[])],
                s.text,
                '<p>' || p1.text || '</p>' || E'\\n<p><a href="' || u.url || 'related/" rel="tag">' || f.language ||
                  '</a> <img src="https://cdn.example/img/' || g || '.jpg" alt="" width="640" height="360"></p>' ||
                  E'\\n<p>' || p2.text || '</p>' || E'\\n<p>' || p3.text || '</p>' || E'\\n<p>' || p4.text || '</p>',
                d.ts, d.ts, d.ts, array[f.region, f.language], f.language, md5(g::text)
         from generate_series($1::bigint, $2::bigint) g
         join feeds f on f.id = 1 + g % ${BENCH_FEEDS}
         cross join lateral (select 'https://news-' || f.id || '.example/' || g || '/article/' as url) u
         cross join lateral (select now() - ((hashint8(g + 2) & 2147483647) % (90 * 86400)) * interval '1 second' as ts) d
         join bench_pool t on t.lang = f.language and t.n = (hashint8(g + 3) & 2147483647) % ${POOL_PER_LANG}
         join bench_pool s on s.lang = f.language and s.n = (hashint8(g + 4) & 2147483647) % ${POOL_PER_LANG}
         join bench_pool p1 on p1.lang = f.language and p1.n = (hashint8(g + 5) & 2147483647) % ${POOL_PER_LANG}
         join bench_pool p2 on p2.lang = f.language and p2.n = (hashint8(g + 6) & 2147483647) % ${POOL_PER_LANG}
         join bench_pool p3 on p3.lang = f.language and p3.n = (hashint8(g + 7) & 2147483647) % ${POOL_PER_LANG}
         join bench_pool p4 on p4.lang = f.language and p4.n = (hashint8(g + 8) & 2147483647) % ${POOL_PER_LANG}`,
        [from, to, PLACES, ['Giulia Bianchi', 'Amélie Durand', 'سارة الأحمد', 'John Carter', 'Niccolò Fabbri'], ladder.map((r) => r.word), ladder.map((r) => r.step)],
      );
      await tx.query(
        `insert into entry_sources (feed_id, item_key, entry_id, guid, url, first_seen_at)
         select 1 + g % ${BENCH_FEEDS}, md5('k' || g), g, 'https://news-' || (1 + g % ${BENCH_FEEDS}) || '.example/?p=' || g, e.url, e.first_seen_at
         from generate_series($1::bigint, $2::bigint) g join entries e on e.id = g
         union all
         select 1 + (g + 1) % ${BENCH_FEEDS}, md5('s' || g), g, 'urn:syndicated:' || g, e.url || '?utm_source=rss', e.first_seen_at
         from generate_series($1::bigint, $2::bigint) g join entries e on e.id = g
         where (hashint8(g + 9) & 2147483647) % 20 = 0`,
        [from, to],
      );
    });
  const workers = Array.from({ length: db.kind === 'postgres' ? 2 : 1 }, async () => {
    for (let from = starts.shift(); from !== undefined; from = starts.shift()) {
      const to = Math.min(count, from + chunk - 1);
      await loadChunk(from, to);
      done += to - from + 1;
      progress?.(done);
    }
  });
  await Promise.all(workers);
  await db.exec(`drop table bench_pool`);
  await db.exec(`select setval(pg_get_serial_sequence('entries', 'id'), greatest((select max(id) from entries), 1))`);
  await db.exec(`select setval(pg_get_serial_sequence('feeds', 'id'), ${BENCH_FEEDS})`);
  // A live database is vacuumed by autovacuum; PGlite has none, so do it here for both.
  await db.exec(`vacuum analyze feeds, entries, entry_sources`);
  return describeLoaded(db, (performance.now() - t0) / 1000);
}

/** What loadEntries reports, for a database it loaded earlier (bench --existing-db). */
export async function describeLoaded(db: Db, loadSeconds: number): Promise<LoadResult> {
  const searchWord = pickSearchWord(poolParagraphs('en'));

  const counts = await db.query<{ entries: number; sources: number }>(
    `select (select count(*) from entries)::int as entries, (select count(*) from entry_sources)::int as sources`,
  );
  const c = { ...counts.rows[0]!, matches: await searchMatchCount(db, searchWord) };
  const ladderRungs = await countLadder(db, c.entries, { word: searchWord, matches: c.matches });
  return { entries: c.entries, sources: c.sources, loadSeconds, searchWord, searchShare: c.matches / Math.max(1, c.entries), region: 'syria', ladder: ladderRungs };
}

/** The paragraphs entries of one language draw their text from. */
function poolParagraphs(lang: Lang): string[] {
  return Array.from({ length: POOL_PER_LANG }, (_, n) => paragraph(lang, hash32(n, 99, lang.charCodeAt(0)), 300));
}

/** The English real word present in closest to 20% of paragraphs. */
function pickSearchWord(paragraphs: string[]): string {
  let best = WORDS.en[0]!;
  let bestDistance = Infinity;
  for (const w of WORDS.en) {
    const share = paragraphs.filter((p) => new RegExp(`\\b${w}\\b`, 'i').test(p)).length / paragraphs.length;
    if (Math.abs(share - 0.2) < bestDistance) {
      bestDistance = Math.abs(share - 0.2);
      best = w;
    }
  }
  return best;
}
