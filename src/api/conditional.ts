import type { Request } from 'express';

/** RFC 9110 §13.1.2: weak comparison; `*` matches any current representation. */
export function etagMatches(req: Request, etag: string): boolean {
  const header = req.get('if-none-match');
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}

/** If-Modified-Since is only consulted when the request has no If-None-Match (RFC 9110 §13.1.3). */
export function notModifiedSince(req: Request, lastModified: Date): boolean {
  if (req.get('if-none-match')) return false;
  const header = req.get('if-modified-since');
  if (!header) return false;
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
}
