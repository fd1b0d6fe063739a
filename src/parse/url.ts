/**
 * URL resolution for feed content: everything we hand on is absolute http(s) or nothing.
 */

const WEB_PROTOCOLS = new Set(['http:', 'https:']);

/** Parses `raw` as an absolute URL or relative to `base`; null when unusable. */
function toUrl(raw: string | null | undefined, base: string | null): URL | null {
  if (typeof raw !== 'string') return null;
  // Control characters and surrounding whitespace are stripped by browsers too; keep in step.
  const trimmed = raw.replace(/[\u0000-\u001F\u007F]/g, '').trim();
  if (trimmed === '') return null;
  try {
    return base ? new URL(trimmed, base) : new URL(trimmed);
  } catch {
    return null;
  }
}

/** Absolute http(s) URL for `raw` resolved against `base`, or null (javascript:, data:, garbage, relative without base). */
export function resolveWebUrl(raw: string | null | undefined, base: string | null): string | null {
  const url = toUrl(raw, base);
  return url && WEB_PROTOCOLS.has(url.protocol) ? url.href : null;
}

/** Like resolveWebUrl, but a link in content may also be mailto:. */
export function resolveLinkUrl(raw: string | null | undefined, base: string | null): string | null {
  const url = toUrl(raw, base);
  if (!url) return null;
  return WEB_PROTOCOLS.has(url.protocol) || url.protocol === 'mailto:' ? url.href : null;
}

/**
 * A base for resolving: `raw` (an xml:base, maybe relative) against `parent`. Unlike
 * resolveWebUrl the result may be any absolute URL, because a base is never shown to anyone.
 */
export function resolveBase(raw: string | null | undefined, parent: string | null): string | null {
  if (raw == null || raw.trim() === '') return parent;
  return toUrl(raw, parent)?.href ?? parent;
}
