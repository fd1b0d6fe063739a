/**
 * One linear pre-pass that turns what real publishers get wrong into well-formed XML, because the
 * strict parser (sax via rss-parser) rejects a whole feed for one bad byte:
 * - a byte order mark and junk (PHP warnings, blank lines) before the prolog or root element;
 * - a DOCTYPE (removed: never fetched). Its internal subset is read for plain-text general
 *   entities (`<!ENTITY nbsp "&#160;">`), which are expanded within a small budget. An external
 *   entity is never fetched, and one whose value is markup, refers to another entity or is too
 *   long is not expanded: it stays visible text like any undefined entity. So billion laughs and
 *   XXE cost one linear pass and no memory;
 * - HTML named entities (&eacute; &nbsp; &rsquo;) → numeric references XML knows;
 * - a bare "&" or an unknown entity → "&amp;" (the text shows as written), and a "<" that cannot
 *   start a tag ("a < b", "<3") → "&lt;";
 * - C0 control characters, U+FFFE/U+FFFF and references to them → removed;
 *   C1 references (&#150;, written by windows-1252 tools) → the characters they meant.
 * CDATA sections, comments and processing instructions are copied without entity changes.
 */
import { decodeHTMLStrict, replaceCodePoint } from 'entities/decode';

const INVALID_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const XML_PREDEFINED = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);
const ROOT_START = /<(?:rss|feed|rdf:RDF|RDF|[A-Za-z_][\w.-]*:(?:RDF|feed|rss))[\s>/]/;
const MAX_REFERENCE_NAME = 32;
/** An internal entity longer than this is not expanded. */
const MAX_ENTITY_VALUE = 1024;
/** Characters all entity expansions of one document may add together. */
const ENTITY_BUDGET = 64 * 1024;
const MAX_ENTITIES = 256;

/** Plain-text internal entities of the document (name → replacement text) and what is left of the budget. */
interface Entities {
  values: Map<string, string>;
  budget: number;
}

/**
 * Returns a repaired copy of `text` (a decoded document). A character loop that only allocates
 * where it changes something: valid references are skipped over, not copied one by one.
 */
export function repairXml(text: string): string {
  const doc = text.slice(documentStart(text));
  const n = doc.length;
  const entities: Entities = { values: new Map(), budget: ENTITY_BUDGET };
  const out: string[] = [];
  let copied = 0; // doc[copied, i) is unchanged and not yet in out
  let i = 0;
  const replace = (from: number, to: number, replacement: string): void => {
    out.push(doc.slice(copied, from), replacement);
    copied = to;
  };
  while (i < n) {
    const c = doc.charCodeAt(i);
    if (c === 38 /* & */) {
      i = repairReference(doc, i, replace, entities);
    } else if (c === 60 /* < */ && (doc.charCodeAt(i + 1) === 33 /* ! */ || doc.charCodeAt(i + 1) === 63 /* ? */)) {
      i = markupDeclaration(doc, i, replace, entities);
    } else if (c === 60 /* < */ && !startsMarkup(doc.charCodeAt(i + 1))) {
      replace(i, i + 1, '&lt;'); // "a < b", "<3", "<<<": XML says these cannot be tags, so they are text
      i++;
    } else if ((c < 0x20 && c !== 0x9 && c !== 0xa && c !== 0xd) || c === 0xfffe || c === 0xffff) {
      replace(i, i + 1, ''); // a character XML forbids: drop it
      i++;
    } else {
      i++;
    }
  }
  if (copied === 0) return doc;
  out.push(doc.slice(copied));
  return out.join('');
}

type Replace = (from: number, to: number, replacement: string) => void;

/** `<!…` or `<?…` at `at`: CDATA, comment and PI are kept (minus forbidden characters), a DOCTYPE goes. */
function markupDeclaration(doc: string, at: number, replace: Replace, entities: Entities): number {
  if (doc.startsWith('<![CDATA[', at)) return keepVerbatim(doc, at, ']]>', replace);
  if (doc.startsWith('<!--', at)) return keepVerbatim(doc, at, '-->', replace);
  if (doc.charCodeAt(at + 1) === 63) return keepVerbatim(doc, at, '?>', replace);
  if (doc.slice(at, at + 9).toUpperCase() === '<!DOCTYPE') {
    const end = doctypeEnd(doc, at);
    readInternalEntities(doc.slice(at, end), entities);
    replace(at, end, ''); // never fetched, just dropped (RSS 0.91's DTD reference, internal subsets)
    return end;
  }
  return at + 2;
}

/** Where the document really starts: after a BOM and any junk before `<?xml` or the root element. */
function documentStart(text: string): number {
  const prolog = text.indexOf('<?xml');
  const root = text.search(ROOT_START);
  if (prolog !== -1 && (root === -1 || prolog < root)) return prolog;
  // No prolog: a DOCTYPE before the root still declares the document's entities.
  const doctype = text.search(/<!DOCTYPE\s/i);
  if (doctype !== -1 && (root === -1 || doctype < root)) return doctype;
  if (root !== -1) return root;
  const firstTag = text.indexOf('<');
  return firstTag === -1 ? text.length : firstTag;
}

