/**
 * One streaming pass that turns a repaired feed document into canonical, well-formed XML for
 * rss-parser (sax in strict mode through xml2js, which the design card mandates).
 *
 * Why a pre-pass rather than rss-parser's customFields: sax refuses a whole document for one
 * broken element, xml2js keys elements by the prefix the publisher wrote and loses the order of
 * mixed content, and neither knows xml:base. htmlparser2's tokenizer in xmlMode is loose (it
 * recovers from unclosed and stray tags and never throws) and several times faster than sax, so
 * this pass costs less than the parse after it. It does, in one walk:
 * - namespaces: elements and attributes are renamed by namespace URI to one canonical prefix
 *   (Atom, RSS 1.0/0.90 and RSS 2.0 elements lose theirs; dc:, content:, media:, itunes:, rdf:, …
 *   get the usual one), whatever prefix the publisher chose;
 * - xml:base: resolved against the enclosing base at every level and written back as an absolute
 *   xml:base; URL attributes (href, url, src) of feed elements are resolved in place;
 * - text constructs (title, summary, content, description, body, …) that contain child elements
 *   (Atom xhtml, Atom 0.3 mode="xml", naked markup) become one HTML string in CDATA, marked with
 *   MARKUP_ATTRIBUTE; the Atom xhtml wrapper <div> is removed;
 * - recovery: unclosed elements are closed at the end, a stray close tag is ignored, and the
 *   containers (rss, channel, feed, rdf:RDF) stay open until the end, so an early </channel>
 *   does not orphan the items after it. Every well-formed item survives a broken one.
 * The output only contains what strict XML allows, so sax no longer refuses it.
 */
import { decodeXML } from 'entities';
import { looseXmlEvents } from './xml-events.ts';
import { resolveBase } from './url.ts';

/** Set on a text construct whose value is HTML built from child elements (never taken from input). */
export const MARKUP_ATTRIBUTE = 'tributary-markup';

/** Atom documents own the Atom namespace (unprefixed); in RSS family documents Atom elements are atom:. */
export type DocumentKind = 'atom' | 'rss';

const ATOM_NAMESPACES = new Set(['http://www.w3.org/2005/atom', 'http://purl.org/atom/ns#']);

/** Lower-cased namespace URI → canonical prefix ('' = the document's own vocabulary). */
const PREFIXES: ReadonlyMap<string, string> = new Map([
  ['http://purl.org/rss/1.0/', ''],
  ['http://my.netscape.com/rdf/simple/0.9/', ''],
  ['http://backend.userland.com/rss', ''],
  ['http://backend.userland.com/rss2', ''],
  ['http://blogs.law.harvard.edu/tech/rss', ''],
  ['http://purl.org/rss/1.0/modules/rss091#', ''],
  ['http://www.w3.org/1999/02/22-rdf-syntax-ns#', 'rdf'],
  ['http://purl.org/dc/elements/1.1/', 'dc'],
  ['http://purl.org/dc/terms/', 'dcterms'],
  ['http://purl.org/rss/1.0/modules/content/', 'content'],
  ['http://search.yahoo.com/mrss/', 'media'],
  ['http://search.yahoo.com/mrss', 'media'],
  ['http://www.itunes.com/dtds/podcast-1.0.dtd', 'itunes'],
  ['http://www.w3.org/1999/xhtml', 'xhtml'],
  ['http://purl.org/rss/1.0/modules/syndication/', 'sy'],
  ['http://purl.org/rss/1.0/modules/slash/', 'slash'],
  ['http://wellformedweb.org/commentapi/', 'wfw'],
  ['http://www.w3.org/xml/1998/namespace', 'xml'],
]);

const CANONICAL_PREFIXES = new Set(['atom', ...PREFIXES.values()]);

/** Elements whose value is text or markup: child elements inside them are content, not structure. */
const TEXT_CONSTRUCTS = new Set([
  'title', 'subtitle', 'summary', 'content', 'rights', 'tagline', 'info', 'copyright', 'description',
  'body', 'fullitem', 'content:encoded', 'xhtml:body', 'xhtml:div', 'itunes:summary', 'itunes:subtitle',
  'media:description', 'media:title', 'dc:description', 'dc:title',
  'atom:title', 'atom:subtitle', 'atom:summary', 'atom:content', 'atom:rights',
]);

