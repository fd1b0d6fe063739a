/**
 * Feed HTML → safe HTML with absolute URLs. Publishers' markup is shown inside our pages, so
 * anything that can run code or restyle the page goes: scripts, styles, frames, forms, event
 * handlers and non-web URLs. Data: URLs are refused everywhere (images too).
 */
import sanitizeHtml from 'sanitize-html';
import { scanHtml } from './text.ts';
import { resolveLinkUrl, resolveWebUrl } from './url.ts';

const ALLOWED_TAGS = [
  'p', 'br', 'hr', 'div', 'span', 'section', 'article', 'aside', 'header', 'footer',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'a', 'abbr', 'b', 'strong', 'i', 'em', 'u', 's', 'del', 'ins', 'mark', 'small', 'sub', 'sup',
  'q', 'cite', 'code', 'kbd', 'pre', 'samp', 'var', 'time', 'dfn',
  'blockquote', 'figure', 'figcaption', 'img', 'picture', 'video', 'audio', 'source',
  'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'colgroup', 'col',
];

/** Elements an HTML parser reads as raw text up to their end tag. */
const RAW_TEXT_ELEMENTS = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'template']);

const ALLOWED_ATTRIBUTES: sanitizeHtml.IOptions['allowedAttributes'] = {
  a: ['href', 'title', 'rel'],
  img: ['src', 'srcset', 'alt', 'title', 'width', 'height'],
  video: ['src', 'poster', 'controls', 'width', 'height'],
  audio: ['src', 'controls'],
  source: ['src', 'srcset', 'type', 'media'],
  abbr: ['title'],
  time: ['datetime'],
  blockquote: ['cite'],
  q: ['cite'],
  ol: ['start', 'reversed'],
  td: ['colspan', 'rowspan'],
  th: ['colspan', 'rowspan', 'scope'],
  col: ['span'],
  colgroup: ['span'],
};

/** Sanitises `html` and resolves its links and image sources against `base`; null when nothing visible is left. */
export function sanitizeContent(html: string, base: string | null): string | null {
  const clean = restoreText(sanitizeHtml(protectText(html), {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['http', 'https'], video: ['http', 'https'], audio: ['http', 'https'], source: ['http', 'https'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'cite', 'poster'],
    allowProtocolRelative: false, // we resolve //host/x against the base ourselves
    disallowedTagsMode: 'discard',
    // Their text is code or chrome, not content. (An iframe's, object's or noscript's body is
    // fallback text for readers: only the element goes, the text around and inside it stays.)
    nonTextTags: ['script', 'style', 'textarea', 'option', 'template', 'svg', 'math', 'select', 'button', 'head', 'title'],
    transformTags: {
      a: (tagName, attribs) => {
        const { href, ...rest } = attribs;
        const resolved = resolveLinkUrl(href, base);
        const out: sanitizeHtml.Attributes = { ...rest, rel: 'noopener noreferrer' };
        if (resolved) out.href = resolved;
        return { tagName, attribs: out };
      },
      img: mediaResolver(base),
      video: mediaResolver(base),
      audio: mediaResolver(base),
      source: mediaResolver(base),
      blockquote: citeResolver(base),
      q: citeResolver(base),
    },
    exclusiveFilter: (frame) => (frame.tag === 'img' && !frame.attribs.src && !frame.attribs.srcset) || (frame.tag === 'source' && !frame.attribs.src && !frame.attribs.srcset),
  })).trim();
  return clean === '' ? null : clean;
}

/** src, poster and srcset of images and media, absolute http(s) or dropped. */
function mediaResolver(base: string | null): sanitizeHtml.Transformer {
  return (tagName, attribs) => {
    const { src, poster, srcset, ...rest } = attribs;
    const out: sanitizeHtml.Attributes = { ...rest };
    const resolvedSrc = resolveWebUrl(src, base);
    if (resolvedSrc) out.src = resolvedSrc;
    const resolvedPoster = resolveWebUrl(poster, base);
    if (resolvedPoster) out.poster = resolvedPoster;
    const resolvedSrcset = srcset !== undefined ? resolveSrcset(srcset, base) : null;
    if (resolvedSrcset) out.srcset = resolvedSrcset;
    return { tagName, attribs: out };
  };
}

/** "a.png 1x, b.png 2x" with every candidate URL made absolute; candidates that are not web URLs go. */
function resolveSrcset(srcset: string, base: string | null): string | null {
  const candidates = srcset
    .split(/,\s+|(?<=\s[\d.]+[wxh]),/)
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .flatMap((c) => {
      const [url, ...descriptor] = c.split(/\s+/);
      const resolved = resolveWebUrl(url, base);
      return resolved ? [[resolved, ...descriptor].join(' ')] : [];
    });
  return candidates.length > 0 ? candidates.join(', ') : null;
}

function citeResolver(base: string | null): sanitizeHtml.Transformer {
  return (tagName, attribs) => {
    const { cite, ...rest } = attribs;
    const resolved = resolveWebUrl(cite, base);
    return { tagName, attribs: resolved ? { ...rest, cite: resolved } : rest };
  };
}

/**
 * htmlparser2 reports every stray "<" and every character reference as its own text event, and
 * sanitize-html does real work per event: 195 KB of "&lt;" takes 200+ ms. In text (never inside
 * tags) the commonest ones are swapped for private-use placeholders before sanitising and swapped
 * back after, so such runs reach the parser as one text event. Same document, linear time.
 */
function protectText(html: string): string {
  const out: string[] = [];
  scanHtml(html.replace(/[\uE000-\uE002]/g, ''), {
    // &amp; first, so "&amp;lt;" stays the text "&lt;". Plain regex replaces: a callback per match is slow.
    text: (segment) => out.push(segment.replace(/&amp;/g, '\uE001').replace(/&lt;|</g, '\uE000').replace(/&gt;/g, '\uE002')),
    // Feeds are written as XML: a self-closed <script/> or <iframe/> is empty, though HTML would
    // read the rest of the document as its body and lose it.
    markup: (segment, name, closing) =>
      out.push(!closing && name !== null && segment.endsWith('/>') && RAW_TEXT_ELEMENTS.has(name) ? `${segment.slice(0, -2)}></${name}>` : segment),
  });
  return out.join('');
}

function restoreText(html: string): string {
  return html.replace(/\uE000/g, '&lt;').replace(/\uE001/g, '&amp;').replace(/\uE002/g, '&gt;');
}
