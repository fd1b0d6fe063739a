/**
 * Characters XML 1.0 forbids: C0 controls except tab/LF/CR, lone surrogates, U+FFFE and U+FFFF.
 * The `u` flag makes a lone surrogate match on its own while a valid pair is one code point.
 */
const ILLEGAL_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function stripIllegalXml(text: string): string {
  return text.replace(ILLEGAL_XML, '');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text safe in XML element content and in double- or single-quoted attributes. */
export function escapeXml(text: string | null | undefined): string {
  if (text == null) return '';
  return stripIllegalXml(String(text)).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** An absolute http(s) URL, normalised, or null: relative, javascript:, data: and broken URLs never reach output. */
export function safeHttpUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return stripIllegalXml(u.href);
}

/** A usable date or null: invalid dates are never written. */
export function validDate(d: Date | string | null | undefined): Date | null {
  if (d == null) return null;
  const date = d instanceof Date ? d : new Date(d);
  const t = date.getTime();
  return Number.isNaN(t) || t < Date.UTC(1, 0, 1) || t > Date.UTC(9999, 11, 31) ? null : date;
}

/** RFC 822 date as RSS wants it (`Wed, 01 May 2024 10:00:00 GMT`). */
export function rfc822(d: Date): string {
  return d.toUTCString();
}

/** RFC 3339 date (Atom, JSON Feed). */
export function rfc3339(d: Date): string {
  return d.toISOString();
}
