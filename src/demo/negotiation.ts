/**
 * The few bits of HTTP the demo server needs so that Tributary's fetcher sees a well-behaved
 * publisher: conditional requests (RFC 9110 §13) and gzip negotiation.
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

/** Whether Accept-Encoding allows gzip: listed (or `*`) with a q-value above zero. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let wildcard: number | null = null;
  for (const part of header.split(',')) {
    const [codingRaw = '', ...params] = part.split(';');
    const coding = codingRaw.trim().toLowerCase();
    const qParam = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const weight = Number.isNaN(q) ? 0 : q;
    if (coding === 'gzip' || coding === 'x-gzip') return weight > 0;
    if (coding === '*') wildcard = weight;
  }
  return wildcard !== null && wildcard > 0;
}
