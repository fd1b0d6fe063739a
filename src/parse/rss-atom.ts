/**
 * rss-parser adapter for RSS 0.9x, RSS 1.0 (RDF), RSS 2.0, Atom 0.3 and Atom 1.0.
 *
 * rss-parser runs sax in strict mode through xml2js (never expanding or fetching DOCTYPE
 * entities) and routes the document by its root element. Its item mapping is not used: it builds
 * quadratic snippets for every description, throws on an invalid Atom date or a `<link>text</link>`,
 * picks `rel="self"` links and drops categories, enclosures, extra authors and Atom 0.3 dates
 * (dependencies.md). The builders are overridden to hand back the raw xml2js elements, which are
 * read here by hand.
 */
import Parser from 'rss-parser';
import type { FeedFormat } from './types.ts';
import type { RawEnclosure, RawFeed, RawItem, RawText } from './normalise.ts';

/** An xml2js node with the default options: text, or an object with attributes in `$`, text in `_`, children in arrays. */
type XNode = string | XElement;
interface XElement {
  $?: Record<string, string>;
  _?: string;
  [child: string]: unknown;
}

type RawDocument =
  | { kind: 'rss'; root: XElement }
  | { kind: 'rdf'; root: XElement }
  | { kind: 'atom'; root: XElement };

class RawDocumentParser extends Parser {
  constructor() {
    // defaultRSS: an <rss> without a version attribute is read as RSS 2.0 rather than rejected.
    super({ defaultRSS: 2 });
  }
  // These replace rss-parser's builders, which it calls by name after parsing (see lib/parser.js).
  buildAtomFeed(xml: { feed: XElement }): RawDocument {
    return { kind: 'atom', root: xml.feed };
  }
  buildRSS2(xml: { rss: XElement }): RawDocument {
    return { kind: 'rss', root: xml.rss };
  }
  buildRSS0_9(xml: { rss: XElement }): RawDocument {
    return { kind: 'rss', root: xml.rss };
  }
  buildRSS1(xml: { 'rdf:RDF': XElement }): RawDocument {
    return { kind: 'rdf', root: xml['rdf:RDF'] };
  }
}

const parser = new RawDocumentParser();

/** Parses repaired XML of a detected format; rejects with the parser's error when it is not well-formed. */
export async function parseXmlFeed(xml: string, format: FeedFormat): Promise<RawFeed> {
  const source = format === 'atom1' || format === 'atom03' ? wrapXhtmlContent(xml) : xml;
  // parseString is typed as returning rss-parser's Output; our builders return RawDocument instead.
  const doc = (await parser.parseString(source)) as unknown as RawDocument;
  switch (doc.kind) {
    case 'atom':
      return atomFeed(doc.root, format === 'atom03' ? 'atom03' : 'atom1');
    case 'rdf':
      return rdfFeed(doc.root);
    case 'rss':
      return rssFeed(doc.root, format === 'rss09' ? 'rss09' : 'rss2');
  }
}

// ---------------------------------------------------------------- xml2js helpers

