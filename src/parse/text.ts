/**
 * HTML → plain text, whitespace and truncation. Everything here is linear in the input: feeds are
 * untrusted, and rss-parser's own snippet regex is quadratic on text full of "<" (see dependencies.md).
 */
import { decodeHTML, escapeText } from 'entities';

/** Elements whose boundaries separate words ("<p>a</p><p>b</p>" is "a b", not "ab"). */
const BLOCK_TAGS = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'div', 'dl', 'dt', 'figcaption', 'figure',
  'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre',
  'section', 'table', 'td', 'th', 'tr', 'ul', 'img',
]);
/** Elements whose body is not HTML: their content is skipped as one block. */
const RAW_TEXT_TAGS = new Set(['script', 'style', 'textarea', 'xmp', 'template']);
/** Elements whose text is not prose (an iframe's or noscript's body is fallback text, and stays). */
const SKIPPED_TAGS = new Set(['script', 'style', 'template', 'head', 'title', 'object', 'svg', 'math', 'select', 'textarea']);

/** Collapses runs of whitespace (including NBSP and other Unicode spaces) to one space and trims. */
export function collapseWhitespace(text: string): string {
  return text.replace(/[\s\u00A0\u200B\uFEFF]+/g, ' ').trim();
}

/** What the linear scanner reports: prose, or markup (a tag, a comment, a script/style body). */
export interface HtmlScanVisitor {
  text(segment: string): void;
  markup(segment: string, tagName: string | null, closing: boolean): void;
}

/**
 * Splits HTML into text and markup. A hand-written scanner rather than a parser: callers only need
 * tag boundaries, and every search moves forward (the position of the next ">" is remembered), so
 * a run of "<" with no ">" stays linear. An unclosed comment or <script> hides the rest, as in browsers.
 */
export function scanHtml(html: string, visitor: HtmlScanVisitor): void {
  const n = html.length;
  let textStart = 0;
  let i = 0;
  let nextGt = -2; // position of the next ">" at or after i; -2 = not searched yet
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt === -1) break;
    const next = html.charCodeAt(lt + 1);
    const isTag = isAsciiLetter(next) || next === 47; /* / */
    const isBang = next === 33; /* ! */
    if (!isTag && !isBang) {
      i = lt + 1; // a literal "<" in text
      continue;
    }
    if (isBang && html.startsWith('<!--', lt)) {
      // A comment is never text, even unclosed: then it hides the rest, as in browsers.
      if (lt > textStart) visitor.text(html.slice(textStart, lt));
      const close = html.indexOf('-->', lt + 4);
      const end = close === -1 ? n : close + 3;
      visitor.markup(html.slice(lt, end), null, false);
      i = textStart = end;
      continue;
    }
    if (nextGt < lt && nextGt !== -1) nextGt = html.indexOf('>', lt);
    if (nextGt === -1) break; // no ">" anywhere after this: the rest is text
    if (lt > textStart) visitor.text(html.slice(textStart, lt));
    let end = nextGt + 1;
    if (isTag) {
      const closing = next === 47;
      const name = tagName(html, closing ? lt + 2 : lt + 1);
      visitor.markup(html.slice(lt, end), name, closing);
      if (!closing && RAW_TEXT_TAGS.has(name) && html.charCodeAt(nextGt - 1) !== 47 /* self-closing */) {
        const bodyEnd = findClosingTag(html, name, end);
        if (bodyEnd > end) visitor.markup(html.slice(end, bodyEnd), null, false);
        end = bodyEnd;
      }
    } else {
      visitor.markup(html.slice(lt, end), null, false); // <!DOCTYPE …>, <![CDATA[…]>
    }
    i = textStart = end;
  }
  if (textStart < n) visitor.text(html.slice(textStart));
}

/** Text content of an HTML fragment, entities decoded, whitespace collapsed. Linear. */
export function htmlToText(html: string): string {
  const parts: string[] = [];
  let skipDepth = 0;
  scanHtml(html, {
    text(segment) {
      if (skipDepth === 0) parts.push(segment);
    },
    markup(segment, name, closing) {
      if (name === null) return;
      if (SKIPPED_TAGS.has(name)) {
        if (!segment.endsWith('/>')) skipDepth = Math.max(0, skipDepth + (closing ? -1 : 1)); // <script/> is empty
      } else if (BLOCK_TAGS.has(name)) parts.push(' ');
    },
  });
  return collapseWhitespace(decodeEntities(parts.join('')));
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function tagName(html: string, from: number): string {
  let to = from;
  while (to < html.length && to - from < 20) {
    const c = html.charCodeAt(to);
    if (!isAsciiLetter(c) && !(c >= 48 && c <= 57)) break;
    to++;
  }
  return html.slice(from, to).toLowerCase();
}

/** Index of `</name` (the start of the closing tag), or the end of input. */
function findClosingTag(html: string, name: string, from: number): number {
  const re = new RegExp(`</${name}\\b`, 'gi');
  re.lastIndex = from;
  return re.exec(html)?.index ?? html.length;
}

/** Decodes HTML entities (named, numeric) in text that is otherwise plain. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  // Fast path for the commonest references (dense runs of them are a cheap denial of service);
  // they cannot be part of a longer reference, so decoding them first changes nothing.
  const common = text.replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  return common.includes('&') ? decodeHTML(common) : common;
}

/** Plain text; null when nothing is left. */
export function nonEmpty(text: string | null | undefined): string | null {
  return text != null && text !== '' ? text : null;
}

/** Cuts to at most `max` characters at a word boundary and marks the cut with "…". */
export function truncateOnWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const lastSpace = cut.lastIndexOf(' ');
  // A single enormous "word" (a URL, a hostile run) is cut hard rather than dropped.
  const head = lastSpace > max * 0.6 ? cut.slice(0, lastSpace) : cut;
  return `${head.replace(/[\s.,;:!?\-–—]+$/, '')}…`;
}

/** Plain text → HTML paragraphs (blank lines split paragraphs, single newlines become <br>). */
export function textToHtml(text: string): string | null {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (paragraphs.length === 0) return null;
  return paragraphs.map((p) => `<p>${escapeText(p).replace(/\n/g, '<br>')}</p>`).join('');
}

/** Whether a string looks like it carries HTML markup (a tag or a comment), as opposed to prose. */
export function hasMarkup(text: string): boolean {
  return /<[a-zA-Z!\/]/.test(text);
}
