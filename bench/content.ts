/**
 * Deterministic, realistic news content for the feed farm: every article is a pure function of
 * (feed index, item index), so a feed can be re-rendered at any round without storing its items.
 */

export type FeedFormat = 'rss2' | 'atom' | 'rss1' | 'json';
export type Lang = 'en' | 'it' | 'fr' | 'ar';

export interface Article {
  /** Canonical article URL (no tracking parameters). */
  link: string;
  title: string;
  author: string;
  /** ~300 characters of plain text. */
  summary: string;
  /** ~1.5 KB of HTML with <p>, <a>, <img>. */
  html: string;
  published: Date;
  categories: string[];
  lang: Lang;
}

/** 32-bit mixing hash: cheap, stable across runs, good enough to spread picks. */
export function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p & 0xffff), 0x01000193);
    h = Math.imul(h ^ (p >>> 16), 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** WordPress-like RSS 2.0 70%, Atom 15%, RSS 1.0 10%, JSON Feed 5% (by feed index, so stable). */
export function formatOf(feed: number): FeedFormat {
  const r = feed % 20;
  if (r < 14) return 'rss2';
  if (r < 17) return 'atom';
  if (r < 19) return 'rss1';
  return 'json';
}

const LANGS: Lang[] = ['en', 'it', 'fr', 'ar', 'en', 'it'];
export const REGIONS = ['syria', 'italy', 'france', 'levant', 'world', 'europe'] as const;

export function langOf(feed: number): Lang {
  return LANGS[feed % LANGS.length]!;
}

export function regionOf(feed: number): string {
  return REGIONS[hash32(feed, 7) % REGIONS.length]!;
}

export const WORDS: Record<Lang, string[]> = {
  en: ('government minister election parliament border refugees economy inflation council city ' +
    'river bridge hospital school strike workers energy prices summit agreement ceasefire report ' +
    'investigation court ruling market harvest drought flood protest reform budget coalition vote ' +
    'police village province airport railway museum festival research university climate water').split(' '),
  it: ('governo ministro elezioni parlamento confine rifugiati economia inflazione consiglio città ' +
    'fiume ponte ospedale scuola sciopero lavoratori energia prezzi vertice accordo tregua rapporto ' +
    'indagine tribunale sentenza mercato vendemmia siccità alluvione protesta riforma bilancio coalizione ' +
    'perché così però più già università attività qualità libertà società comunità').split(' '),
  fr: ('gouvernement ministre élections parlement frontière réfugiés économie inflation conseil ville ' +
    'fleuve pont hôpital école grève travailleurs énergie prix sommet accord trêve rapport enquête ' +
    'tribunal décision marché récolte sécheresse inondation manifestation réforme budget coalition ' +
    'député région préfecture château été élève théâtre société').split(' '),
  ar: ('الحكومة وزير الانتخابات البرلمان الحدود اللاجئين الاقتصاد التضخم المجلس المدينة النهر الجسر ' +
    'المستشفى المدرسة إضراب العمال الطاقة الأسعار القمة اتفاق هدنة تقرير تحقيق المحكمة حكم السوق ' +
    'الحصاد الجفاف الفيضان احتجاج إصلاح الميزانية ائتلاف دير الزور البوكمال الرقة حلب دمشق الفرات').split(' '),
};

export const PLACES = ['Deir ez-Zor', 'دير الزور', 'البوكمال', 'Città di Castello', 'Besançon', 'Raqqa', 'Forlì', 'Orléans'];
const AUTHORS = ['Giulia Bianchi', 'Amélie Durand', 'سارة الأحمد', 'John Carter', 'Niccolò Fabbri', 'Hélène Roux', 'محمد العلي'];
const CATEGORIES: Record<Lang, string[]> = {
  en: ['Politics', 'Economy', 'World', 'Climate'],
  it: ['Politica', 'Economia', 'Esteri', 'Cronaca'],
  fr: ['Politique', 'Économie', 'Monde', 'Société'],
  ar: ['سياسة', 'اقتصاد', 'العالم', 'محليات'],
};

function words(lang: Lang, seed: number, count: number): string {
  const vocab = WORDS[lang];
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(vocab[hash32(seed, i) % vocab.length]!);
  return out.join(' ');
}

/**
 * Headline and lead words: Zipf over 30,000 pseudo-words per language, the commonest 100 left out
 * (as stop words are), like tests/stories/ingest-cost.ts. Drawn from the 40-word lists above, every
 * headline of a language shared most of its words with every other, so story clustering saw each
 * new item as a candidate report of every earlier one: real distinct articles are not alike.
 */
const VOCABULARY = 30_000;
const STOP_WORDS = 100;
const HARMONIC: Float64Array = (() => {
  const h = new Float64Array(VOCABULARY);
  for (let r = 0, sum = 0; r < VOCABULARY; r++) h[r] = sum += 1 / (r + 1 + STOP_WORDS);
  return h;
})();
const LETTERS: Record<Lang, string> = {
  en: 'abcdefghijklmnopqrstuvwxyz',
  it: 'abcdefghilmnopqrstuvzàèéìòù',
  fr: 'abcdefghijlmnopqrstuvéèêàçô',
  ar: 'ابتثجحخدذرزسشصضطظعغفقكلمنهوي',
};

function newsWord(lang: Lang, uniform: number): string {
  const x = uniform * HARMONIC[VOCABULARY - 1]!;
  let lo = 0;
  let hi = VOCABULARY - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (HARMONIC[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  const letters = LETTERS[lang];
  let w = '';
  for (let n = lo + 7919; w.length < 4 || n > 0; n = Math.floor(n / letters.length)) w += letters[n % letters.length];
  return w;
}

function newsWords(lang: Lang, seed: number, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(newsWord(lang, hash32(seed, i, 11) / 2 ** 32));
  return out.join(' ');
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface ArticleClock {
  /** Farm start: initial items are spread over the hours before it. */
  start: number;
  /** Number of items each feed had at round 0. */
  initialItems: number;
}

/** Article `item` of feed `feed`. Later items are newer; items added in rounds are dated after start. */
export function article(feed: number, item: number, origin: string, clock: ArticleClock): Article {
  const lang = langOf(feed);
  const seed = hash32(feed, item);
  const place = PLACES[seed % PLACES.length]!;
  const title = `${capitalise(newsWords(lang, seed, 8))} — ${place}`;
  const summary = `${capitalise(newsWords(lang, seed + 1, 38))}. ${place}.`.slice(0, 300);
  const link = `${origin}/${feed}/${2024 + (item % 2)}/${String((item % 12) + 1).padStart(2, '0')}/article-${feed}-${item}/`;
  const paragraphs: string[] = [];
  for (let p = 0; p < 5; p++) {
    paragraphs.push(`<p>${capitalise(words(lang, seed + 10 + p, 30))}.</p>`);
  }
  paragraphs.splice(
    2,
    0,
    `<p><a href="${origin}/${feed}/tag/${encodeURIComponent(place)}/" rel="tag">${place}</a> &#8211; ` +
      `<img src="${origin}/wp-content/uploads/${feed}/${item}.jpg" alt="${place}" width="640" height="360" loading="lazy"></p>`,
  );
  const minutesAgo = item < clock.initialItems ? (clock.initialItems - item) * 37 : -(item - clock.initialItems + 1);
  return {
    link,
    title,
    author: AUTHORS[seed % AUTHORS.length]!,
    summary,
    html: paragraphs.join('\n'),
    published: new Date(clock.start - minutesAgo * 60_000),
    categories: [CATEGORIES[lang][seed % 4]!, CATEGORIES[lang][(seed >>> 3) % 4]!],
    lang,
  };
}

/**
 * About 5% of items are syndicated: odd feeds republish, as item k, article k of the previous
 * (even, never-syndicating) feed, with tracking parameters on the link and a guid of their own.
 */
export function syndicatedFrom(feed: number, item: number, feedCount: number): number | null {
  if (feed % 2 === 0 || feedCount < 2) return null;
  return hash32(feed, item, 3) % 10 === 0 ? feed - 1 : null;
}
