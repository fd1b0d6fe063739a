import type { Request } from 'express';
import { ifNoneMatchHits, notModifiedSince as modifiedNoLaterThan } from '../http/conditional.ts';

/** RFC 9110 §13.1.2: weak comparison; `*` matches any current representation. */
export function etagMatches(req: Request, etag: string): boolean {
  const header = req.get('if-none-match');
  return header ? ifNoneMatchHits(header, [etag]) : false;
}

/** If-Modified-Since is only consulted when the request has no If-None-Match (RFC 9110 §13.1.3). */
export function notModifiedSince(req: Request, lastModified: Date): boolean {
  if (req.get('if-none-match')) return false;
  const header = req.get('if-modified-since');
  return header ? modifiedNoLaterThan(header, lastModified) : false;
}
