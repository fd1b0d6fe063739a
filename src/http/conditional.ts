/**
 * Conditional requests (RFC 9110 §13) on raw header values, shared by the API and the demo
 * publisher so both sides of a poll agree on what "not modified" means.
 */

/**
 * True when an If-None-Match header lists one of `etags` (or `*`). The comparison is weak, as
 * RFC 9110 requires for If-None-Match, so a `W/"x"` sent back by a proxy still matches `"x"`.
 */
export function ifNoneMatchHits(header: string, etags: readonly string[]): boolean {
  const opaque = new Set(etags.map(stripWeak));
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return tag === '*' || (tag !== '' && opaque.has(stripWeak(tag)));
  });
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** True when If-Modified-Since is a valid date not older than `lastModified` (second precision). */
export function notModifiedSince(header: string, lastModified: Date): boolean {
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000);
}
