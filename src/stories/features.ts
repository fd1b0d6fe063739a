import { languageKey, tokenise, type Token } from './normalise.ts';
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
  /** word → flags (STRONG | IN_TITLE). */
  features: Map<string, number>;
}

export const STRONG = 1;
export const IN_TITLE = 2;

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
  const leadTokens = tokenise(summary, lang).slice(0, LEAD_TOKENS);
  const features = new Map<string, number>();
  const add = (t: Token, flags: number) => features.set(t.key, (features.get(t.key) ?? 0) | flags);

  const words = titleTokens.filter((t) => !t.isNumber);
  const titleCase = words.length >= 3 && words.filter((t) => t.capitalised).length / words.length >= TITLE_CASE_SHARE;
  const names = new Set<string>();
  for (const t of leadTokens) if (t.capitalised && !t.sentenceStart) names.add(t.key);
  if (!titleCase) for (const t of titleTokens) if (t.capitalised && !t.sentenceStart) names.add(t.key);
  if (!CASED_SCRIPT.has(lang)) {
    // No capitals to find names by (Arabic): words in both the headline and the lead are what the
    // report is about, which is mostly its names and places.
    const lead = new Set(leadTokens.map((t) => t.key));
    for (const t of titleTokens) if (lead.has(t.key)) names.add(t.key);
  }

  for (const w of NOT_NAMES) names.delete(w);
  const strong = (t: Token) => (t.isNumber || names.has(t.key) ? STRONG : 0);
  for (const t of titleTokens) add(t, IN_TITLE | strong(t));
  for (const t of leadTokens) add(t, strong(t));
  return features;
}

export function storyLanguage(text: StoryText): string {
  return languageKey(text.language, (text.title ?? '') + (text.summary ?? ''));
}

export function encodeFeatures(features: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [word, flags] of features) out.push(`${flags}${word}`);
  return out;
}

/** Encoded features as an array, or as the space-separated text story_members.features stores. */
export function decodeFeatures(encoded: readonly string[] | string): Map<string, number> {
  const list = typeof encoded === 'string' ? (encoded === '' ? [] : encoded.split(' ')) : encoded;
  return new Map(list.map((f) => [f.slice(1), Number(f[0])]));
}
