/**
 * What kind of document is this? Decided from the first significant characters and the root
 * element, before any real parsing, so that HTML pages and JSON get a precise answer.
 */
import { decodeHTMLAttribute } from 'entities/decode';
import { scanHtml } from './text.ts';
import type { FeedFormat } from './types.ts';
import { resolveWebUrl } from './url.ts';

export type Detection =
  | { kind: 'empty' }
  | { kind: 'json' }
  | { kind: 'xml'; format: FeedFormat }
  | { kind: 'html' }
  | { kind: 'unknown'; rootName: string | null };

/** `text` without a BOM; junk before the prolog is tolerated for XML (xml-repair removes it). */
export function detectFormat(text: string): Detection {
  const start = text.search(/\S/);
  if (start === -1) return { kind: 'empty' };
  if (text[start] === '{') return { kind: 'json' };
  const root = rootElement(text);
  if (root === null) return looksLikeHtml(text) ? { kind: 'html' } : { kind: 'unknown', rootName: null };
  const local = root.name.replace(/^.*:/, '').toLowerCase();
  const version = attribute(root.attrs, 'version');
  switch (local) {
    case 'rss':
      return { kind: 'xml', format: version !== null && /^0\.9/.test(version.trim()) ? 'rss09' : 'rss2' };
    case 'rdf':
      // RSS 0.90 is RDF too, told apart by its namespace.
      return { kind: 'xml', format: /my\.netscape\.com\/rdf\/simple\/0\.9/i.test(root.attrs) ? 'rss09' : 'rss1' };
    case 'feed':
      return {
        kind: 'xml',
        format: version?.trim() === '0.3' || root.attrs.includes('purl.org/atom/ns#') ? 'atom03' : 'atom1',
      };
    case 'html':
    case 'head':
    case 'body':
      return { kind: 'html' };
    default:
      return looksLikeHtml(text) ? { kind: 'html' } : { kind: 'unknown', rootName: root.name };
  }
}

/**
 * The first element that looks like a feed root or <html>, skipping the prolog, comments, a
 * DOCTYPE and junk; else the first element at all. Searches only the head of the document.
 */
function rootElement(text: string): { name: string; attrs: string } | null {
  const head = text.slice(0, 64 * 1024);
  // The ">" may be missing (a root tag cut short is still the root: the loose pass recovers it).
  const known = /<((?:[A-Za-z_][\w.-]*:)?(?:rss|RDF|feed)|html|HTML)(?=[\s/>])([^<>]*)/.exec(head);
  const any = /<([A-Za-z_][\w.:-]*)([\s/>][^<>]*)?>/.exec(head);
  const m = known ?? any;
  return m ? { name: m[1] ?? '', attrs: m[2] ?? '' } : null;
}

function attribute(attrs: string, name: string): string | null {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(attrs);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

function looksLikeHtml(text: string): boolean {
  return /<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]/i.test(text.slice(0, 64 * 1024));
}

const FEED_TYPES = new Set(['application/rss+xml', 'application/atom+xml', 'application/feed+json', 'application/rdf+xml']);

/** The first feed an HTML page advertises with <link rel="alternate" type=… href=…>, made absolute. */
export function advertisedFeedUrl(html: string, baseUrl: string | null): string | null {
  let found: string | null = null;
  scanHtml(html, {
    text() {},
    markup(segment, name, closing) {
      if (found !== null || closing || name !== 'link') return;
      const attrs = parseAttributes(segment);
      const rel = (attrs.get('rel') ?? '').toLowerCase().split(/\s+/);
      const type = (attrs.get('type') ?? '').trim().toLowerCase().split(';')[0] ?? '';
      if (rel.includes('alternate') && FEED_TYPES.has(type)) found = resolveWebUrl(attrs.get('href'), baseUrl);
    },
  });
  return found;
}

function parseAttributes(tag: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([^\s"'<>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  // Skip "<link" itself.
  re.lastIndex = tag.search(/[\s/>]/);
  if (re.lastIndex < 0) return attrs;
  for (let m = re.exec(tag); m !== null; m = re.exec(tag)) {
    const name = (m[1] ?? '').toLowerCase();
    if (!attrs.has(name)) attrs.set(name, decodeHTMLAttribute(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}
