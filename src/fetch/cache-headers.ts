/**
 * Reading the response headers that tell us when to come back. Pure functions: the current time
 * is passed in, and the server's own `Date` header is preferred as the reference so a skewed
 * clock on either side does not shorten or stretch the wait.
 */

/**
 * An HTTP date (IMF-fixdate, or the obsolete RFC 850 / asctime forms) in ms, else NaN. All of them
 * name a month, which keeps V8's lenient Date.parse from reading "0" or "-1" as a year.
 */
function parseHttpDate(value: string): number {
  return /[A-Za-z]{3}/.test(value) ? Date.parse(value) : NaN;
}

function referenceTime(dateHeader: string | null, nowMs: number): number {
  const t = dateHeader ? parseHttpDate(dateHeader) : NaN;
  return Number.isNaN(t) ? nowMs : t;
}

/** `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2025 07:28:00 GMT` → seconds from now, or null. */
export function parseRetryAfter(value: string | null, dateHeader: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = parseHttpDate(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - referenceTime(dateHeader, nowMs)) / 1000));
}

/** Cache-Control directives, lower-cased names; values unquoted. */
function cacheDirectives(cacheControl: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of cacheControl.split(',')) {
    const m = /^\s*([A-Za-z-]+)\s*(?:=\s*(?:"([^"]*)"|([^\s,]*)))?\s*$/.exec(part);
    if (m?.[1]) out.set(m[1].toLowerCase(), m[2] ?? m[3] ?? '');
  }
  return out;
}

/**
 * Seconds the response stays fresh: `s-maxage` (we are a shared cache of sorts), else `max-age`,
 * else `Expires` minus `Date`. Null when the server says nothing or forbids caching.
 */
export function parseFreshForSeconds(
  cacheControl: string | null,
  expires: string | null,
  dateHeader: string | null,
  nowMs: number,
): number | null {
  if (cacheControl) {
    const d = cacheDirectives(cacheControl);
    if (d.has('no-cache') || d.has('no-store')) return null;
    for (const name of ['s-maxage', 'max-age']) {
      const v = d.get(name);
      if (v !== undefined && /^\d+$/.test(v)) return Number(v);
    }
  }
  if (expires !== null) {
    const at = parseHttpDate(expires);
    // RFC 9111: an invalid Expires (often "0" or "-1") means already expired.
    if (Number.isNaN(at)) return 0;
    return Math.max(0, Math.floor((at - referenceTime(dateHeader, nowMs)) / 1000));
  }
  return null;
}
