import { stripIllegalXml } from '../../xml/escape.ts';

export { escapeXml, stripIllegalXml } from '../../xml/escape.ts';

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
