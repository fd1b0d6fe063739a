/**
 * A local HTTP server that misbehaves on purpose: slow, silent, huge, compressed bombs, every
 * status and redirect shape, hostile XML, wrong charsets. Listens on 127.0.0.1 port 0.
 *
 *   const server = await startFaultServer();
 *   server.url('/trickle')            // http://127.0.0.1:PORT/trickle
 *   server.route('/mine', (req, res) => res.end('x'));   // add or replace a route
 *   server.count('/feed.xml')         // requests seen per path (query string ignored)
 *   server.lastRequest('/feed.xml')?.headers['if-none-match']
 *   await server.close();             // also cuts hanging and trickling connections
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brotliCompressSync, createGzip, gzipSync } from 'node:zlib';

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Path with the query string. */
  url: string;
  headers: IncomingHttpHeaders;
  at: number;
}

export interface RouteContext {
  url: URL;
  server: FaultServer;
  /** Timers and intervals registered here are cleared when the response closes or the server stops. */
  onClose(fn: () => void): void;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => void | Promise<void>;

export interface FaultServer {
  readonly host: string;
  readonly port: number;
  /** "http://127.0.0.1:PORT" */
  readonly origin: string;
  url(path: string): string;
  route(path: string, handler: RouteHandler): void;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far (a guard that refuses before connecting leaves this at 0). */
  connections(): number;
  count(path?: string): number;
  lastRequest(path: string): RecordedRequest | undefined;
  resetRequests(): void;
  close(): Promise<void>;
}

export interface FaultServerOptions {
  host?: string;
  /** Install the built-in hostile routes (default true). */
  defaultRoutes?: boolean;
}

// ---------------------------------------------------------------- fixtures

export const FEED_ETAG = '"feed-v1"';
export const FEED_LAST_MODIFIED = 'Wed, 01 Jan 2025 10:00:00 GMT';

export const SAMPLE_RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Fault server feed</title>
    <link>http://example.test/</link>
    <description>A small valid feed</description>
    <item>
      <title>First item</title>
      <link>http://example.test/1</link>
      <guid>item-1</guid>
      <pubDate>Wed, 01 Jan 2025 09:00:00 GMT</pubDate>
      <description>Città, perché è bello — “quotes”</description>
    </item>
  </channel>
</rss>
`;

export const SAMPLE_ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Fault server Atom</title>
  <id>urn:fault:atom</id>
  <updated>2025-01-01T10:00:00Z</updated>
  <link href="http://example.test/"/>
  <entry>
    <title>Atom entry</title>
    <id>urn:fault:atom:1</id>
    <updated>2025-01-01T09:00:00Z</updated>
    <link href="http://example.test/a1"/>
  </entry>
</feed>
`;

export const SAMPLE_JSON_FEED = JSON.stringify({
  version: 'https://jsonfeed.org/version/1.1',
  title: 'Fault server JSON',
  items: [{ id: 'j1', url: 'http://example.test/j1', content_text: 'Hello' }],
});

/** "perché è città" as the Italian press still serves it: windows-1252 bytes, no header charset. */
export const ITALIAN_TITLE = 'perché è città';
/** Node has no windows-1252 encoder; these fixtures need only Latin-1 plus a few punctuation marks. */
export function encodeWindows1252(text: string): Buffer {
  const extra: Record<string, number> = { '€': 0x80, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '–': 0x96, '—': 0x97 };
  return Buffer.from(
    Array.from(text, (ch) => {
      const code = ch.codePointAt(0) ?? 0x3f;
      return extra[ch] ?? (code < 0x80 || (code >= 0xa0 && code <= 0xff) ? code : 0x3f);
    }),
  );
}

export const WINDOWS_1252_RSS: Buffer = encodeWindows1252(
  `<?xml version="1.0" encoding="windows-1252"?>\n<rss version="2.0"><channel><title>${ITALIAN_TITLE}</title>` +
    `<link>http://example.test/</link><description>“virgolette” – €</description></channel></rss>\n`,
);

export const MALFORMED_XML = '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>no close';

export const BILLION_LAUGHS_XML = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>
`;

export const XXE_XML = `<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rss version="2.0"><channel><title>XXE</title><item><title>&xxe;</title><description>&xxe;</description></item></channel></rss>
`;

export const HTML_WITH_FEED_LINK = `<!doctype html>
<html><head><meta charset="utf-8"><title>A blog</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="/real.xml">
</head><body><p>Not a feed, but it knows where one is.</p></body></html>
`;

const HUGE_BYTES = 200 * 1024 * 1024;
const BOMB_ZEROS = 256 * 1024 * 1024;

let bombPromise: Promise<Buffer> | null = null;
/** 256 MB of zeros gzipped (~250 KB), built once per process by streaming: never 256 MB in memory. */
export function gzipBomb(): Promise<Buffer> {
  bombPromise ??= new Promise<Buffer>((resolve, reject) => {
    const gz = createGzip({ level: 9 });
    const out: Buffer[] = [];
    gz.on('data', (c: Buffer) => out.push(c));
    gz.on('end', () => resolve(Buffer.concat(out)));
    gz.on('error', reject);
    const zeros = Buffer.alloc(1024 * 1024);
    let written = 0;
    const pump = (): void => {
      while (written < BOMB_ZEROS) {
        written += zeros.length;
        if (!gz.write(zeros)) {
          gz.once('drain', pump);
          return;
        }
      }
      gz.end();
    };
    pump();
  });
  return bombPromise;
}

// ---------------------------------------------------------------- route helpers

const RSS_TYPE = 'application/rss+xml; charset=utf-8';

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': RSS_TYPE, 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function redirect(status: number, location: string): RouteHandler {
  return (_req, res) => {
    res.writeHead(status, { location, 'content-length': '0' });
    res.end();
  };
}

/** Streams `total` bytes of filler with backpressure, so the server never holds the body. */
function streamFiller(res: ServerResponse, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
      sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

function installDefaultRoutes(s: FaultServer): void {
  // A well-behaved feed that honours conditional GET and says how long it stays fresh.
  s.route('/feed.xml', (req, res) => {
    const headers = { etag: FEED_ETAG, 'last-modified': FEED_LAST_MODIFIED, 'cache-control': 'public, max-age=300' };
    if (req.headers['if-none-match'] === FEED_ETAG || req.headers['if-modified-since'] === FEED_LAST_MODIFIED) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    send(res, 200, SAMPLE_RSS, headers);
  });
  s.route('/real.xml', (_req, res) => send(res, 200, SAMPLE_RSS));
  s.route('/atom.xml', (_req, res) => send(res, 200, SAMPLE_ATOM, { 'content-type': 'application/atom+xml' }));
  s.route('/feed.json', (_req, res) => send(res, 200, SAMPLE_JSON_FEED, { 'content-type': 'application/feed+json' }));
  s.route('/echo-headers', (req, res) => send(res, 200, JSON.stringify(req.headers), { 'content-type': 'application/json' }));

  // Time.
  s.route('/trickle', (_req, res, ctx) => {
    res.writeHead(200, { 'content-type': RSS_TYPE });
    res.write('<');
    const timer = setInterval(() => res.write(' '), 200);
    ctx.onClose(() => clearInterval(timer));
  });
  s.route('/hang', () => {
    // Accept the request and never answer; close() cuts the socket.
  });

  // Size.
  s.route('/huge', (_req, res) => {
    res.writeHead(200, { 'content-type': RSS_TYPE }); // chunked: no Content-Length to reject up front
    streamFiller(res, HUGE_BYTES);
  });
  s.route('/huge-declared', (_req, res) => {
    res.writeHead(200, { 'content-type': RSS_TYPE, 'content-length': String(HUGE_BYTES) });
    streamFiller(res, HUGE_BYTES);
  });
  s.route('/gzip-bomb', async (_req, res) => {
    const bomb = await gzipBomb();
    res.writeHead(200, { 'content-type': RSS_TYPE, 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
    res.end(bomb);
  });
  s.route('/gzip.xml', (_req, res) => send(res, 200, gzipSync(SAMPLE_RSS), { 'content-encoding': 'gzip' }));
  s.route('/br.xml', (_req, res) => send(res, 200, brotliCompressSync(SAMPLE_RSS), { 'content-encoding': 'br' }));
  s.route('/bad-gzip', (_req, res) => send(res, 200, SAMPLE_RSS, { 'content-encoding': 'gzip' }));

  // Status codes.
  s.route('/status/500', (_req, res) => send(res, 500, 'boom', { 'content-type': 'text/plain' }));
  s.route('/status/404', (_req, res) => send(res, 404, 'nope', { 'content-type': 'text/plain' }));
  s.route('/status/410', (_req, res) => send(res, 410, 'gone', { 'content-type': 'text/plain' }));
  s.route('/status/503', (_req, res) => send(res, 503, 'busy', { 'content-type': 'text/plain', 'retry-after': '120' }));
  s.route('/status/429', (_req, res) => {
    // An HTTP-date Retry-After, 90 s after the server's own Date.
    const date = new Date(Math.floor(Date.now() / 1000) * 1000);
    send(res, 429, 'slow down', {
      'content-type': 'text/plain',
      date: date.toUTCString(),
      'retry-after': new Date(date.getTime() + 90_000).toUTCString(),
    });
  });

  // Redirects.
  for (const status of [301, 302, 303, 307, 308]) s.route(`/redirect/${status}`, redirect(status, '/feed.xml'));
  s.route('/redirect/relative/deeper', redirect(301, '../../real.xml'));
  s.route('/redirect/loop-a', redirect(302, '/redirect/loop-b'));
  s.route('/redirect/loop-b', redirect(302, '/redirect/loop-a'));
  s.route('/redirect/self', redirect(301, '/redirect/self'));
  s.route('/redirect/no-location', (_req, res) => {
    res.writeHead(302, { 'content-length': '0' });
    res.end();
  });
  s.route('/redirect/ftp', redirect(302, 'ftp://127.0.0.1/feed.xml'));
  s.route('/redirect/mixed', redirect(301, '/redirect/307'));
  // /redirect/chain/N takes N hops to /real.xml.
  for (let n = 1; n <= 10; n++) s.route(`/redirect/chain/${n}`, redirect(301, n === 1 ? '/real.xml' : `/redirect/chain/${n - 1}`));

  // Content.
  s.route('/malformed.xml', (_req, res) => send(res, 200, MALFORMED_XML));
  s.route('/billion-laughs.xml', (_req, res) => send(res, 200, BILLION_LAUGHS_XML));
  s.route('/xxe.xml', (_req, res) => send(res, 200, XXE_XML));
  s.route('/page.html', (_req, res) => send(res, 200, HTML_WITH_FEED_LINK, { 'content-type': 'text/html; charset=utf-8' }));
  s.route('/empty', (_req, res) => send(res, 200, ''));
  s.route('/wrong-type.xml', (_req, res) => send(res, 200, SAMPLE_RSS, { 'content-type': 'text/html' }));
  s.route('/bom.xml', (_req, res) => send(res, 200, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SAMPLE_RSS)]), { 'content-type': 'application/xml' }));
  s.route('/utf16.xml', (_req, res) => {
    const body = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SAMPLE_RSS.replace('UTF-8', 'UTF-16'), 'utf16le')]);
    send(res, 200, body, { 'content-type': 'application/xml' });
  });
  s.route('/windows-1252.xml', (_req, res) => send(res, 200, WINDOWS_1252_RSS, { 'content-type': 'application/rss+xml' }));

  // Connections.
  s.route('/close-immediately', (req) => void req.socket.destroy());
  s.route('/reset-mid-body', (_req, res) => {
    res.writeHead(200, { 'content-type': RSS_TYPE, 'content-length': '100000' });
    res.write('<rss>', () => res.socket?.destroy());
  });
}

// ---------------------------------------------------------------- server

export async function startFaultServer(opts: FaultServerOptions = {}): Promise<FaultServer> {
  const host = opts.host ?? '127.0.0.1';
  const routes = new Map<string, RouteHandler>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const cleanups = new Set<() => void>();
  let connectionCount = 0;

  const httpServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, url: req.url ?? '/', headers: req.headers, at: Date.now() });
    const handler = routes.get(url.pathname);
    if (!handler) {
      send(res, 404, `no route ${url.pathname}`, { 'content-type': 'text/plain' });
      return;
    }
    const ctx: RouteContext = {
      url,
      server,
      onClose(fn) {
        cleanups.add(fn);
        res.once('close', () => {
          cleanups.delete(fn);
          fn();
        });
      },
    };
    Promise.resolve(handler(req, res, ctx)).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, String(err), { 'content-type': 'text/plain' });
      else res.destroy();
    });
  });
  httpServer.on('connection', (sock) => {
    connectionCount++;
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const server: FaultServer = {
    host,
    port,
    origin,
    url: (path) => `${origin}${path}`,
    route: (path, handler) => void routes.set(path, handler),
    requests,
    connections: () => connectionCount,
    count: (path) => (path === undefined ? requests.length : requests.filter((r) => r.path === path).length),
    lastRequest: (path) => requests.filter((r) => r.path === path).at(-1),
    resetRequests: () => void requests.splice(0, requests.length),
    close: async () => {
      for (const fn of cleanups) fn();
      cleanups.clear();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const sock of sockets) sock.destroy();
      await closed;
    },
  };
  if (opts.defaultRoutes ?? true) installDefaultRoutes(server);
  return server;
}
