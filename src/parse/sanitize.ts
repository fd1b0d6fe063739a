/**
 * Feed HTML → safe HTML with absolute URLs. Publishers' markup is shown inside our pages, so
 * anything that can run code or restyle the page goes: scripts, styles, frames, forms, event
 * handlers and non-web URLs. Data: URLs are refused everywhere (images too).
 *
 * One pass of htmlparser2's tokenizer (HTML mode: raw-text elements, entities and attribute
 * syntax as browsers read them) with an allow-list and our own element stack, rather than
 * sanitize-html: that library builds a frame object per tag and
 * re-scans text per event, and was the largest single cost of a cold poll. Here every event is
 * a few string pushes, so dense input ("&lt;" × 195 KB, a run of stray "<") stays linear.
 * Everything written is rebuilt from parsed parts: tag names from the allow-list, attribute
 * values and text escaped, URLs resolved and checked. Nothing from the input is copied raw.
 */
import { Tokenizer } from 'htmlparser2';
import { resolveLinkUrl, resolveWebUrl } from './url.ts';

const ALLOWED_TAGS = new Set([
  'p', 'br', 'hr', 'div', 'span', 'section', 'article', 'aside', 'header', 'footer',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'a', 'abbr', 'b', 'strong', 'i', 'em', 'u', 's', 'del', 'ins', 'mark', 'small', 'sub', 'sup',
  'q', 'cite', 'code', 'kbd', 'pre', 'samp', 'var', 'time', 'dfn',
  'blockquote', 'figure', 'figcaption', 'img', 'picture', 'video', 'audio', 'source',
  'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'colgroup', 'col',
]);

/** Plain attributes kept as written (escaped). URL attributes are handled per tag below. */
const PLAIN_ATTRIBUTES: Readonly<Record<string, ReadonlySet<string>>> = {
  a: new Set(['title']),
  img: new Set(['alt', 'title', 'width', 'height']),
  video: new Set(['controls', 'width', 'height']),
  audio: new Set(['controls']),
  source: new Set(['type', 'media']),
  abbr: new Set(['title']),
  time: new Set(['datetime']),
  ol: new Set(['start', 'reversed']),
  td: new Set(['colspan', 'rowspan']),
  th: new Set(['colspan', 'rowspan', 'scope']),
  col: new Set(['span']),
  colgroup: new Set(['span']),
};
const NO_ATTRIBUTES: ReadonlySet<string> = new Set();

/** Allowed void elements, written as `<x />`. */
const VOID_TAGS = new Set(['br', 'hr', 'img', 'col', 'source', 'wbr']);

/**
 * Their text is code or chrome, not content. (An iframe's, object's or noscript's body is
 * fallback text for readers: only the element goes, the text around and inside it stays.)
 */
const NON_TEXT_TAGS = new Set(['script', 'style', 'textarea', 'option', 'template', 'svg', 'math', 'select', 'button', 'head', 'title']);

/** Elements an HTML parser reads as raw text up to their end tag. */
const RAW_TEXT_ELEMENTS = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'template']);

/** A start tag of one of these closes an open <p> (HTML's implied end tags, the common cases). */
const CLOSES_P = new Set([
  'address', 'article', 'aside', 'blockquote', 'details', 'div', 'dl', 'fieldset', 'figcaption', 'figure', 'footer',
  'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'table', 'ul',
]);
const IMPLIED_CLOSE: Readonly<Record<string, ReadonlySet<string>>> = {
  li: new Set(['li']),
  dt: new Set(['dt', 'dd']),
  dd: new Set(['dt', 'dd']),
  tr: new Set(['tr', 'td', 'th']),
  td: new Set(['td', 'th']),
  th: new Set(['td', 'th']),
  thead: new Set(['thead', 'tbody', 'tfoot', 'tr', 'td', 'th']),
  tbody: new Set(['thead', 'tbody', 'tfoot', 'tr', 'td', 'th']),
  tfoot: new Set(['thead', 'tbody', 'tfoot', 'tr', 'td', 'th']),
};
const HTML_VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

interface OpenElement {
  name: string;
  /** Whether its end tag is written (allowed and not inside skipped content). */
  written: boolean;
  skipping: boolean;
}

