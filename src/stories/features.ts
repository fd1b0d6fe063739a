import { languageKey, tokenise } from './normalise.ts';
import { NOT_NAMES } from './stop-words.ts';

/**
 * What identifies an event in an entry: the folded words of its headline and lead, each with flags
 * saying whether it is a name/place/number (strong) and whether it is in the headline. Stored as
 * text (`<flags digit><word>`) so later entries are compared without re-reading the article.
 */
export interface StoryDoc {
  /** Primary language subtag ('en', 'ar', …) or 'und'. */
  lang: string;
  /** Publication time (sort time) in ms since the epoch. */
  at: number;
  features: FeatureVector;
}

export const STRONG = 1;
export const IN_TITLE = 2;
/** Only in a FeatureVector: the word is a number (stored words say so by their first digit). */
export const NUMBER = 4;

/**
 * Features as compared: 32-bit word hashes in ascending order, each with its flags at the same
 * index. Two entries are compared in one merge walk of two short integer arrays (match.ts) instead
 * of string look-ups in maps; a candidate read back from the database is decoded by hashing its
 * words, with no map or word strings built. A hash collision between two words of two entries
 * (≈ 50 × 50 / 2³² per pair) would count as one shared ordinary word.
 */
export interface FeatureVector {
  hashes: Uint32Array;
  flags: Uint8Array;
}

/** The lead is the start of the summary: enough for the who/what/where, not the whole article. */
const LEAD_TOKENS = 30;
const LEAD_CHARS = 600;
/** A headline with this share of capitalised words is in Title Case: its capitals say nothing. */
const TITLE_CASE_SHARE = 0.6;

/** Languages whose script has capitals; the others get names another way. */
const CASED_SCRIPT = new Set(['en', 'it', 'fr', 'de', 'es', 'pt', 'nl', 'und']);

export interface StoryText {
  title: string | null;
  summary: string | null;
  language: string | null;
}

export function storyFeatures(text: StoryText): Map<string, number> {
  const title = text.title ?? '';
  // The lead is the first LEAD_TOKENS words: a long summary is not read past where they can be.
  const summary = (text.summary ?? '').slice(0, LEAD_CHARS);
  const lang = languageKey(text.language, title + summary);
  const titleTokens = tokenise(title, lang);
  const leadTokens = tokenise(summary, lang, LEAD_TOKENS);

  let words = 0;
  let capitalised = 0;
  for (const t of titleTokens) {
    if (t.isNumber) continue;
    words++;
    if (t.capitalised) capitalised++;
  }
  const titleCase = words >= 3 && capitalised / words >= TITLE_CASE_SHARE;
  const names = new Set<string>();
  const name = (key: string) => {
    if (!NOT_NAMES.has(key)) names.add(key);
  };
  for (const t of leadTokens) if (t.capitalised && !t.sentenceStart) name(t.key);
  if (!titleCase) for (const t of titleTokens) if (t.capitalised && !t.sentenceStart) name(t.key);
  if (!CASED_SCRIPT.has(lang)) {
    // No capitals to find names by (Arabic): words in both the headline and the lead are what the
    // report is about, which is mostly its names and places.
    const lead = new Set<string>();
    for (const t of leadTokens) lead.add(t.key);
    for (const t of titleTokens) if (lead.has(t.key)) name(t.key);
  }

  const features = new Map<string, number>();
  for (const t of titleTokens) features.set(t.key, (features.get(t.key) ?? 0) | IN_TITLE | (t.isNumber || names.has(t.key) ? STRONG : 0));
  for (const t of leadTokens) features.set(t.key, (features.get(t.key) ?? 0) | (t.isNumber || names.has(t.key) ? STRONG : 0));
  return features;
}

export function storyLanguage(text: StoryText): string {
  return languageKey(text.language, (text.title ?? '') + (text.summary ?? ''));
}

/** The text story_members.features stores: `<flags digit><word>`, space-separated. */
export function encodeFeatures(features: ReadonlyMap<string, number>): string {
  let out = '';
  for (const [word, flags] of features) out += out === '' ? `${flags}${word}` : ` ${flags}${word}`;
  return out;
}

/** FNV-1a over a word's UTF-16 code units from `from` to `to` (exclusive): no substring is built. */
export function wordHash(text: string, from = 0, to = text.length): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const DIGIT_0 = 48;
const isDigit = (c: number) => c >= DIGIT_0 && c <= DIGIT_0 + 9;

/** Packs (hash, flags) into one number, so one numeric sort orders both. */
const pack = (hash: number, flags: number) => hash * 8 + flags;

function vectorOf(packed: Float64Array): FeatureVector {
  packed.sort();
  const hashes = new Uint32Array(packed.length);
  const flags = new Uint8Array(packed.length);
  let n = 0;
  for (let i = 0; i < packed.length; i++) {
    const v = packed[i]!;
    const h = Math.floor(v / 8);
    const f = v - h * 8;
    // Two words with one hash (a collision) are one word: keep the arrays strictly ascending.
    if (n > 0 && hashes[n - 1] === h) flags[n - 1]! |= f;
    else {
      hashes[n] = h;
      flags[n] = f;
      n++;
    }
  }
  return n === packed.length ? { hashes, flags } : { hashes: hashes.subarray(0, n), flags: flags.subarray(0, n) };
}

/** The vector of freshly computed features. */
export function featureVector(features: ReadonlyMap<string, number>): FeatureVector {
  const packed = new Float64Array(features.size);
  let i = 0;
  for (const [word, flags] of features) packed[i++] = pack(wordHash(word), flags | (isDigit(word.charCodeAt(0)) ? NUMBER : 0));
  return vectorOf(packed);
}

/** The vector of stored features (story_members.features), read straight from the text. */
export function decodeFeatureVector(encoded: string): FeatureVector {
  if (encoded === '') return vectorOf(new Float64Array(0));
  let count = 1;
  for (let i = 0; i < encoded.length; i++) if (encoded.charCodeAt(i) === 32) count++;
  const packed = new Float64Array(count);
  let n = 0;
  for (let start = 0; start < encoded.length; ) {
    let end = encoded.indexOf(' ', start);
    if (end < 0) end = encoded.length;
    if (end - start >= 2) {
      const flags = encoded.charCodeAt(start) - DIGIT_0;
      packed[n++] = pack(wordHash(encoded, start + 1, end), (flags & (STRONG | IN_TITLE)) | (isDigit(encoded.charCodeAt(start + 1)) ? NUMBER : 0));
    }
    start = end + 1;
  }
  return vectorOf(n === count ? packed : packed.subarray(0, n));
}