/** Handles the "&" at `at`; returns the index to continue from. */
function repairReference(doc: string, at: number, replace: Replace, entities: Entities): number {
  const end = referenceEnd(doc, at);
  if (end === -1) {
    replace(at, at + 1, '&amp;'); // a bare "&"
    return at + 1;
  }
  if (doc.charCodeAt(at + 1) === 35 /* # */) {
    const hex = doc.charCodeAt(at + 2) === 120 || doc.charCodeAt(at + 2) === 88; /* x X */
    const written = hex ? parseInt(doc.slice(at + 3, end - 1), 16) : Number(doc.slice(at + 2, end - 1));
    const codePoint = replaceCodePoint(written); // C1 → the windows-1252 characters, invalid → U+FFFD
    if (codePoint === written && isXmlChar(codePoint)) return end;
    replace(at, end, isXmlChar(codePoint) ? `&#${codePoint};` : '');
    return end;
  }
  const name = doc.slice(at + 1, end - 1);
  if (XML_PREDEFINED.has(name)) return end;
  const declared = entities.values.get(name);
  if (declared !== undefined && declared.length <= entities.budget) {
    entities.budget -= declared.length;
    replace(at, end, asCharacterReferences(declared));
    return end;
  }
  const whole = doc.slice(at, end);
  const decoded = decodeHTMLStrict(whole);
  if (decoded === whole) {
    replace(at, at + 1, '&amp;'); // not an HTML entity either: keep it as visible text
  } else {
    replace(at, end, asCharacterReferences(decoded));
  }
  return end;
}

/** Text as numeric references: safe in element content and in attribute values alike. */
function asCharacterReferences(text: string): string {
  let refs = '';
  for (const char of text) refs += `&#${char.codePointAt(0) ?? 0xfffd};`;
  return refs;
}

const ENTITY_DECLARATION = /<!ENTITY\s+(%\s+)?([A-Za-z_][\w.-]*)\s+(?:"([^"]*)"|'([^']*)'|(SYSTEM|PUBLIC)\b)/gi;

/**
 * Reads general internal entities from a DOCTYPE. Only a value that is plain text once its
 * character references are resolved is kept; parameter entities, external entities, and values
 * with markup or entity references (the billion-laughs construction) are ignored.
 */
function readInternalEntities(doctype: string, entities: Entities): void {
  if (!doctype.includes('[')) return;
  ENTITY_DECLARATION.lastIndex = 0;
  for (let m = ENTITY_DECLARATION.exec(doctype); m !== null; m = ENTITY_DECLARATION.exec(doctype)) {
    const [, parameter, name = '', double, single, external] = m;
    if (parameter || external || entities.values.size >= MAX_ENTITIES || entities.values.has(name)) continue;
    const raw = double ?? single ?? '';
    if (raw.length > MAX_ENTITY_VALUE * 8) continue;
    const value = resolveCharacterReferences(raw);
    if (value === null || value.length > MAX_ENTITY_VALUE || /[<&]/.test(value)) continue;
    entities.values.set(name, value);
  }
}

/** `&#160;` / `&#xA0;` → the character; null when the value refers to any other entity. */
function resolveCharacterReferences(raw: string): string | null {
  if (!raw.includes('&')) return raw;
  let ok = true;
  const value = raw.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[^;]*);?/g, (_, ref: string) => {
    const cp = ref.startsWith('#x') || ref.startsWith('#X') ? parseInt(ref.slice(2), 16) : ref.startsWith('#') ? Number(ref.slice(1)) : NaN;
    if (!Number.isFinite(cp) || !isXmlChar(cp)) {
      ok = false;
      return '';
    }
    return String.fromCodePoint(cp);
  });
  return ok ? value : null;
}

/** End (after ";") of a syntactically valid reference at `at` (&name; &#123; &#x1F;), or -1. */
function referenceEnd(doc: string, at: number): number {
  let i = at + 1;
  if (doc.charCodeAt(i) === 35 /* # */) {
    i++;
    const hex = doc.charCodeAt(i) === 120 || doc.charCodeAt(i) === 88;
    if (hex) i++;
    const start = i;
    while (i - start < 8 && (hex ? isHexDigit(doc.charCodeAt(i)) : isDigit(doc.charCodeAt(i)))) i++;
    return i > start && doc.charCodeAt(i) === 59 /* ; */ ? i + 1 : -1;
  }
  if (!isLetter(doc.charCodeAt(i))) return -1;
  const start = i;
  while (i - start < MAX_REFERENCE_NAME && (isLetter(doc.charCodeAt(i)) || isDigit(doc.charCodeAt(i)))) i++;
  return doc.charCodeAt(i) === 59 ? i + 1 : -1;
}

/** Whether a "<" followed by `c` can start a tag: a name start character or "/" (XML 1.0 §2.3). */
function startsMarkup(c: number): boolean {
  return isLetter(c) || c === 47 /* / */ || c === 95 /* _ */ || c === 58 /* : */ || c >= 0xc0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Keeps a CDATA section / comment / PI as is, minus forbidden characters; an unterminated one runs to the end. */
function keepVerbatim(doc: string, at: number, terminator: string, replace: Replace): number {
  const close = doc.indexOf(terminator, at + 2);
  const end = close === -1 ? doc.length : close + terminator.length;
  const section = doc.slice(at, end);
  INVALID_CHARS.lastIndex = 0;
  if (INVALID_CHARS.test(section)) replace(at, end, section.replace(INVALID_CHARS, ''));
  return end;
}

/** End of `<!DOCTYPE …>` including an internal subset `[ … ]`, whose declarations may contain ">". */
function doctypeEnd(doc: string, at: number): number {
  const gt = doc.indexOf('>', at);
  const bracket = doc.indexOf('[', at);
  if (bracket !== -1 && (gt === -1 || bracket < gt)) {
    const close = /\]\s*>/g;
    close.lastIndex = bracket;
    const m = close.exec(doc);
    return m ? m.index + m[0].length : doc.length;
  }
  return gt === -1 ? doc.length : gt + 1;
}
