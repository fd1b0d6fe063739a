import { RAW_STOP_WORDS } from './stop-words.ts';

/**
 * Per-language text normalisation for story matching. Two outlets spell one event differently
 * (case, accents, Arabic letter variants and vowel marks, elided articles, plural endings), so
 * words are folded to a comparable key before any similarity is computed.
 */

/** One word of a headline or lead, folded, with what the original spelling says about it. */
export interface Token {
  key: string;
  /** Digits only (after folding): counts, scores, temperatures, rates, dates. */
  isNumber: boolean;
  /** Written with a capital inside a sentence: a name or a place (Latin scripts only). */
  capitalised: boolean;
  /** First word of a sentence, where a capital says nothing. */
  sentenceStart: boolean;
}

/** The language family the rules know: its primary subtag, or 'und' when unknown. */
export function languageKey(language: string | null, sample: string): string {
  const primary = (language ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  if (/^[a-z]{2,3}$/.test(primary)) return primary;
  // No declared language: Arabic script is unmistakable, everything else is matched without stop words.
  return /[\u0600-\u06ff]/.test(sample) ? 'ar' : 'und';
}

const ARABIC_LETTER_VARIANTS: Record<string, string> = {
  '\u0671': '\u0627', // alef wasla → alef (hamza carriers decompose under NFD)
  '\u0649': '\u064a', // alef maqsura → ya
  '\u0629': '\u0647', // ta marbuta → ha
  '\u06cc': '\u064a', // Persian ya → ya
  '\u06a9': '\u0643', // keheh → kaf
};
/** Combining marks: Latin accents after NFKD, Arabic tashkeel and hamza-above/below, superscript alef. */
const MARK_RE = /^\p{M}$/u;

/** Case, accents, Arabic letter variants, vowel marks and tatweel folded; digits made ASCII. */
export function foldText(text: string): string {
  // One pass after NFKD: drop marks and tatweel, map variant letters and Eastern digits.
  const decomposed = text.normalize('NFKD');
  let out = '';
  for (const ch of decomposed) {
    const c = ch.charCodeAt(0);
    if (c < 0x80) {
      out += ch;
      continue;
    }
    if (c === 0x0640 || MARK_RE.test(ch)) continue;
    if (c >= 0x0660 && c <= 0x0669) out += String(c - 0x0660);
    else if (c >= 0x06f0 && c <= 0x06f9) out += String(c - 0x06f0);
    else out += ARABIC_LETTER_VARIANTS[ch] ?? ch;
  }
  return out.toLowerCase();
}

/**
 * Finds the next word at or after `from` and returns its start (its end in `wordEnd`), or -1. What
 * the regular expression /\d+(?:[.,]\d+)*|[\p{L}\p{N}]+(?:[-\u2010\u2011][\p{L}\p{N}]+)*\/gu matches,
 * scanned by hand (no match objects; character classes looked up once per code unit):
 * a number is ASCII digits with decimal or thousands separators; a word is letters and digits, with
 * hyphen-joined parts kept together ("ez-Zor", "Al-Qaim" → one word, as outlets also write "Ezzor",
 * "Alqaim"). A number is tried first, so "3rd" is "3" then "rd", while "COVID-19" is one word.
 */
function nextWord(text: string, from: number): number {
  const n = text.length;
  for (let i = from; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      let j = skipDigits(text, i + 1);
      for (;;) {
        const sep = text.charCodeAt(j);
        if ((sep === 46 || sep === 44) && isAsciiDigit(text.charCodeAt(j + 1))) j = skipDigits(text, j + 2);
        else break;
      }
      wordEnd = j;
      return i;
    }
    if (wordCharLength(text, i) === 0) continue;
    let j = skipWordChars(text, i);
    while (isHyphen(text.charCodeAt(j)) && wordCharLength(text, j + 1) > 0) j = skipWordChars(text, j + 1);
    wordEnd = j;
    return i;
  }
  return -1;
}
/** End of the word nextWord found last (module state: tokenise is synchronous). */
let wordEnd = 0;

const isAsciiDigit = (c: number) => c >= 48 && c <= 57;
const isHyphen = (c: number) => c === 45 || c === 0x2010 || c === 0x2011;

function skipDigits(text: string, i: number): number {
  while (isAsciiDigit(text.charCodeAt(i))) i++;
  return i;
}

function skipWordChars(text: string, i: number): number {
  for (let len = wordCharLength(text, i); len > 0; len = wordCharLength(text, i)) i += len;
  return i;
}

const WORD_CHAR_RE = /^[\p{L}\p{N}]$/u;
/** Per BMP code unit: 0 not yet known, 1 a letter or digit (\p{L} or \p{N}), 2 not. */
const BMP_CLASS = new Uint8Array(0x10000);

