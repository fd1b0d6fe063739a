/**
 * Format-neutral raw items (what the rss-atom and json-feed adapters extract) → NormalisedItem.
 * All the rules that do not depend on the format live here: URL resolution, dates, plain text,
 * sanitising, dropping empty items and exact duplicates.
 */
import { parseDate } from './date.ts';
import { sanitizeContent } from './sanitize.ts';
import { repairDoubleEncoding } from './mojibake.ts';
import { collapseWhitespace, hasMarkup, htmlToText, nonEmpty, textToHtml, truncateOnWord } from './text.ts';
import type { Enclosure, FeedFormat, NormalisedItem, ParsedFeed } from './types.ts';
import { resolveBase, resolveWebUrl } from './url.ts';
import { rawItemDigest } from './raw-digest.ts';

/** A text construct as the document gave it: `html` is decoded and stripped, `text` is taken as is. */
export interface RawText {
  value: string;
  kind: 'text' | 'html';
  /** The element's own xml:base (absolute once the pre-pass has resolved it), for URLs inside the markup. */
  base?: string | null;
}

export interface RawEnclosure {
  url: string | null;
  type: string | null;
  length: string | number | null;
}

export interface RawItem {
  /** xml:base of the item, possibly relative to the feed's base. */
  base: string | null;
  guid: string | null;
  /** Article link, possibly relative. */
  link: string | null;
  /** The link element's own xml:base, when it has one. */
  linkBase?: string | null;
  title: RawText | null;
  /** Date strings as written. */
  published: string | null;
  updated: string | null;
  /** Names as the document wrote them: RSS/Atom ones are HTML-ish text, JSON Feed ones literal. */
  authors: RawText[];
  categories: RawText[];
  enclosures: RawEnclosure[];
  /** The richest body (content:encoded, Atom content, JSON content_html/content_text). */
  content: RawText | null;
  /** The short form (description, Atom summary, JSON summary). */
  summary: RawText | null;
}

export interface RawFeed {
  format: FeedFormat;
  base: string | null;
  title: RawText | null;
  link: string | null;
  language: string | null;
  ttlSeconds: number | null;
  /** WebSub discovery links as written (rel="hub", rel="self"; JSON Feed hubs and feed_url). */
  hub?: string | null;
  self?: string | null;
  items: RawItem[];
}

export const SUMMARY_MAX_CHARS = 1000;

/**
 * `known`: digests (raw-digest.ts) of the items of the feed's last stored document. Given, every
 * item is fingerprinted, and one whose digest is known is not normalised again: most of a changed
 * document is the items it already had, and normalising (sanitising above all) is most of the parse
 * cost. Its digest and date are returned instead (ParsedFeed.digests).
 */
export function normaliseFeed(raw: RawFeed, baseUrl: string | null, known?: ReadonlySet<string>): ParsedFeed {
  // The feed's own link is the last resort for resolving, and may itself be relative to xml:base.
  const feedLink = resolveWebUrl(raw.link, resolveBase(raw.base, baseUrl));
  const docBase = resolveBase(raw.base, baseUrl ?? feedLink);
  const seen = new Set<string>();
  const items: NormalisedItem[] = [];
  const digests: NonNullable<ParsedFeed['digests']> = { items: [], unchanged: [] };
  for (const rawItem of raw.items) {
    const base = resolveBase(rawItem.base, docBase);
    const digest = known ? rawItemDigest(rawItem, base) : null;
    if (digest !== null) {
      if (seen.has(digest)) continue; // the same raw item twice in one document
      seen.add(digest);
      if (known!.has(digest)) {
        digests.unchanged.push({ digest, published: parseDate(rawItem.published) });
        continue;
      }
    }
    const item = normaliseItem(rawItem, base);
    if (isEmpty(item)) continue;
    const key = JSON.stringify(item);
    if (seen.has(key)) continue; // the same item twice in one document
    seen.add(key);
    items.push(item);
    if (digest !== null) digests.items.push(digest);
  }
  return {
    format: raw.format,
    feed: {
      title: plainText(raw.title),
      link: feedLink,
      language: normaliseLanguage(raw.language),
      ttl_seconds: raw.ttlSeconds,
      ...websubLinks(raw, docBase),
    },
    items,
    ...(known ? { digests } : {}),
  };
}

