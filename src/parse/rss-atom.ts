/**
 * rss-parser adapter for RSS 0.9x, RSS 1.0 (RDF), RSS 2.0, Atom 0.3 and Atom 1.0.
 *
 * rss-parser runs sax in strict mode through xml2js (never expanding or fetching DOCTYPE
 * entities) and routes the document by its root element. Its item mapping is not used: it builds
 * quadratic snippets for every description, throws on an invalid Atom date or a `<link>text</link>`,
 * picks `rel="self"` links and drops categories, enclosures, extra authors and Atom 0.3 dates
 * (dependencies.md). The builders are overridden to hand back the raw xml2js elements, which are
 * mapped here by canonical element name (see xml-canonical.ts); every rule about what a value
 * means lives in normalise.ts.
 */
import Parser from 'rss-parser';
import type { FeedFormat } from './types.ts';
import type { RawEnclosure, RawFeed, RawItem, RawText } from './normalise.ts';
import { canonicalXml, MARKUP_ATTRIBUTE, type DocumentKind } from './xml-canonical.ts';

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

/**
 * Parses repaired XML of a detected format. The canonical pre-pass makes it well-formed, so the
 * strict parser only rejects what is not a feed at all.
 */
export async function parseXmlFeed(xml: string, format: FeedFormat, docBase: string | null): Promise<RawFeed> {
  const kind: DocumentKind = format === 'atom1' || format === 'atom03' ? 'atom' : 'rss';
  const source = canonicalXml(xml, kind, docBase);
  // parseString is typed as returning rss-parser's Output; our builders return RawDocument instead.
  const doc = (await parser.parseString(source)) as unknown as RawDocument;
  switch (doc.kind) {
    case 'atom':
      return atomFeed(doc.root, format === 'atom03' ? 'atom03' : 'atom1');
    case 'rdf':
      return rdfFeed(doc.root, format === 'rss09' ? 'rss09' : 'rss1');
    case 'rss':
      return rssFeed(doc.root, format === 'rss09' ? 'rss09' : 'rss2');
  }
}

// ---------------------------------------------------------------- xml2js helpers