/** Code units taken by a letter or digit at `i` (2 for one outside the BMP), 0 for anything else or the end. */
function wordCharLength(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 1 : 0;
  if (c !== c) return 0; // NaN: past the end
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return WORD_CHAR_RE.test(text.slice(i, i + 2)) ? 2 : 0;
  }
  let k = BMP_CLASS[c]!;
  if (k === 0) BMP_CLASS[c] = k = WORD_CHAR_RE.test(String.fromCharCode(c)) ? 1 : 2;
  return k === 1 ? 1 : 0;
}
/** Stop words folded like the text they are compared with. */
const STOP_WORDS: Record<string, ReadonlySet<string>> = Object.fromEntries(
  Object.entries(RAW_STOP_WORDS).map(([lang, words]) => [
    lang,
    new Set(words.split(/\s+/).filter(Boolean).map((w) => foldText(w).replace(/[-'\u2010\u2011]/g, ''))),
  ]),
);

const HYPHEN_RE = /[-\u2010\u2011]/g;
/** Latin-script words are cut to this many characters: a cheap stemmer for plural and verb endings in en/it/fr. */
const STEM_LENGTH = 6;

/**
 * Splits text into folded tokens, stop words and one-letter words removed; the first `max` only
 * (the lead needs 30 of a summary's ~100 words: stopping there is most of the features' CPU saved).
 */
export function tokenise(text: string, lang: string, max = Infinity): Token[] {
  const cache = wordCache(lang);
  const tokens: Token[] = [];
  let lastEnd = 0;
  for (let at = nextWord(text, 0); at >= 0 && tokens.length < max; at = nextWord(text, wordEnd)) {
    const raw = text.slice(at, wordEnd);
    const sentenceStart = lastEnd === 0 || endsSentence(text, lastEnd, at);
    lastEnd = wordEnd;
    const c0 = raw.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) {
      tokens.push({ key: raw.includes(',') ? raw.replace(/,/g, '.') : raw, isNumber: true, capitalised: false, sentenceStart });
      continue;
    }
    let word = cache.get(raw);
    if (word === undefined) {
      word = foldWord(raw, lang);
      if (cache.size >= WORD_CACHE_SIZE) cache.clear();
      cache.set(raw, word);
    }
    if (word === null) continue;
    tokens.push({ key: word.key, isNumber: false, capitalised: word.capitalised, sentenceStart });
  }
  return tokens;
}

/** A word's folded key and whether it is written with a capital; null for a stop word or a letter. */
interface FoldedWord {
  key: string;
  capitalised: boolean;
}

function foldWord(raw: string, lang: string): FoldedWord | null {
  const stop = STOP_WORDS[lang];
  const c0 = raw.charCodeAt(0);
  // Most words are plain ASCII: lower-casing is all their folding needs.
  const folded = ASCII_RE.test(raw) ? raw.toLowerCase() : foldText(raw);
  const joined = folded.includes('-') || !ASCII_RE.test(folded) ? folded.replace(HYPHEN_RE, '') : folded;
  const capitalised = c0 < 128 ? c0 >= 65 && c0 <= 90 : UPPER_RE.test(raw);
  const key = lang === 'ar' ? arabicStem(joined, stop) : latinStem(joined, stop);
  return key === null ? null : { key, capitalised };
}

/**
 * Raw word → folded word, per language. Headline and lead words follow Zipf's law (the same few
 * thousand words make most of every day's text), so most words are folded once per process instead
 * of at every entry: folding was most of the features' CPU. Cleared when full, which bounds memory
 * whatever the input (a feed of random strings only loses the cache's benefit).
 */
const WORD_CACHE_SIZE = 50_000;
const wordCaches = new Map<string, Map<string, FoldedWord | null>>();

function wordCache(lang: string): Map<string, FoldedWord | null> {
  let cache = wordCaches.get(lang);
  if (!cache) {
    // Languages are primary subtags from feeds: bounded in practice, and bounded here regardless.
    if (wordCaches.size >= 64) wordCaches.clear();
    cache = new Map();
    wordCaches.set(lang, cache);
  }
  return cache;
}

const ASCII_RE = /^[\x00-\x7f]*$/;
const UPPER_RE = /^\p{Lu}/u;
const SENTENCE_END = new Set([...'.!?:;\u061f\u06d4|«»"“”']);

/** Whether the text between two words closes a sentence (or a headline part): its last non-space character. */
function endsSentence(text: string, from: number, to: number): boolean {
  for (let i = to - 1; i >= from; i--) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\u00a0') continue;
    return SENTENCE_END.has(c);
  }
  return false;
}

function latinStem(word: string, stop: ReadonlySet<string> | undefined): string | null {
  if (word.length < 2 || stop?.has(word)) return null;
  return word.length > STEM_LENGTH ? word.slice(0, STEM_LENGTH) : word;
}

// Light Arabic stemming: the article and attached conjunction/prepositions, then plural/dual endings.
const ARABIC_PREFIXES = ['وبال', 'وال', 'بال', 'كال', 'فال', 'لل', 'ال', 'و'];
// Not the dual 'ان': it ends too many names (ايران, لبنان, عمان).
const ARABIC_SUFFIXES = ['ات', 'ون', 'ين', 'ها', 'هم'];
/** Final letters that vary between spellings of one word (سوريا/سورية) and the nisba adjective (عراق/عراقية). */
const ARABIC_WEAK_ENDINGS = new Set(['\u0647', '\u0627', '\u064a']);

function arabicStem(word: string, stop: ReadonlySet<string> | undefined): string | null {
  if (word.length < 2 || stop?.has(word)) return null;
  let w = word;
  for (const p of ARABIC_PREFIXES) {
    if (w.startsWith(p) && w.length - p.length >= 3) {
      w = w.slice(p.length);
      break;
    }
  }
  if (stop?.has(w)) return null;
  for (const s of ARABIC_SUFFIXES) {
    if (w.endsWith(s) && w.length - s.length >= 3) {
      w = w.slice(0, -s.length);
      break;
    }
  }
  while (w.length > 3 && ARABIC_WEAK_ENDINGS.has(w[w.length - 1]!)) w = w.slice(0, -1);
  return w;
}
