import { createHash } from 'node:crypto';
import type { FaultServer } from './fault-server.ts';

export interface StaticFeed {
  body: Buffer;
  contentType: string;
  lastModified?: string;
}

/**
 * Serves a feed like a well-behaved publisher: strong ETag from the bytes, Last-Modified, and 304
 * for a matching conditional request. `set` swaps the body (an edited feed) and the validators.
 */
export function serveStatic(server: FaultServer, path: string, feed: StaticFeed): { set(feed: StaticFeed): void } {
  let current = feed;
  server.route(path, (req, res) => {
    const etag = `"${createHash('sha1').update(current.body).digest('hex').slice(0, 16)}"`;
    const lastModified = current.lastModified ?? 'Mon, 20 Nov 2017 10:00:00 GMT';
    if (req.headers['if-none-match'] === etag || (!req.headers['if-none-match'] && req.headers['if-modified-since'] === lastModified)) {
      res.writeHead(304, { etag, 'last-modified': lastModified });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': current.contentType, etag, 'last-modified': lastModified });
    res.end(current.body);
  });
  return {
    set(next) {
      current = next;
    },
  };
}
