/**
 * Reads the feed list out of an OPML document (an export from another reader, or our own).
 *
 * OPML comes from users and from the network, so the parser never expands entities a document
 * declares: a DOCTYPE with entity declarations (billion laughs, XXE) is refused before parsing,
 * fast-xml-parser runs with entity processing off, and only the fixed XML entities and character
 * references are decoded afterwards, which cannot grow the text.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decodeXML } from 'entities';

export interface OpmlFeed {
  url: string;
  title: string | null;
  region: string | null;
}

/** Why a document is not usable OPML; the message is shown to the user as is. */
export class OpmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpmlError';
  }
}

const ATTR = '@_';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'outline',
});

type XmlNode = Record<string, unknown>;

const isNode = (v: unknown): v is XmlNode => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseOpml(text: string): OpmlFeed[] {
  const xml = text.replace(/^\uFEFF/, '');
  // OPML has no use for entity declarations; refusing them is what keeps expansion attacks out.
  if (/<!ENTITY/i.test(xml)) throw new OpmlError('not OPML: entity declarations (<!ENTITY) are not allowed');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new OpmlError(`not OPML: malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    throw new OpmlError(`not OPML: ${(err as Error).message}`);
  }
  // Element names are matched exactly, as XML says; an empty element parses as ''.
  const opml = isNode(doc) ? doc['opml'] : undefined;
  if (!isNode(opml) && opml !== '') throw new OpmlError('not OPML: the root element is not <opml>');
  const body = isNode(opml) ? opml['body'] : undefined;
  if (body === '') return []; // a valid OPML file listing no feeds
  if (!isNode(body)) throw new OpmlError('not OPML: <opml> has no <body>');

  const feeds = new Map<string, OpmlFeed>();
  walk(outlinesOf(body), null, feeds);
  return [...feeds.values()];
}

/** Depth-first, in document order; the first outline of a URL wins. */
function walk(outlines: XmlNode[], parentName: string | null, out: Map<string, OpmlFeed>): void {
  for (const o of outlines) {
    const name = attr(o, 'title') ?? attr(o, 'text');
    const url = attr(o, 'xmlUrl');
    if (url !== null && !out.has(url)) {
      out.set(url, {
        url,
        // Exports (ours included) repeat the URL as `text` when a feed has no title.
        title: name !== null && name !== url ? name : null,
        region: regionFromCategory(attr(o, 'category')) ?? parentName,
      });
    }
    const children = outlinesOf(o);
    // A feed outline with children is unusual; its children keep the folder they were in.
    if (children.length > 0) walk(children, url === null ? name : parentName, out);
  }
}

/** `category="/Europe/Italy,/News"` → "Europe": the first segment of the first category path. */
function regionFromCategory(category: string | null): string | null {
  if (category === null) return null;
  const first = category.split(',')[0] ?? '';
  const segment = first.split('/').map((s) => s.trim()).find((s) => s !== '');
  return segment ?? null;
}

function outlinesOf(node: XmlNode): XmlNode[] {
  const list = node['outline'];
  return Array.isArray(list) ? list.filter(isNode) : [];
}

/** Attribute names match case-insensitively: exporters write xmlUrl, xmlurl and XMLURL. */
function attr(node: XmlNode, name: string): string | null {
  const wanted = (ATTR + name).toLowerCase();
  for (const [k, v] of Object.entries(node)) {
    if (k.toLowerCase() === wanted && typeof v === 'string') {
      const value = decodeXML(v).trim();
      return value === '' ? null : value;
    }
  }
  return null;
}
