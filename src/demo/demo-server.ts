/**
 * A tiny local publisher for the offline demo: serves the bundled regional feeds (rendered once
 * at start so their dates are recent) the way a decent web server would, with validators, 304s
 * and gzip, so a fresh clone shows a full merged feed without internet.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { DEFAULT_FEEDS_DIR, loadDemoCatalog, renderDemoFeeds, type RenderedDemoFeed } from './feed-catalog.ts';
import { acceptsGzip, ifNoneMatchHits, notModifiedSince } from './negotiation.ts';

export interface DemoServerFeed {
  /** Absolute URL on the demo server, e.g. `http://127.0.0.1:41234/levant-news-wire.rss.xml`. */
  url: string;
  title: string;
  region: string;
  language: string;
}

export interface DemoServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  baseUrl: string;
  feeds: DemoServerFeed[];
  close(): Promise<void>;
}

export interface DemoServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the demo is for this machine only. */
  host?: string;
  /** The moment the template dates are relative to; default the current time. */
  now?: Date;
  /** Where feeds.json and the templates live; default `demo/feeds/` in the repository. */
  feedsDir?: URL;
}

/** One servable body with its validators, gzipped once up front. */
interface Resource {
  contentType: string;
  identity: Buffer;
  gzip: Buffer;
  etag: string;
  gzipEtag: string;
}

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const now = opts.now ?? new Date();
  const feedsDir = opts.feedsDir ?? DEFAULT_FEEDS_DIR;
  const rendered = await renderDemoFeeds(await loadDemoCatalog(feedsDir), now, feedsDir);

  // Second precision: that is all an HTTP date can carry, and If-Modified-Since echoes it back.
  const lastModified = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const resources = new Map<string, Resource>();
  for (const feed of rendered) resources.set(feed.path, toResource(feed.body, feed.contentType));
  resources.set('/', toResource(Buffer.from(renderIndexPage(rendered), 'utf8'), 'text/html; charset=utf-8'));

  const server = createServer((req, res) => handle(req, res, resources, lastModified));
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    baseUrl,
    feeds: rendered.map((feed) => ({
      url: baseUrl + feed.path,
      title: feed.title,
      region: feed.region,
      language: feed.language,
    })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets from a poller would otherwise hold close() open for seconds.
        server.closeAllConnections();
      }),
  };
}

function toResource(identity: Buffer, contentType: string): Resource {
  const hash = createHash('sha256').update(identity).digest('base64url').slice(0, 27);
  // Strong validators are per representation, so the gzipped bytes get their own tag.
  return { contentType, identity, gzip: gzipSync(identity), etag: `"${hash}"`, gzipEtag: `"${hash}-gz"` };
}

function handle(req: IncomingMessage, res: ServerResponse, resources: Map<string, Resource>, lastModified: Date): void {
  const pathname = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
  const resource = resources.get(pathname);
  if (!resource) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
    return;
  }

  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const headers: Record<string, string> = {
    ETag: gzip ? resource.gzipEtag : resource.etag,
    'Last-Modified': lastModified.toUTCString(),
    'Cache-Control': 'no-cache',
    Vary: 'Accept-Encoding',
  };

  // If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.2.2).
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const notModified =
    inm !== undefined
      ? ifNoneMatchHits(inm, [resource.etag, resource.gzipEtag])
      : ims !== undefined && notModifiedSince(ims, lastModified);
  if (notModified) {
    res.writeHead(304, headers).end();
    return;
  }

  const body = gzip ? resource.gzip : resource.identity;
  headers['Content-Type'] = resource.contentType;
  headers['Content-Length'] = String(body.length);
  headers['X-Content-Type-Options'] = 'nosniff';
  if (gzip) headers['Content-Encoding'] = 'gzip';
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The index advertises every feed with <link rel="alternate">, like a publisher's home page. */
function renderIndexPage(feeds: RenderedDemoFeed[]): string {
  const links = feeds
    .map((f) => `<link rel="alternate" type="${escapeHtml(mediaType(f.contentType))}" title="${escapeHtml(f.title)}" href="${escapeHtml(f.path)}">`)
    .join('\n');
  const rows = feeds
    .map((f) => `<li><a href="${escapeHtml(f.path)}">${escapeHtml(f.title)}</a> — ${escapeHtml(f.region)}, ${escapeHtml(f.language)}</li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tributary demo feeds</title>
${links}
</head>
<body>
<h1>Tributary demo feeds</h1>
<p>Bundled regional news feeds, served locally so the demo works offline. Dates are relative to when this server started.</p>
<ul>
${rows}
</ul>
</body>
</html>
`;
}

function mediaType(contentType: string): string {
  return contentType.split(';')[0]?.trim() ?? contentType;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
