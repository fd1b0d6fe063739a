import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { request } from 'undici';
import { processCpuSeconds } from './child.ts';
import type { RecordedResponse } from './floor-server.ts';

/** Which serving case an endpoint result is, whatever its name (the deep offset varies with size). */
export type EndpointKind = 'health' | 'feed' | 'feedNotModified' | 'first' | 'item' | 'deep' | 'search' | 'region';

/** One run of autocannon against one path. */
export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  statusCounts: Record<string, number>;
  errors: number;
  /** CPU of the server process per answered request, µs (from /proc; NaN where unavailable). */
  cpuPerRequestUs: number;
}

/** One endpoint under load: autocannon with `connections` for `durationS`. */
export interface EndpointResult extends LoadResult {
  kind: EndpointKind;
  name: string;
  path: string;
  /** Latency of the first request, before any cache is warm (feed.xml cold, first search). */
  firstMs: number | null;
  /** The same bytes from a bare node:http server, same settings, same run (bench/floor-server.ts). */
  floor?: LoadResult;
  /** Cost per request ÷ the floor's: floor req/s ÷ req/s (both saturated with the same connections). */
  floorRatio?: number;
}

/** One rung of the search ladder: one connection, so p99 is the query's own latency. */
export interface LadderResult extends LoadResult {
  word: string;
  matches: number;
  path: string;
  /** How the store read the page ('bitmap' or 'walk') and the plan, from EXPLAIN ANALYZE before the run. */
  access: string;
  plan: string;
}

export interface DriveOptions {
  connections: number;
  durationS: number;
  searchWord: string;
  region: string;
  /** Entries to skip for the deep-page case (walked with limit=200 first). */
  deepOffset: number;
  /** Measure a bare node:http server answering the same bytes next to these kinds. */
  floorKinds: EndpointKind[];
  /** Seconds per ladder rung (one connection). */
  ladderDurationS: number;
  /** Tributary/floor pairs per floor endpoint; the best run of each side is kept. */
  floorRounds: number;
}

export interface Servers {
  apiPid: number | undefined;
  /** Starts the floor server on the recorded responses (a JSON file) and returns its base URL. */
  startFloor(responsesFile: string): Promise<{ base: string; pid: number | undefined; stop(): Promise<unknown> }>;
  /** Scratch directory for the recorded responses. */
  dir: string;
}

async function timedGet(url: string, headers: Record<string, string> = {}) {
  const t0 = performance.now();
  const res = await request(url, { headers, signal: AbortSignal.timeout(60_000) });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { ms: performance.now() - t0, status: res.statusCode, headers: res.headers, body };
}

/** Headers that belong to the connection or the moment, not to the answer. */
const HOP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