function isElement(node: unknown): node is XElement {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

const NONE: XNode[] = [];

/** Child elements named `name` (xml2js puts only strings and element objects in these arrays). */
function children(node: unknown, name: string): XNode[] {
  if (!isElement(node)) return NONE;
  const value = node[name];
  return Array.isArray(value) ? (value as XNode[]) : NONE;
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

/** The first child among `names` (in that order of preference) with non-blank text. */
function firstNode(node: unknown, ...names: string[]): XNode | null {
  for (const name of names) {
    for (const c of children(node, name)) {
      const t = text(c);
      if (t !== null && t.trim() !== '') return c;
    }
  }
  return null;
}

/** xml:lang, with "en_US" read as the "en-US" it means (a language element is kept as written). */
function xmlLang(node: unknown): string | null {
  return attr(node, 'xml:lang')?.replace(/_/g, '-') ?? null;
}

function nodeText(node: XNode | null): string | null {
  const t = text(node)?.trim();
  return t ? t : null;
}

function allTexts(node: unknown, ...names: string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    for (const c of children(node, name)) {
      const t = text(c);
      if (t !== null) out.push(t);
    }
  }
  return out;
}

// ---------------------------------------------------------------- RSS 0.9x / 2.0 and RSS 1.0

function rssFeed(root: XElement, format: 'rss2' | 'rss09'): RawFeed {
  // A root whose ">" was lost swallows <channel> as an attribute: its children are then the channel's.
  const channel = child(root, 'channel') ?? root;
  const base = attr(channel, 'xml:base') ?? attr(root, 'xml:base');
  return {
    format,
    base,
    ...rssChannelMeta(channel, root),
    items: children(channel, 'item').map(rssItem),
  };
}

function rdfFeed(root: XElement, format: 'rss1' | 'rss09'): RawFeed {
  const channel = child(root, 'channel');
  // RSS 1.0 puts items beside the channel; some publishers nest them anyway.
  const items = [...children(root, 'item'), ...children(channel, 'item')];
  return { format, base: attr(root, 'xml:base'), ...rssChannelMeta(channel, root), items: items.map(rssItem) };
}

function rssChannelMeta(channel: XNode | null, root: XElement): Pick<RawFeed, 'title' | 'link' | 'language' | 'ttlSeconds' | 'hub' | 'self'> {
  // WebSub discovery: atom:link rel="hub"/"self" (an attribute-only <link> is one in the default namespace).
  const relLinks = [...children(channel, 'atom:link'), ...children(channel, 'link')];
  return {
    hub: relHref(relLinks, 'hub'),
    self: relHref(relLinks, 'self'),
    title: textConstruct(firstNode(channel, 'title', 'dc:title', 'atom:title'), 'html'),
    // Only a text <link>: an attribute-only one is an atom:link in the default namespace.
    link: firstText(channel, 'link') ?? atomLink(children(channel, 'atom:link')),
    language: firstText(channel, 'language', 'dc:language') ?? xmlLang(channel) ?? xmlLang(root),
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

/** Where RSS publishers put the full body, in order of preference. */
const RSS_CONTENT = ['content:encoded', 'atom:content', 'content', 'xhtml:body', 'body', 'fullitem'];
/** …and the short form. */
const RSS_SUMMARY = ['description', 'dc:description', 'atom:summary', 'itunes:summary', 'media:description'];

function rssItem(item: XNode): RawItem {
  const guidNode = child(item, 'guid');
  const guid = text(guidNode)?.trim() || attr(item, 'rdf:about');
  const linkNode = firstNode(item, 'link');
  const link = nodeText(linkNode) ?? atomLink(children(item, 'atom:link'));
  // RSS 2.0: a guid is the permalink unless isPermaLink="false".
  const guidIsLink = guidNode !== null && attr(guidNode, 'isPermaLink')?.trim().toLowerCase() !== 'false';
  const summaryNode = firstNode(item, ...RSS_SUMMARY) ?? firstNode(child(item, 'media:group'), 'media:description');
  return {
    base: attr(item, 'xml:base'),
    guid: guid ?? null,
    link: link ?? (guidIsLink && guid && /^https?:\/\//i.test(guid) ? guid : null),
    linkBase: attr(linkNode, 'xml:base') ?? (link === null && guidIsLink ? attr(guidNode, 'xml:base') : null),
    title: textConstruct(firstNode(item, 'title', 'dc:title', 'atom:title'), 'html'),
    published: firstText(item, 'pubDate', 'dc:date', 'dcterms:issued', 'dcterms:created', 'atom:published', 'issued'),
    updated: firstText(item, 'dc:modified', 'dcterms:modified', 'atom:updated'),
    authors: rssAuthors(item),
    categories: [...allTexts(item, 'category'), ...moduleCategories(item)].map((value) => ({ value, kind: 'html' as const })),
    enclosures: [
      ...children(item, 'enclosure').map((e) => ({ url: attr(e, 'url'), type: attr(e, 'type'), length: attr(e, 'length') })),
      ...mediaContents(item),
    ],
    content: rssContent(item),
    // RSS text is HTML by convention (RSS 2.0 description "may contain entity-encoded HTML").
    summary: summaryNode !== null ? textConstruct(summaryNode, 'html') : null,
  };
}

/** dc:subject, media:category, and itunes:category's text attribute (nested subcategories too). */
function moduleCategories(node: XNode): string[] {
  const out = allTexts(node, 'dc:subject', 'media:category');
  itunesCategories(node, out);
  return out;
}

function itunesCategories(parent: unknown, into: string[]): void {
  for (const c of children(parent, 'itunes:category')) {
    const label = attr(c, 'text');
    if (label !== null) into.push(label);
    itunesCategories(c, into);
  }
}

function rssAuthors(item: XNode): RawText[] {
  for (const name of ['author', 'dc:creator', 'dc:author', 'itunes:author']) {
    const found = allTexts(item, name);
    if (found.length > 0) return found.map((value) => ({ value, kind: 'html' }));
  }
  return atomAuthors(item, 'atom:author');
}

/** media:content elements with a URL, directly or inside media:group. */
function mediaContents(item: XNode): RawEnclosure[] {
  const direct = children(item, 'media:content');
  const grouped = children(item, 'media:group').flatMap((g) => children(g, 'media:content'));
  return [...direct, ...grouped].map((m) => ({ url: attr(m, 'url'), type: attr(m, 'type'), length: attr(m, 'fileSize') }));
}

// ---------------------------------------------------------------- Atom 1.0 / 0.3

function atomFeed(root: XElement, format: 'atom1' | 'atom03'): RawFeed {
  const feedAuthors = atomAuthors(root, 'author');
  return {
    format,
    base: attr(root, 'xml:base'),
    title: atomText(child(root, 'title'), format),
    link: atomLink(children(root, 'link')),
    hub: relHref(children(root, 'link'), 'hub'),
    self: relHref(children(root, 'link'), 'self'),
    language: xmlLang(root) ?? firstText(root, 'dc:language'),
    ttlSeconds: null,
    items: children(root, 'entry').map((entry) => atomEntry(entry, format, feedAuthors)),
  };
}

function atomEntry(entry: XNode, format: 'atom1' | 'atom03', feedAuthors: RawText[]): RawItem {
  const links = children(entry, 'link');
  const old = format === 'atom03';
  const contentNode = child(entry, 'content');
  return {
    base: attr(entry, 'xml:base'),
    guid: firstText(entry, 'id'),
    link: atomLink(links),
    linkBase: null,
    title: atomText(child(entry, 'title'), format),
    published: old ? firstText(entry, 'issued', 'created') : firstText(entry, 'published', 'issued', 'created', 'dc:date'),
    updated: old ? firstText(entry, 'modified') : firstText(entry, 'updated', 'modified'),
    // RFC 4287 §4.2.1: an entry without an author has its source's, else the feed's.
    authors: firstNonEmpty(
      atomAuthors(entry, 'author'),
      atomAuthors(child(entry, 'source'), 'author'),
      allTexts(entry, 'dc:creator').map((value) => ({ value, kind: 'html' as const })),
      feedAuthors,
    ),
    // The term is the category; a label is only how to display it.
    categories: [
      ...children(entry, 'category').flatMap((c) => {
        const term = attr(c, 'term') ?? text(c);
        return term !== null ? [{ value: term, kind: 'html' as const }] : [];
      }),
      ...moduleCategories(entry).map((value) => ({ value, kind: 'html' as const })),
    ],
    enclosures: [
      ...links
        .filter((l) => attr(l, 'rel')?.trim().toLowerCase() === 'enclosure')
        .map((l) => ({ url: attr(l, 'href'), type: attr(l, 'type'), length: attr(l, 'length') })),
      ...mediaContents(entry),
    ],
    content: (contentNode !== null ? atomContent(contentNode, format) : null) ?? rssContent(entry),
    summary:
      atomText(child(entry, 'summary'), format) ??
      textConstruct(firstNode(entry, 'itunes:summary', 'media:description') ?? firstNode(child(entry, 'media:group'), 'media:description'), 'html'),
  };
}

function firstNonEmpty<T>(...lists: T[][]): T[] {
  return lists.find((l) => l.length > 0) ?? [];
}

function atomAuthors(node: unknown, name: string): RawText[] {
  return children(node, name).flatMap((a): RawText[] => {
    const value = typeof a === 'string' ? a : (firstText(a, 'name', 'atom:name') ?? firstText(a, 'email', 'atom:email') ?? text(a));
    return value !== null && value.trim() !== '' ? [{ value, kind: 'html' }] : [];
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

/** The href of the first link with this rel (WebSub's rel="hub" and rel="self"). */
function relHref(links: XNode[], rel: string): string | null {
  for (const l of links) {
    const rels = attr(l, 'rel')?.trim().toLowerCase().split(/\s+/) ?? [];
    const href = attr(l, 'href')?.trim();
    if (rels.includes(rel) && href) return href;
  }
  return null;
}

/** Atom text constructs: type text|html|xhtml (1.0), or a MIME type plus mode (0.3). */
function atomText(node: XNode | null, format: 'atom1' | 'atom03'): RawText | null {
  if (node === null) return null;
  const type = mediaType(attr(node, 'type') ?? (format === 'atom03' ? 'text/plain' : 'text'));
  const base64 = attr(node, 'mode')?.trim().toLowerCase() === 'base64';
  return construct(node, base64, type);
}

/**
 * Atom content: as a text construct, but a `src` has no body here, and any other media type than
 * text, XML or HTML is base64 (RFC 4287 §4.1.3.3).
 */
function atomContent(node: XNode, format: 'atom1' | 'atom03'): RawText | null {
  if (attr(node, 'src') !== null) return null;
  const type = mediaType(attr(node, 'type') ?? (format === 'atom03' ? 'text/plain' : 'text'));
  const mode = attr(node, 'mode')?.trim().toLowerCase();
  const base64 = mode === 'base64' || (format === 'atom1' && !/^text\/|[/+]xml$/.test(type));
  return construct(node, base64, type);
}

/** RSS-family bodies: HTML unless they say otherwise (an atom:content inside RSS follows Atom's rules). */
function rssContent(item: XNode): RawText | null {
  for (const name of RSS_CONTENT) {
    const node = firstNode(item, name);
    if (node === null) continue;
    const body = name === 'atom:content' ? atomContent(node, 'atom1') : textConstruct(node, 'html');
    if (body !== null) return body;
  }
  return null;
}

/** `text` / `html` / `xhtml` and Atom 0.3's MIME types, as one media type. */
function mediaType(raw: string): string {
  const type = raw.trim().toLowerCase();
  if (type === 'text' || type === 'plain' || type === '') return 'text/plain';
  if (type === 'html') return 'text/html';
  if (type === 'xhtml') return 'application/xhtml+xml';
  return type;
}

function construct(node: XNode, base64: boolean, type: string): RawText | null {
  const raw = text(node);
  if (raw === null) return null;
  const isHtml = type.includes('html') || hasMarkupFlag(node);
  const value = base64 ? decodeBase64Text(raw) : raw;
  if (value === null) return null;
  return { value, kind: isHtml ? 'html' : 'text', base: attr(node, 'xml:base') };
}

/** A text element taken as `kind`, or as HTML when the pre-pass found child elements in it. */
function textConstruct(node: XNode | null, kind: 'html' | 'text'): RawText | null {
  if (node === null) return null;
  const value = text(node);
  if (value === null) return null;
  return { value, kind: hasMarkupFlag(node) ? 'html' : kind, base: attr(node, 'xml:base') };
}

function hasMarkupFlag(node: XNode): boolean {
  return attr(node, MARKUP_ATTRIBUTE) !== null;
}

/** Base64 text → UTF-8 text; null when it is not base64 or not text. */
function decodeBase64Text(raw: string): string | null {
  const compact = raw.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
  } catch {
    return null;
  }
}