const FEED_ROOTS = new Set(['rss', 'feed', 'RDF']);

/** Containers that stay open to the end of the document (a stray close tag must not orphan items). */
const CONTAINERS = new Set(['rss', 'channel', 'feed', 'rdf:RDF']);

/** Attributes of feed elements that carry a URL (Atom link/@href, enclosure/@url, content/@src, …). */
const URL_ATTRIBUTES = new Set(['href', 'url', 'src']);
/** URL attributes inside captured markup that a nested xml:base changes. */
const HTML_URL_ATTRIBUTES = new Set(['href', 'src', 'poster', 'cite']);

const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

const XML_NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;

interface Scope {
  /** prefix ('' for the default namespace) → URI; inherited from the parent when nothing is declared. */
  namespaces: Map<string, string>;
  base: string | null;
}

interface OpenElement extends Scope {
  /** Canonical name written to the output, or null for an element that was dropped (invalid name). */
  name: string | null;
}

interface Capture {
  name: string;
  /** Index in the element stack of the construct itself; deeper entries are its children. */
  stackIndex: number;
  openTag: string;
  base: string | null;
  /** The XML form while no child element has been seen (text and CDATA as written). */
  xml: string;
  /** The HTML form (CDATA escaped, child elements as tags). Strings, not arrays: V8 concatenates ropes cheaply. */
  html: string;
  hasElements: boolean;
  depth: number;
  stripWrapper: boolean;
  topElements: number;
  topText: boolean;
  firstTopName: string | null;
  wrapStart: number;
  wrapEnd: number;
}