async function record(base: string, path: string, conditional: Record<string, string> | undefined): Promise<RecordedResponse> {
  const r = await timedGet(base + path, conditional ?? {});
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (!HOP_HEADERS.has(k) && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { path, conditional: conditional !== undefined, status: r.status, headers, bodyBase64: r.body.toString('base64') };
}

async function load(url: string, connections: number, durationS: number, headers: Record<string, string>, pid: number | undefined): Promise<LoadResult> {
  const cpu0 = processCpuSeconds(pid);
  const r = await autocannon({ url, connections, duration: durationS, timeout: 30, headers });
  const cpu = processCpuSeconds(pid) - cpu0;
  const statusCounts: Record<string, number> = {};
  let answered = 0;
  for (const [code, s] of Object.entries(r.statusCodeStats)) {
    statusCounts[code] = s.count;
    answered += s.count;
  }
  return {
    requestsPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    statusCounts,
    errors: r.errors + r.timeouts,
    cpuPerRequestUs: answered > 0 ? (cpu / answered) * 1e6 : NaN,
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
    if (r.status !== 200) throw new Error(`/api/items answered ${r.status} while walking the cursor: ${r.body.toString('utf8', 0, 200)}`);
    const page = JSON.parse(r.body.toString('utf8')) as { items: unknown[]; next_cursor: string | null };
    walked += page.items.length;
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return { cursor, walked, ms: performance.now() - t0 };
}

/**
 * Runs every serving case against the API at `base` in turn. Where a floor is wanted, the bare
 * node:http server answering the same bytes is measured right after each Tributary run, and the
 * pair is repeated `floorRounds` times keeping the best of each: on a shared machine other work
 * comes and goes, and pairing the two runs in time (rather than all of Tributary, then all floors)
 * keeps one side from getting a quiet minute the other did not.
 */
export async function driveApi(
  base: string,
  opts: DriveOptions,
  servers: Servers,
  log: (s: string) => void,
): Promise<{ endpoints: EndpointResult[]; deepWalk: { walked: number; ms: number } }> {
  type Planned = { kind: EndpointKind; name: string; path: string; firstMs: number | null; headers: Record<string, string> };
  const planned: Planned[] = [];
  const plan = (kind: EndpointKind, name: string, path: string, extra: { firstMs?: number | null; headers?: Record<string, string> } = {}) =>
    planned.push({ kind, name, path, firstMs: extra.firstMs ?? null, headers: extra.headers ?? {} });

  plan('health', '/healthz', '/healthz');
  const cold = await timedGet(`${base}/feed.xml`);
  if (cold.status !== 200) throw new Error(`/feed.xml answered ${cold.status}`);
  plan('feed', '/feed.xml', '/feed.xml', { firstMs: cold.ms });
  const etag = cold.headers['etag'];
  if (typeof etag !== 'string') throw new Error('/feed.xml sent no ETag');
  plan('feedNotModified', '/feed.xml If-None-Match', '/feed.xml', { headers: { 'if-none-match': etag } });

  plan('first', '/api/items first page', '/api/items?limit=50');
  const firstPage = JSON.parse((await timedGet(`${base}/api/items?limit=1`)).body.toString('utf8')) as { items: { id: number }[] };
  const itemId = firstPage.items[0]?.id;
  if (itemId === undefined) throw new Error('/api/items is empty');
  plan('item', '/api/items/:id', `/api/items/${itemId}`);

  const walk = await walkCursor(base, opts.deepOffset);
  if (!walk.cursor) throw new Error(`only ${walk.walked} entries to walk, wanted ${opts.deepOffset}`);
  plan('deep', `/api/items ${opts.deepOffset} deep`, `/api/items?limit=50&cursor=${encodeURIComponent(walk.cursor)}`);

  const qPath = `/api/items?q=${encodeURIComponent(opts.searchWord)}&limit=50`;
  const firstSearch = await timedGet(base + qPath);
  plan('search', `/api/items ?q=${opts.searchWord}`, qPath, { firstMs: firstSearch.ms });

  const rPath = `/api/items?region=${encodeURIComponent(opts.region)}&limit=50`;
  const firstRegion = await timedGet(base + rPath);
  plan('region', `/api/items ?region=${opts.region}`, rPath, { firstMs: firstRegion.ms });

  const withFloor = planned.filter((e) => opts.floorKinds.includes(e.kind));
  let floor: Awaited<ReturnType<Servers['startFloor']>> | null = null;
  if (withFloor.length > 0) {
    const recorded = await Promise.all(withFloor.map((e) => record(base, e.path, e.kind === 'feedNotModified' ? e.headers : undefined)));
    const file = `${servers.dir}/floor-responses.json`;
    writeFileSync(file, JSON.stringify(recorded));
    floor = await servers.startFloor(file);
  }
  const best = (a: LoadResult | undefined, b: LoadResult) => (a === undefined || b.requestsPerSec > a.requestsPerSec ? b : a);
  const endpoints: EndpointResult[] = [];
  try {
    for (const e of planned) {
      const paired = floor !== null && opts.floorKinds.includes(e.kind);
      let ours: LoadResult | undefined;
      let theirs: LoadResult | undefined;
      for (let round = 0; round < (paired ? opts.floorRounds : 1); round++) {
        log(`  ${e.name}: ${e.path}${paired ? ` (round ${round + 1}, then the floor)` : ''}`);
        ours = best(ours, await load(base + e.path, opts.connections, opts.durationS, e.headers, servers.apiPid));
        if (paired) theirs = best(theirs, await load(floor!.base + e.path, opts.connections, opts.durationS, e.headers, floor!.pid));
      }
      const result: EndpointResult = { kind: e.kind, name: e.name, path: e.path, firstMs: e.firstMs, ...ours! };
      if (theirs) {
        result.floor = theirs;
        result.floorRatio = theirs.requestsPerSec / Math.max(ours!.requestsPerSec, 1e-9);
      }
      endpoints.push(result);
    }
  } finally {
    await floor?.stop();
  }
  return { endpoints, deepWalk: { walked: walk.walked, ms: walk.ms } };
}

/** The search ladder: each word at one connection, so p99 is its query's own cost. */
export async function driveLadder(
  base: string,
  rungs: { word: string; matches: number; access: string; plan: string }[],
  durationS: number,
  apiPid: number | undefined,
  log: (s: string) => void,
): Promise<LadderResult[]> {
  const out: LadderResult[] = [];
  for (const rung of rungs) {
    const path = `/api/items?q=${encodeURIComponent(rung.word)}&limit=50`;
    log(`  ladder ${rung.word} (${rung.matches} matches, ${rung.access})`);
    const first = await timedGet(base + path);
    if (first.status !== 200) throw new Error(`${path} answered ${first.status}`);
    out.push({ ...rung, path, ...(await load(base + path, 1, durationS, {}, apiPid)) });
  }
  return out;
}