/** Both links or neither: a hub without the topic URL it knows the feed by cannot be subscribed to. */
function websubLinks(raw: RawFeed, base: string | null): Pick<ParsedFeed['feed'], 'websub'> {
  const hub = resolveWebUrl(raw.hub ?? null, base);
  const self = resolveWebUrl(raw.self ?? null, base);
  return hub !== null && self !== null ? { websub: { hub, self } } : {};
}

export function normaliseItem(raw: RawItem, base: string | null): NormalisedItem {
  const contentHtml = bodyHtml(raw, base);
  const summarySource = raw.summary ?? (raw.content?.kind === 'html' ? raw.content : null);
  const summaryText =
    summarySource !== null ? plainText(summarySource) : contentHtml !== null ? nonEmpty(htmlToText(contentHtml)) : null;
  return {
    guid: nonEmpty(raw.guid?.trim()),
    url: resolveWebUrl(raw.link, resolveBase(raw.linkBase, base)),
    title: plainText(raw.title),
    published: parseDate(raw.published),
    updated: parseDate(raw.updated),
    author: nonEmpty(uniqueTexts(raw.authors.map(authorName)).join(', ')),
    categories: uniqueTexts(raw.categories),
    enclosures: enclosures(raw.enclosures, base),
    summary: summaryText !== null ? truncateOnWord(summaryText, SUMMARY_MAX_CHARS) : null,
    content_html: contentHtml,
  };
}

/** The body to show: the content, else a summary that carries markup. Sanitised, URLs absolute. */
function bodyHtml(raw: RawItem, base: string | null): string | null {
  const body = raw.content ?? (raw.summary?.kind === 'html' && hasMarkup(raw.summary.value) ? raw.summary : null);
  if (body === null) return null;
  const value = repairDoubleEncoding(body.value);
  const html = body.kind === 'html' ? value : textToHtml(value);
  return html === null ? null : sanitizeContent(html, resolveBase(body.base, base));
}

/** Plain text of a text construct: HTML is decoded and stripped, text is taken literally. */
export function plainText(text: RawText | null): string | null {
  if (text === null) return null;
  const value = repairDoubleEncoding(text.value);
  return nonEmpty(text.kind === 'html' ? htmlToText(value) : collapseWhitespace(value));
}

const EMAIL = String.raw`[^\s@()<>]+@[^\s@()<>]+`;
const EMAIL_THEN_NAME = new RegExp(String.raw`^\s*(?:mailto:)?${EMAIL}\s*\((.+)\)\s*$`);
const NAME_THEN_EMAIL = new RegExp(String.raw`^\s*(.+?)\s*(?:\(\s*(?:mailto:)?${EMAIL}\s*\)|<\s*(?:mailto:)?${EMAIL}\s*>)\s*$`);

/**
 * RSS <author> is an e-mail address, written "desk@example.com (Name)", "Name (desk@example.com)"
 * or "Name <desk@example.com>": the name is what a reader wants. A bare address is kept. The
 * value is plain text first (decoded, markup stripped), like a title.
 */
function authorName(raw: RawText): RawText {
  const value = plainText(raw) ?? '';
  const m = value.length <= 512 ? (EMAIL_THEN_NAME.exec(value) ?? NAME_THEN_EMAIL.exec(value)) : null;
  return { value: m?.[1] ?? value, kind: 'text' };
}

function enclosures(raw: RawEnclosure[], base: string | null): Enclosure[] {
  const byUrl = new Map<string, Enclosure>();
  for (const e of raw) {
    const url = resolveWebUrl(e.url, base);
    if (url === null || byUrl.has(url)) continue;
    byUrl.set(url, { url, type: nonEmpty(e.type?.trim().toLowerCase()), length: byteLength(e.length) });
  }
  return [...byUrl.values()];
}

/** A positive whole number of bytes; 0 is what publishers write when they do not know. */
function byteLength(raw: string | number | null): number | null {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** Names and categories are plain text like titles: decoded, stripped of markup, deduplicated. */
function uniqueTexts(values: RawText[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    const text = plainText(v);
    if (text !== null) out.add(text);
  }
  return [...out];
}

/** A language tag as the feed wrote it (case kept: "en-US", "pt_BR"), trimmed; anything else → null. */
export function normaliseLanguage(raw: string | null): string | null {
  const tag = raw?.trim() ?? '';
  return /^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$/.test(tag) ? tag : null;
}

function isEmpty(item: NormalisedItem): boolean {
  return item.guid === null && item.url === null && item.title === null && item.content_html === null && item.summary === null;
}