function isElement(node: unknown): node is XElement {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

function children(node: unknown, name: string): XNode[] {
  if (!isElement(node)) return [];
  const value = node[name];
  return Array.isArray(value) ? value.filter((v): v is XNode => typeof v === 'string' || isElement(v)) : [];
}

function child(node: unknown, name: string): XNode | null {
  return children(node, name)[0] ?? null;
}

function attr(node: unknown, name: string): string | null {
  return isElement(node) && node.$ && typeof node.$[name] === 'string' ? node.$[name] : null;
}

/** The text of an element (its character data), or null for an element with none. */
function text(node: XNode | null): string | null {
  if (typeof node === 'string') return node;
  return node && typeof node._ === 'string' ? node._ : null;
}

/** Text of the first of `names` that has non-blank text. */
function firstText(node: unknown, ...names: string[]): string | null {
  for (const name of names) {
    for (const c of children(node, name)) {
      const t = text(c);
      if (t !== null && t.trim() !== '') return t;
    }
  }
  return null;
}

function allTexts(node: unknown, ...names: string[]): string[] {
  return names.flatMap((name) => children(node, name).map(text)).filter((t): t is string => t !== null);
}

// ---------------------------------------------------------------- RSS 0.9x / 2.0 and RSS 1.0

function rssFeed(root: XElement, format: 'rss2' | 'rss09'): RawFeed {
  const channel = child(root, 'channel');
  const base = attr(channel, 'xml:base') ?? attr(root, 'xml:base');
  return {
    format,
    base,
    ...rssChannelMeta(channel),
    items: children(channel, 'item').map(rssItem),
  };
}

function rdfFeed(root: XElement): RawFeed {
  const channel = child(root, 'channel');
  // RSS 1.0 puts items beside the channel; some publishers nest them anyway.
  const items = [...children(root, 'item'), ...children(channel, 'item')];
  return { format: 'rss1', base: attr(root, 'xml:base'), ...rssChannelMeta(channel), items: items.map(rssItem) };
}

function rssChannelMeta(channel: XNode | null): Pick<RawFeed, 'title' | 'link' | 'language' | 'ttlSeconds'> {
  const title = firstText(channel, 'title', 'dc:title');
  return {
    title: title !== null ? { value: title, kind: 'html' } : null,
    // Only a text <link>: an attribute-only one is an atom:link in the default namespace.
    link: firstText(channel, 'link'),
    language: firstText(channel, 'language', 'dc:language'),
    ttlSeconds: rssTtlSeconds(channel),
  };
}

const SECONDS_PER_PERIOD: Readonly<Record<string, number>> = {
  hourly: 3600, daily: 86_400, weekly: 604_800, monthly: 2_592_000, yearly: 31_536_000,
};

/** RSS <ttl> (minutes), else sy:updatePeriod ÷ sy:updateFrequency. */
function rssTtlSeconds(channel: XNode | null): number | null {
  const ttl = Number(firstText(channel, 'ttl')?.trim());
  if (Number.isFinite(ttl) && ttl > 0) return Math.round(ttl * 60);
  const period = SECONDS_PER_PERIOD[firstText(channel, 'sy:updatePeriod')?.trim().toLowerCase() ?? ''];
  if (period === undefined) return null;
  const frequency = Number(firstText(channel, 'sy:updateFrequency')?.trim() ?? '1');
  return Math.round(period / (Number.isFinite(frequency) && frequency >= 1 ? frequency : 1));
}

function rssItem(item: XNode): RawItem {
  const guidNode = child(item, 'guid');
  const guid = text(guidNode)?.trim() || attr(item, 'rdf:about');
  const link = firstText(item, 'link') ?? atomLink(children(item, 'atom:link'));
  // RSS 2.0: a guid is the permalink unless isPermaLink="false".
  const guidIsLink = guidNode !== null && attr(guidNode, 'isPermaLink')?.trim().toLowerCase() !== 'false';
  const title = firstText(item, 'title', 'dc:title');
  const content = firstText(item, 'content:encoded');
  const description = firstText(item, 'description', 'dc:description');
  return {
    base: attr(item, 'xml:base'),
    guid: guid ?? null,
    link: link ?? (guidIsLink && guid && /^https?:\/\//i.test(guid) ? guid : null),
    title: title !== null ? { value: title, kind: 'html' } : null,
    published: firstText(item, 'pubDate', 'dc:date', 'dcterms:issued', 'atom:published'),
    updated: firstText(item, 'dc:modified', 'dcterms:modified', 'atom:updated'),
    authors: rssAuthors(item),
    categories: [...allTexts(item, 'category'), ...allTexts(item, 'dc:subject')],
    enclosures: [
      ...children(item, 'enclosure').map((e) => ({ url: attr(e, 'url'), type: attr(e, 'type'), length: attr(e, 'length') })),
      ...mediaContents(item),
    ],
    content: content !== null ? { value: content, kind: 'html' } : null,
    summary: description !== null ? { value: description, kind: 'html' } : null,
  };
}

function rssAuthors(item: XNode): string[] {
  const authors = allTexts(item, 'author').map(nameFromRssAuthor);
  return authors.length > 0 ? authors : allTexts(item, 'dc:creator');
}

/** RSS 2.0 <author> is an e-mail address, conventionally "desk@example.com (Name)": keep the name. */
function nameFromRssAuthor(author: string): string {
  const m = /^\s*[^\s@()]+@[^\s()]+\s*\((.+)\)\s*$/.exec(author);
  return m?.[1] ?? author;
}

/** media:content elements with a URL, directly or inside media:group. */
function mediaContents(item: XNode): RawEnclosure[] {
  const direct = children(item, 'media:content');
  const grouped = children(item, 'media:group').flatMap((g) => children(g, 'media:content'));
  return [...direct, ...grouped].map((m) => ({ url: attr(m, 'url'), type: attr(m, 'type'), length: attr(m, 'fileSize') }));
}

// ---------------------------------------------------------------- Atom 1.0 / 0.3

function atomFeed(root: XElement, format: 'atom1' | 'atom03'): RawFeed {
  const feedAuthors = atomAuthors(root);
  return {
    format,
    base: attr(root, 'xml:base'),
    title: atomText(child(root, 'title'), format),
    link: atomLink(children(root, 'link')),
    language: attr(root, 'xml:lang'),
    ttlSeconds: null,
    items: children(root, 'entry').map((entry) => atomEntry(entry, format, feedAuthors)),
  };
}

function atomEntry(entry: XNode, format: 'atom1' | 'atom03', feedAuthors: string[]): RawItem {
  const authors = atomAuthors(entry);
  const links = children(entry, 'link');
  const old = format === 'atom03';
  return {
    base: attr(entry, 'xml:base'),
    guid: firstText(entry, 'id'),
    link: atomLink(links),
    title: atomText(child(entry, 'title'), format),
    published: old ? firstText(entry, 'issued', 'created') : firstText(entry, 'published', 'issued', 'dc:date'),
    updated: old ? firstText(entry, 'modified') : firstText(entry, 'updated', 'modified'),
    // Atom: an entry without an author inherits the feed's (RFC 4287 §4.2.1).
    authors: authors.length > 0 ? authors : feedAuthors,
    categories: children(entry, 'category').flatMap((c) => {
      const label = attr(c, 'label') ?? attr(c, 'term') ?? text(c);
      return label !== null ? [label] : [];
    }),
    enclosures: [
      ...links
        .filter((l) => attr(l, 'rel')?.trim().toLowerCase() === 'enclosure')
        .map((l) => ({ url: attr(l, 'href'), type: attr(l, 'type'), length: attr(l, 'length') })),
      ...mediaContents(entry),
    ],
    content: atomContent(child(entry, 'content'), format),
    summary: atomText(child(entry, 'summary'), format),
  };
}

function atomAuthors(node: unknown): string[] {
  return children(node, 'author').flatMap((a) => {
    const name = typeof a === 'string' ? a : firstText(a, 'name', 'email');
    return name !== null ? [name] : [];
  });
}

/**
 * The entry's (or feed's) web page: the first rel="alternate" link, and a link without rel is
 * alternate by definition. HTML alternates win over other types. A `<link>url</link>` (invalid
 * but seen) is read as its text.
 */
function atomLink(links: XNode[]): string | null {
  const alternates = links.filter((l) => {
    const rel = attr(l, 'rel')?.trim().toLowerCase();
    return rel === undefined || rel === null || rel === '' || rel === 'alternate';
  });
  const isHtml = (l: XNode): boolean => {
    const type = attr(l, 'type')?.toLowerCase() ?? 'text/html';
    return type.includes('html');
  };
  const chosen = alternates.find(isHtml) ?? alternates[0];
  if (chosen === undefined) return null;
  return attr(chosen, 'href') ?? text(chosen)?.trim() ?? null;
}

/** Atom text constructs: type text|html|xhtml (1.0), or a MIME type plus mode (0.3). */
function atomText(node: XNode | null, format: 'atom1' | 'atom03'): RawText | null {
  if (node === null) return null;
  const value = text(node);
  if (value === null) return null;
  const type = (attr(node, 'type') ?? (format === 'atom03' ? 'text/plain' : 'text')).trim().toLowerCase();
  const mode = attr(node, 'mode')?.trim().toLowerCase();
  if (mode === 'base64') return null;
  const isMarkup = type === 'html' || type === 'xhtml' || type.includes('html') || mode === 'xml';
  return { value, kind: isMarkup ? 'html' : 'text' };
}

function atomContent(node: XNode | null, format: 'atom1' | 'atom03'): RawText | null {
  if (node === null || attr(node, 'src') !== null) return null; // out-of-line content has no body here
  const type = attr(node, 'type')?.trim().toLowerCase();
  // Non-text media types (image/png, application/pdf) are not a readable body.
  if (type !== undefined && type !== null && !/^(text|html|xhtml)$|^text\/|xhtml|xml/.test(type)) return null;
  return atomText(node, format);
}

/**
 * xml2js turns inline XHTML into objects grouped by tag name, losing the order of mixed content.
 * Wrapping each xhtml text construct in CDATA before parsing keeps it as one HTML string.
 * Linear: each match is followed by one forward search for its end tag.
 */
function wrapXhtmlContent(xml: string): string {
  const open = /<((?:[A-Za-z_][\w.-]*:)?(?:content|summary|title|subtitle|rights))\b([^<>]*?)(\/?)>/g;
  const out: string[] = [];
  let copied = 0;
  for (let m = open.exec(xml); m !== null; m = open.exec(xml)) {
    const [whole, name = '', attrs = '', selfClosing] = m;
    if (selfClosing || !/\b(?:type\s*=\s*["'](?:xhtml|application\/xhtml\+xml)["']|mode\s*=\s*["']xml["'])/i.test(attrs)) continue;
    const bodyStart = m.index + whole.length;
    const close = xml.indexOf(`</${name}>`, bodyStart);
    if (close === -1) break;
    const body = xml.slice(bodyStart, close);
    if (body.includes('<![CDATA[')) continue; // already text, or too odd to rewrite safely
    out.push(xml.slice(copied, bodyStart), '<![CDATA[', body.replace(/]]>/g, ']]]]><![CDATA[>'), ']]>');
    copied = close;
    open.lastIndex = close;
  }
  out.push(xml.slice(copied));
  return out.join('');
}
