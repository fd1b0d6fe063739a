import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { formatOf, hash32, langOf, regionOf, syndicatedFrom } from './content.ts';
import { CONTENT_TYPES, renderFeed } from './render.ts';

/**
 * The feed farm: N news feeds served from memory by plain node:http servers on loopback.
 *
 * Addressing: the poller limits concurrent requests per host (FETCH_PER_HOST) and spaces them
 * (FETCH_HOST_SPACING_MS), so feeds must not all share one host or the farm would measure the
 * politeness rules instead of the poller. Linux routes all of 127.0.0.0/8 to the loopback device,
 * so the farm binds one server (port 0) to each of `hosts` addresses 127.0.1.1, 127.0.1.2, … and
 * feed i lives on address i mod hosts. Every server has the same handler, only the URL differs.
 */

export interface FarmOptions {
  feeds: number;
  /** Items per feed document (and initially published per feed). */
  items: number;
  /** Loopback addresses to spread feeds over (default: min(feeds, 256)). */
  hosts?: number;
  /** Clock origin of article dates (default: now). */
  start?: number;
}

export interface FarmFeed {
  url: string;
  title: string;
  region: string;
  language: string;
}

export interface FarmStats {
  requests: number;
  ok: number;
  notModified: number;
  notFound: number;
  gzipped: number;
  bytesSent: number;
}

export interface Farm {
  feeds: FarmFeed[];
  hosts: string[];
  /** 0 after start; +1 per advanceRound. */
  readonly round: number;
  /** Adds `newItems` items to round(fraction × feeds) feeds chosen pseudo-randomly; re-renders only those. */
  advanceRound(fraction: number, newItems: number): number[];
  /** Items published in all feeds so far (syndicated copies counted in each feed). */
  publishedItems(): number;
  /** Distinct articles published so far: what a correct cross-feed dedupe stores as entries. */
  distinctArticles(): number;
  /** Sum of rendered (uncompressed) body sizes. */
  renderedBytes(): number;
  stats(): FarmStats;
  resetStats(): void;
  close(): Promise<void>;
}

interface Rendered {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  lastModified: string;
  contentType: string;
}

export async function startFarm(opts: FarmOptions): Promise<Farm> {
  const hostCount = Math.max(1, Math.min(opts.hosts ?? 256, opts.feeds, 64516));
  const clock = { start: opts.start ?? Date.now(), initialItems: opts.items };
  const servers: Server[] = [];
  const origins: string[] = [];
  const published = new Array<number>(opts.feeds).fill(opts.items);
  const cache = new Array<Rendered>(opts.feeds);
  const stats: FarmStats = { requests: 0, ok: 0, notModified: 0, notFound: 0, gzipped: 0, bytesSent: 0 };
  let round = 0;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const m = /^\/f\/(\d+)\.(xml|json)$/.exec(req.url ?? '');
    const doc = m ? cache[Number(m[1])] : undefined;
    if (!doc || (req.method !== 'GET' && req.method !== 'HEAD')) {
      stats.notFound++;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const common = { etag: doc.etag, 'last-modified': doc.lastModified, vary: 'Accept-Encoding' };
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    // RFC 9110: If-None-Match wins; If-Modified-Since only when no ETag was sent.
    const unchanged = inm !== undefined ? inm.split(',').some((t) => t.trim() === doc.etag) : ims === doc.lastModified;
    if (unchanged) {
      stats.notModified++;
      res.writeHead(304, common).end();
      return;
    }
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gz ? doc.gzip : doc.body;
    stats.ok++;
    if (gz) stats.gzipped++;
    stats.bytesSent += body.length;
    res.writeHead(200, {
      ...common,
      'content-type': doc.contentType,
      'content-length': body.length,
      ...(gz ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  try {
    for (let h = 0; h < hostCount; h++) {
      const address = `127.0.${1 + Math.floor(h / 254)}.${1 + (h % 254)}`;
      const server = createServer({ keepAlive: true }, handler);
      server.keepAliveTimeout = 30_000;
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, address, () => resolve());
      });
      origins.push(`http://${address}:${(server.address() as AddressInfo).port}`);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw err;
  }

  const feeds: FarmFeed[] = [];
  for (let i = 0; i < opts.feeds; i++) {
    const ext = formatOf(i) === 'json' ? 'json' : 'xml';
    feeds.push({ url: `${origins[i % hostCount]}/f/${i}.${ext}`, title: `Bench feed ${i}`, region: regionOf(i), language: langOf(i) });
  }

  const render = (i: number) => {
    const text = renderFeed({ index: i, feedCount: opts.feeds, published: published[i]!, window: opts.items, selfUrl: feeds[i]!.url, clock });
    const body = Buffer.from(text, 'utf8');
    cache[i] = {
      body,
      // Level 1 is nginx's default (gzip_comp_level 1) and keeps rendering 10,000 feeds cheap.
      gzip: gzipSync(body, { level: 1 }),
      etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
      lastModified: new Date().toUTCString(),
      contentType: CONTENT_TYPES[formatOf(i)],
    };
  };
  for (let i = 0; i < opts.feeds; i++) render(i);

  return {
    feeds,
    hosts: origins,
    get round() {
      return round;
    },
    advanceRound(fraction, newItems) {
      round++;
      const count = Math.round(Math.min(1, Math.max(0, fraction)) * opts.feeds);
      const order = Array.from({ length: opts.feeds }, (_, i) => i).sort((a, b) => hash32(a, round) - hash32(b, round));
      const changed = order.slice(0, count).sort((a, b) => a - b);
      for (const i of changed) {
        published[i] = published[i]! + newItems;
        render(i);
      }
      return changed;
    },
    publishedItems: () => published.reduce((a, b) => a + b, 0),
    distinctArticles() {
      const seen = new Set<string>();
      for (let f = 0; f < opts.feeds; f++) {
        for (let k = 0; k < published[f]!; k++) {
          const source = syndicatedFrom(f, k, opts.feeds);
          seen.add(`${source ?? f}:${k}`);
        }
      }
      return seen.size;
    },
    renderedBytes: () => cache.reduce((a, d) => a + d.body.length, 0),
    stats: () => ({ ...stats }),
    resetStats() {
      for (const k of Object.keys(stats) as (keyof FarmStats)[]) stats[k] = 0;
    },
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
