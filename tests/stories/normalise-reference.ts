import { RAW_STOP_WORDS } from '../../src/stories/stop-words.ts';

/**
 * The tokeniser as it was before the per-language word cache (src/stories/normalise.ts), kept
 * verbatim as the reference the cached one must equal token for token (tokenise.test.ts).
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

// A word: letters and digits, hyphen-joined parts kept together ("ez-Zor", "Al-Qaim" → one word, as
// outlets also write "Ezzor", "Alqaim"); a number: digits with decimal or thousands separators.
const WORD_RE = /\d+(?:[.,]\d+)*|[\p{L}\p{N}]+(?:[-\u2010\u2011][\p{L}\p{N}]+)*/gu;
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
  const stop = STOP_WORDS[lang];
  const tokens: Token[] = [];
  let lastEnd = 0;
  for (const m of text.matchAll(WORD_RE)) {
    if (tokens.length >= max) break;
    const raw = m[0];
    const sentenceStart = lastEnd === 0 || endsSentence(text, lastEnd, m.index);
    lastEnd = m.index + raw.length;
    const c0 = raw.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) {
      tokens.push({ key: raw.includes(',') ? raw.replace(/,/g, '.') : raw, isNumber: true, capitalised: false, sentenceStart });
      continue;
    }
    // Most words are plain ASCII: lower-casing is all their folding needs.
    const folded = ASCII_RE.test(raw) ? raw.toLowerCase() : foldText(raw);
    const joined = folded.includes('-') || !ASCII_RE.test(folded) ? folded.replace(HYPHEN_RE, '') : folded;
    const capitalised = c0 < 128 ? c0 >= 65 && c0 <= 90 : UPPER_RE.test(raw);
    const key = lang === 'ar' ? arabicStem(joined, stop) : latinStem(joined, stop);
    if (key === null) continue;
    tokens.push({ key, isNumber: false, capitalised, sentenceStart });
  }
  return tokens;
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
