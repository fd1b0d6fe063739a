import autocannon from 'autocannon';
import { request } from 'undici';

/** Which serving case an endpoint result is, whatever its name (the deep offset varies with size). */
export type EndpointKind = 'feed' | 'feedNotModified' | 'first' | 'deep' | 'search' | 'region';

/** One endpoint under load: autocannon with `connections` for `durationS`. */
export interface EndpointResult {
  kind: EndpointKind;
  name: string;
  path: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Latency of the first request, before any cache is warm (feed.xml cold, first search). */
  firstMs: number | null;
  statusCounts: Record<string, number>;
  errors: number;
}

export interface DriveOptions {
  connections: number;
  durationS: number;
  searchWord: string;
  region: string;
  /** Entries to skip for the deep-page case (walked with limit=200 first). */
  deepOffset: number;
}

async function timedGet(url: string, headers: Record<string, string> = {}) {
  const t0 = performance.now();
  const res = await request(url, { headers, signal: AbortSignal.timeout(60_000) });
  const body = await res.body.text();
  return { ms: performance.now() - t0, status: res.statusCode, headers: res.headers, body };
}

async function load(
  base: string,
  kind: EndpointKind,
  name: string,
  path: string,
  opts: DriveOptions,
  extra: { firstMs?: number | null; headers?: Record<string, string> } = {},
): Promise<EndpointResult> {
  const r = await autocannon({
    url: base + path,
    connections: opts.connections,
    duration: opts.durationS,
    timeout: 30,
    headers: extra.headers ?? {},
  });
  const statusCounts: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats)) statusCounts[code] = s.count;
  return {
    kind,
    name,
    path,
    requestsPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    firstMs: extra.firstMs ?? null,
    statusCounts,
    errors: r.errors + r.timeouts,
  };
}

/** Walks /api/items with limit=200 until `offset` entries are behind; returns the cursor there. */
export async function walkCursor(base: string, offset: number): Promise<{ cursor: string | null; walked: number; ms: number }> {
  const t0 = performance.now();
  let cursor: string | null = null;
  let walked = 0;
  while (walked < offset) {
    const limit = Math.min(200, offset - walked);
    const r = await timedGet(`${base}/api/items?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status !== 200) throw new Error(`/api/items answered ${r.status} while walking the cursor: ${r.body.slice(0, 200)}`);
    const page = JSON.parse(r.body) as { items: unknown[]; next_cursor: string | null };
    walked += page.items.length;
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return { cursor, walked, ms: performance.now() - t0 };
}

/** Runs every serving case against the API at `base` in turn. */
export async function driveApi(base: string, opts: DriveOptions, log: (s: string) => void): Promise<{ endpoints: EndpointResult[]; deepWalk: { walked: number; ms: number } }> {
  const endpoints: EndpointResult[] = [];
  const run = async (kind: EndpointKind, name: string, path: string, extra: { firstMs?: number | null; headers?: Record<string, string> } = {}) => {
    log(`  ${name}: ${path}`);
    endpoints.push(await load(base, kind, name, path, opts, extra));
  };

  const cold = await timedGet(`${base}/feed.xml`);
  if (cold.status !== 200) throw new Error(`/feed.xml answered ${cold.status}`);
  await run('feed', '/feed.xml', '/feed.xml', { firstMs: cold.ms });
  const etag = cold.headers['etag'];
  if (typeof etag !== 'string') throw new Error('/feed.xml sent no ETag');
  await run('feedNotModified', '/feed.xml If-None-Match', '/feed.xml', { headers: { 'if-none-match': etag } });

  await run('first', '/api/items first page', '/api/items?limit=50');

  const walk = await walkCursor(base, opts.deepOffset);
  if (!walk.cursor) throw new Error(`only ${walk.walked} entries to walk, wanted ${opts.deepOffset}`);
  await run('deep', `/api/items ${opts.deepOffset} deep`, `/api/items?limit=50&cursor=${encodeURIComponent(walk.cursor)}`);

  const qPath = `/api/items?q=${encodeURIComponent(opts.searchWord)}&limit=50`;
  const firstSearch = await timedGet(base + qPath);
  await run('search', `/api/items ?q=${opts.searchWord}`, qPath, { firstMs: firstSearch.ms });

  const rPath = `/api/items?region=${encodeURIComponent(opts.region)}&limit=50`;
  const firstRegion = await timedGet(base + rPath);
  await run('region', `/api/items ?region=${opts.region}`, rPath, { firstMs: firstRegion.ms });
  return { endpoints, deepWalk: { walked: walk.walked, ms: walk.ms } };
}