/** Sanitises `html` and resolves its links and media sources against `base`; null when nothing visible is left. */
export function sanitizeContent(html: string, base: string | null): string | null {
  const input = closeSelfClosedRawText(html);
  const out: string[] = [];
  // Our own stack (push/pop, a count per open name) rather than htmlparser2's Parser, whose
  // unshift/indexOf stack is quadratic on deeply nested input (50,000 nested <b> took seconds).
  const stack: OpenElement[] = [];
  const openCount = new Map<string, number>();
  let skipDepth = 0;
  let tagName = '';
  let attribs: Record<string, string> = {};
  let attribName = '';
  let attribValue = '';

  const pop = (): void => {
    const el = stack.pop();
    if (el === undefined) return;
    openCount.set(el.name, (openCount.get(el.name) ?? 1) - 1);
    if (el.skipping) skipDepth--;
    else if (el.written) out.push(`</${el.name}>`);
  };
  const openTagEnd = (): void => {
    const name = tagName;
    const implied = CLOSES_P.has(name) ? P_ONLY : IMPLIED_CLOSE[name];
    if (implied !== undefined) {
      while (stack.length > 0 && implied.has(stack[stack.length - 1]?.name ?? '')) pop();
    }
    const skipping = skipDepth > 0 || NON_TEXT_TAGS.has(name);
    const tag = skipping || !ALLOWED_TAGS.has(name) ? null : openTag(name, attribs, base);
    if (tag !== null) out.push(tag);
    if (HTML_VOID.has(name)) return;
    if (skipping) skipDepth++;
    stack.push({ name, written: tag !== null, skipping });
    openCount.set(name, (openCount.get(name) ?? 0) + 1);
  };

  const tokenizer = new Tokenizer(
    { xmlMode: false, decodeEntities: true },
    {
      onopentagname(start, end) {
        tagName = input.slice(start, end).toLowerCase();
        attribs = {};
      },
      onattribname(start, end) {
        attribName = input.slice(start, end).toLowerCase();
        attribValue = '';
      },
      onattribdata(start, end) {
        attribValue += input.slice(start, end);
      },
      onattribentity(codepoint) {
        attribValue += String.fromCodePoint(codepoint);
      },
      onattribend() {
        if (!Object.hasOwn(attribs, attribName)) attribs[attribName] = attribValue;
      },
      onopentagend: openTagEnd,
      // HTML ignores the "/" of <div/>; raw-text elements were closed by closeSelfClosedRawText.
      onselfclosingtag: openTagEnd,
      onclosetag(start, end) {
        const name = input.slice(start, end).toLowerCase();
        if ((openCount.get(name) ?? 0) === 0) return; // a stray end tag
        while (stack.length > 0) {
          const top = stack[stack.length - 1]?.name;
          pop();
          if (top === name) return;
        }
      },
      ontext(start, end) {
        if (skipDepth === 0) out.push(escapeText(input.slice(start, end)));
      },
      ontextentity(codepoint) {
        if (skipDepth === 0) out.push(escapeText(String.fromCodePoint(codepoint)));
      },
      // Comments, CDATA, declarations and processing instructions are never shown.
      oncdata() {},
      oncomment() {},
      ondeclaration() {},
      onprocessinginstruction() {},
      onend() {},
    },
  );
  tokenizer.write(input);
  tokenizer.end();
  while (stack.length > 0) pop();
  const clean = out.join('').trim();
  return clean === '' ? null : clean;
}

const P_ONLY: ReadonlySet<string> = new Set(['p']);

/**
 * The start tag to write, or null when the element is dropped (an image or source with no usable
 * URL). Attribute order: plain ones as written, then the URL ones this code sets.
 */
function openTag(name: string, attribs: Record<string, string>, base: string | null): string | null {
  const plain = PLAIN_ATTRIBUTES[name] ?? NO_ATTRIBUTES;
  let tag = `<${name}`;
  for (const key in attribs) {
    if (plain.has(key)) tag += ` ${key}="${escapeAttribute(attribs[key] ?? '')}"`;
  }
  switch (name) {
    case 'a': {
      const href = resolveLinkUrl(attribs.href, base);
      tag += ' rel="noopener noreferrer"';
      if (href !== null) tag += ` href="${escapeAttribute(href)}"`;
      break;
    }
    case 'img':
    case 'video':
    case 'audio':
    case 'source': {
      const src = resolveWebUrl(attribs.src, base);
      const poster = name === 'video' ? resolveWebUrl(attribs.poster, base) : null;
      const srcset = name === 'img' || name === 'source' ? resolveSrcset(attribs.srcset, base) : null;
      if ((name === 'img' || name === 'source') && src === null && srcset === null) return null;
      if (src !== null) tag += ` src="${escapeAttribute(src)}"`;
      if (poster !== null) tag += ` poster="${escapeAttribute(poster)}"`;
      if (srcset !== null) tag += ` srcset="${escapeAttribute(srcset)}"`;
      break;
    }
    case 'blockquote':
    case 'q': {
      const cite = resolveWebUrl(attribs.cite, base);
      if (cite !== null) tag += ` cite="${escapeAttribute(cite)}"`;
      break;
    }
  }
  return VOID_TAGS.has(name) ? `${tag} />` : `${tag}>`;
}

/** "a.png 1x, b.png 2x" with every candidate URL made absolute; candidates that are not web URLs go. */
function resolveSrcset(srcset: string | undefined, base: string | null): string | null {
  if (srcset === undefined) return null;
  const candidates = srcset
    .split(/,\s+|(?<=\s[\d.]+[wxh]),/)
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .flatMap((c) => {
      const [url, ...descriptor] = c.split(/\s+/);
      const resolved = resolveWebUrl(url, base);
      return resolved !== null ? [[resolved, ...descriptor].join(' ')] : [];
    });
  return candidates.length > 0 ? candidates.join(', ') : null;
}

/**
 * Feeds are written as XML: a self-closed <script/> or <iframe/> is empty, though an HTML parser
 * would read the rest of the document as its body and lose it. Linear: one regex pass.
 */
function closeSelfClosedRawText(html: string): string {
  if (!html.includes('/>')) return html;
  return html.replace(/<([A-Za-z]+)(\s[^<>]*)?\/>/g, (whole, name: string, attrs: string | undefined) => {
    const lower = name.toLowerCase();
    return RAW_TEXT_ELEMENTS.has(lower) ? `<${name}${attrs ?? ''}></${name}>` : whole;
  });
}

function escapeText(text: string): string {
  return /[&<>]/.test(text) ? text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : text;
}

function escapeAttribute(value: string): string {
  return /[&<>"]/.test(value) ? value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;') : value;
}