/** Canonical XML for `xml` (already through repairXml). `docBase` is the URL the document came from. */
export function canonicalXml(xml: string, kind: DocumentKind, docBase: string | null): string {
  const out: string[] = [];
  const stack: OpenElement[] = [];
  let capture: Capture | null = null;
  const rootScope: Scope = { namespaces: new Map(), base: absoluteOrNull(docBase) };
  let rootSeen = false;
  // The root's prefix names the document's own vocabulary (<r:rss xmlns:r="…">, <atom:feed …>).
  let ownNamespace: string | null = null;

  const scopeOf = (): Scope => stack[stack.length - 1] ?? rootScope;

  const canonicalPrefix = (prefix: string, namespaces: Map<string, string>): string => {
    const uri = namespaces.get(prefix);
    if (uri === undefined) return prefix; // undeclared: trust the prefix as written (content:encoded without xmlns)
    const lower = uri.trim().toLowerCase();
    if (ATOM_NAMESPACES.has(lower)) return kind === 'atom' ? '' : 'atom';
    if (ownNamespace !== null && lower === ownNamespace) return '';
    const known = PREFIXES.get(lower) ?? PREFIXES.get(lower.replace(/\/?$/, '/'));
    if (known !== undefined) return known;
    if (lower.includes('itunes.com/dtds/podcast')) return 'itunes';
    // An unknown namespace keeps its prefix, unless that prefix is one of ours (dc: bound elsewhere).
    return CANONICAL_PREFIXES.has(prefix) ? `x-${prefix}` : prefix;
  };

  const qualify = (raw: string, namespaces: Map<string, string>, isAttribute: boolean): string => {
    const colon = raw.indexOf(':');
    if (colon === -1) {
      // Unprefixed attributes are in no namespace; unprefixed elements are in the default one.
      if (isAttribute) return raw;
      const prefix = canonicalPrefix('', namespaces);
      return prefix === '' ? raw : `${prefix}:${raw}`;
    }
    const prefix = raw.slice(0, colon);
    const local = raw.slice(colon + 1);
    if (prefix === 'xml') return raw;
    const canonical = canonicalPrefix(prefix, namespaces);
    return canonical === '' ? local : `${canonical}:${local}`;
  };

  // Canonical element names per namespace scope: almost every element shares its parent's scope,
  // so the name mapping (and its validity check) is done once per distinct raw name.
  let cachedScope: Map<string, string> | null = null;
  let nameCache = new Map<string, string | null>();
  const elementName = (rawName: string, namespaces: Map<string, string>): string | null => {
    if (namespaces !== cachedScope) {
      cachedScope = namespaces;
      nameCache = new Map();
    }
    let name = nameCache.get(rawName);
    if (name === undefined) {
      const qualified = qualify(rawName, namespaces, false);
      name = XML_NAME.test(qualified) ? qualified : null;
      nameCache.set(rawName, name);
    }
    return name;
  };

  looseXmlEvents(xml, {
    open(rawName, attribs) {
      // Elements outside the feed's root (a PHP warning's <b> after the prolog) are junk; a feed
      // root inside one (after an unclosed <br>) is still the root.
      if (stack.length === 0 && !FEED_ROOTS.has(localName(rawName))) return;
      const parent = scopeOf();
      // Namespace declarations first: they apply to the element that carries them.
      let namespaces = parent.namespaces;
      for (const key in attribs) {
        if (key === 'xmlns' || key.startsWith('xmlns:')) {
          if (namespaces === parent.namespaces) namespaces = new Map(parent.namespaces);
          namespaces.set(key === 'xmlns' ? '' : key.slice(6), decodeXML(attribs[key] ?? ''));
        }
      }
      if (!rootSeen) {
        rootSeen = true;
        const colon = rawName.indexOf(':');
        const local = rawName.slice(colon + 1);
        if (colon !== -1 && (local === 'rss' || local === 'feed')) {
          ownNamespace = namespaces.get(rawName.slice(0, colon))?.trim().toLowerCase() ?? null;
        }
      }
      const declaredBase = attribs['xml:base'];
      const base = declaredBase !== undefined ? resolveBaseKeepingRelative(decodeXML(declaredBase), parent.base) : parent.base;

      if (capture !== null) {
        const kept = captureOpen(capture, rawName, attribs, base);
        stack.push({ name: kept ? rawName : null, namespaces, base });
        return;
      }

      const name = elementName(rawName, namespaces);
      if (name === null) {
        stack.push({ name: null, namespaces, base });
        return;
      }
      let tag = `<${name}`;
      if (declaredBase !== undefined && base !== null) tag += ` xml:base="${escapeAttr(escapeAmp(base))}"`;
      for (const key in attribs) {
        if (key === 'xmlns' || key.startsWith('xmlns:') || key === 'xml:base' || key === MARKUP_ATTRIBUTE) continue;
        const attrName = qualify(key, namespaces, true);
        if (!XML_NAME.test(attrName)) continue;
        const raw = attribs[key] ?? '';
        const value = URL_ATTRIBUTES.has(attrName) && base !== null ? resolveUrlAttr(raw, base) : raw;
        tag += ` ${attrName}="${escapeAttr(value)}"`;
      }
      stack.push({ name, namespaces, base });
      if (TEXT_CONSTRUCTS.has(name)) {
        const type = (attribs.type ?? '').trim().toLowerCase();
        capture = {
          name,
          stackIndex: stack.length - 1,
          openTag: tag,
          base,
          xml: '',
          html: '',
          hasElements: false,
          depth: 0,
          // RFC 4287 §3.1.1.3: the xhtml div is a wrapper, not content.
          stripWrapper: type === 'xhtml',
          topElements: 0,
          topText: false,
          firstTopName: null,
          wrapStart: 0,
          wrapEnd: 0,
        };
        return;
      }
      out.push(`${tag}>`);
    },

    close(rawName) {
      if (stack.length === 0) return; // the end of junk outside the root
      const top = stack[stack.length - 1];
      if (top === undefined) return;
      if (capture !== null) {
        if (stack.length - 1 > capture.stackIndex) {
          stack.pop();
          if (top.name !== null) captureClose(capture, rawName);
          return;
        }
        capture = finishCapture(capture, out);
        stack.pop();
        return;
      }
      // Containers stay open: they are closed once, at the end of the document.
      if (top.name !== null && CONTAINERS.has(top.name)) return;
      stack.pop();
      if (top.name !== null) out.push(`</${top.name}>`);
    },

    text(data, inCdata) {
      if (stack.length === 0) return; // junk outside the root
      if (capture !== null) {
        if (inCdata) {
          capture.xml += `<![CDATA[${data}]]>`;
          capture.html += escapeHtmlText(data);
        } else {
          const text = data.includes('<') ? data.replace(/</g, '&lt;') : data;
          capture.xml += text;
          capture.html += text;
        }
        if (capture.depth === 0 && !capture.topText && /\S/.test(data)) capture.topText = true;
        return;
      }
      if (inCdata) out.push(`<![CDATA[${data}]]>`);
      else out.push(data.includes('<') ? data.replace(/</g, '&lt;') : data);
    },
  });

  /** Appends a child element's start tag to the construct's HTML; false when its name is unusable. */
  function captureOpen(c: Capture, rawName: string, attribs: Record<string, string>, base: string | null): boolean {
    const local = localName(rawName);
    if (!XML_NAME.test(local)) return false;
    if (!c.hasElements) c.hasElements = true;
    if (c.depth === 0) {
      c.topElements++;
      c.firstTopName ??= local.toLowerCase();
    }
    let tag = `<${local}`;
    for (const key in attribs) {
      if (key === 'xmlns' || key.startsWith('xmlns:') || key.startsWith('xml:') || !XML_NAME.test(key)) continue;
      const raw = attribs[key] ?? '';
      // A nested xml:base changes what the links below it mean; the construct's own base is applied later.
      const value = base !== c.base && base !== null && HTML_URL_ATTRIBUTES.has(key) ? resolveUrlAttr(raw, base) : raw;
      tag += ` ${localName(key)}="${value.replace(/"/g, '&quot;')}"`;
    }
    c.html += `${tag}>`;
    if (c.depth === 0 && c.topElements === 1) c.wrapStart = c.html.length;
    c.depth++;
    return true;
  }

  function captureClose(c: Capture, rawName: string): void {
    c.depth--;
    const local = localName(rawName);
    if (c.depth === 0 && c.topElements === 1) c.wrapEnd = c.html.length;
    if (!VOID_ELEMENTS.has(local.toLowerCase())) c.html += `</${local}>`;
  }

  function finishCapture(c: Capture, into: string[]): null {
    into.push(c.openTag);
    if (!c.hasElements) {
      into.push('>', c.xml, `</${c.name}>`);
      return null;
    }
    let html = c.html;
    if (c.stripWrapper && c.topElements === 1 && !c.topText && c.firstTopName === 'div') {
      html = html.slice(c.wrapStart, c.wrapEnd);
    }
    into.push(` ${MARKUP_ATTRIBUTE}="1"><![CDATA[`, html.replace(/]]>/g, ']]]]><![CDATA[>'), `]]></${c.name}>`);
    return null;
  }

  // Containers stay open in `stack` until here: close them, innermost first.
  for (let i = stack.length - 1; i >= 0; i--) {
    const name = stack[i]?.name;
    if (name) out.push(`</${name}>`);
  }
  return out.join('');
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

function absoluteOrNull(url: string | null): string | null {
  return url !== null && /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : null;
}

/** xml:base against the enclosing base; a relative base with no absolute parent is kept as written. */
function resolveBaseKeepingRelative(raw: string, parent: string | null): string | null {
  if (parent === null || !/^[a-z][a-z0-9+.-]*:/i.test(parent)) return raw.trim() === '' ? parent : raw.trim();
  return resolveBase(raw, parent);
}

/** A URL attribute (raw, entities as written) resolved against `base`; left as written when it does not parse. */
function resolveUrlAttr(raw: string, base: string): string {
  const value = decodeXML(raw).trim();
  if (value === '' || /^[a-z][a-z0-9+.-]*:/i.test(value)) return raw;
  try {
    return escapeAmp(new URL(value, base).href);
  } catch {
    return raw;
  }
}

function escapeAmp(s: string): string {
  return s.includes('&') ? s.replace(/&/g, '&amp;') : s;
}

/** An attribute value (entities as written) made safe for a double-quoted XML attribute. */
function escapeAttr(value: string): string {
  return /[<"]/.test(value) ? value.replace(/</g, '&lt;').replace(/"/g, '&quot;') : value;
}

function escapeHtmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
