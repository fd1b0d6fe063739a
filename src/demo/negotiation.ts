/**
 * The few bits of HTTP the demo server needs so that Tributary's fetcher sees a well-behaved
 * publisher: conditional requests (RFC 9110 §13) and gzip negotiation.
 */

export { ifNoneMatchHits, notModifiedSince } from '../http/conditional.ts';

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
