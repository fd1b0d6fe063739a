/**
 * The polite, safe feed fetcher: conditional GET, compression, a total time limit, a size cap on
 * the decompressed body, redirects followed by hand, and every connection through the SSRF guard.
 * Whatever a remote server does ends as a FetchOutcome; only an abort by the caller throws (so a
 * shutdown is not recorded as a feed failure).
 */
import { fetch, type Agent, type Response } from 'undici';
import { createGuardedAgent, type LookupAll } from './address-guard.ts';
import { parseFreshForSeconds, parseRetryAfter } from './cache-headers.ts';
import { decodeFeedBytes } from './charset.ts';
import { classifyFetchError } from './classify-error.ts';
import { startDeadline, type Deadline } from './deadline.ts';
import type { FetchErrorKind, FetchFailed, FetchLimits, FetchOutcome, FetchRequest, RedirectHop } from './types.ts';

export interface Fetcher {
  /** Never throws for anything the server does; rejects only with the caller's abort reason. */
  fetchFeed(req: FetchRequest, opts?: { signal?: AbortSignal }): Promise<FetchOutcome>;
  /** Destroys the connection pool; in-flight fetches fail. */
  close(): Promise<void>;
}

export interface FetcherDeps {
  /** DNS resolution used at connect time (default: the system resolver). */
  lookup?: LookupAll;
  /** Wall clock in ms, for durations and for Retry-After/Expires dates without a Date header. */
  now?: () => number;
}

const ACCEPT = [
  'application/rss+xml',
  'application/atom+xml',
  'application/feed+json',
  'application/xml;q=0.9',
  'text/xml;q=0.9',
  'application/json;q=0.8',
  'text/html;q=0.5',
  '*/*;q=0.3',
].join(', ');

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const PERMANENT_STATUSES = new Set([301, 308]);

/** The Agent's own wire-byte cap sits a little above ours so our clearer check normally fires first. */
const WIRE_CAP_SLACK = 64 * 1024;

export function createFetcher(limits: FetchLimits, deps: FetcherDeps = {}): Fetcher {
  const now = deps.now ?? Date.now;
  const agent: Agent = createGuardedAgent({
    allow: limits.allowPrivate,
    lookup: deps.lookup,
    connectTimeoutMs: limits.headersTimeoutMs,
    agent: {
      headersTimeout: limits.headersTimeoutMs,
      // An inactivity timer between body chunks; the total time is capped by the abort signal.
      bodyTimeout: limits.headersTimeoutMs,
      maxResponseSize: limits.maxBytes + WIRE_CAP_SLACK,
      connections: 4,
      // A connection is reused within a round (feeds of one host, redirects); a feed's next poll is
      // minutes away. Idle sockets are closed after 4 s whatever the server offers (undici honours
      // a `Keep-Alive: timeout=` hint up to keepAliveMaxTimeout, 10 min by default): each origin kept
      // alive holds a pool (~20 KB of heap: 15.8 MB for the 964 origins of a 1,000-feed round),
      // and a socket on the publisher's server.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 4_000,
    },
  });

  async function fetchFeed(req: FetchRequest, opts: { signal?: AbortSignal } = {}): Promise<FetchOutcome> {
    opts.signal?.throwIfAborted();
    const deadline = startDeadline(limits.timeoutMs, opts.signal);
    try {
      return await fetchWithin(req, deadline, opts.signal);
    } finally {
      deadline.dispose();
    }
  }

  async function fetchWithin(req: FetchRequest, deadline: Deadline, callerSignal: AbortSignal | undefined): Promise<FetchOutcome> {
    const started = now();
    const signal = deadline.signal;

    const redirects: RedirectHop[] = [];
    let current = req.url;

    const fail = (errorKind: FetchErrorKind, message: string, status: number | null = null, retryAfterSeconds: number | null = null): FetchFailed => ({
      kind: 'error',
      url: req.url,
      finalUrl: current,
      redirects,
      permanentRedirectTo: null,
      durationMs: now() - started,
      errorKind,
      status,
      message,
      retryAfterSeconds,
    });

    /** Turns a thrown error into an outcome; the caller's own abort is rethrown, not reported. */
    const failFromError = (err: unknown, status: number | null = null): FetchFailed => {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (deadline.timedOut) return fail('timeout', `no complete response within ${limits.timeoutMs} ms (total timeout)`, status);
      const c = classifyFetchError(err, limits);
      return fail(c.errorKind, c.message, status);
    };

    const first = checkScheme(current);
    if (first) return fail('blocked', first);

    const headers: Record<string, string> = {
      'user-agent': limits.userAgent,
      accept: ACCEPT,
      'accept-encoding': 'gzip, deflate, br',
    };
    // Validators come back from the database; one with a control character would make every poll fail.
    if (req.etag && isHeaderSafe(req.etag)) headers['if-none-match'] = req.etag;
    if (req.lastModified && isHeaderSafe(req.lastModified)) headers['if-modified-since'] = req.lastModified;

    const visited = new Set<string>([normaliseForLoop(current)]);
    let res: Response;
    for (;;) {
      try {
        res = await fetch(current, { dispatcher: agent, redirect: 'manual', signal, headers });
      } catch (err) {
        return failFromError(err);
      }
      if (!REDIRECT_STATUSES.has(res.status)) break;

      await discard(res);
      const location = res.headers.get('location');
      if (!location) return fail('redirect', `HTTP ${res.status} redirect without a Location header`, res.status);
      let next: string;
      try {
        next = new URL(location, current).href;
      } catch {
        return fail('redirect', `HTTP ${res.status} redirect to an invalid Location "${location.slice(0, 200)}"`, res.status);
      }
      redirects.push({ from: current, to: next, status: res.status });
      const badScheme = checkScheme(next);
      if (badScheme) return fail('blocked', `redirected to a refused URL: ${badScheme}`, res.status);
      const key = normaliseForLoop(next);
      if (visited.has(key)) return fail('redirect', `redirect loop: ${next} was already visited`, res.status);
      if (redirects.length > limits.maxRedirects) {
        return fail('redirect', `more than ${limits.maxRedirects} redirects (last to ${next})`, res.status);
      }
      visited.add(key);
      current = next;
    }

    const h = res.headers;
    const etag = h.get('etag');
    const lastModified = h.get('last-modified');
    const date = h.get('date');
    const freshForSeconds = parseFreshForSeconds(h.get('cache-control'), h.get('expires'), date, now());
    const common = {
      url: req.url,
      finalUrl: current,
      redirects,
      permanentRedirectTo:
        redirects.length > 0 && redirects.every((r) => PERMANENT_STATUSES.has(r.status)) ? current : null,
    };

    if (res.status === 304) {
      await discard(res);
      return { ...common, kind: 'not-modified', status: 304, etag, lastModified, freshForSeconds, durationMs: now() - started };
    }
    if (res.status < 200 || res.status > 299) {
      await discard(res);
      const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(h.get('retry-after'), date, now()) : null;
      const reason = res.statusText ? ` ${res.statusText}` : '';
      return fail('http', `the server answered HTTP ${res.status}${reason}`, res.status, retryAfter);
    }

    const declaredLength = Number(h.get('content-length') ?? NaN);
    if (Number.isFinite(declaredLength) && declaredLength > limits.maxBytes) {
      await discard(res);
      return fail('too-large', `Content-Length ${declaredLength} is over the ${limits.maxBytes} byte limit`, res.status);
    }

    let body: Buffer | 'too-large';
    try {
      body = await readCapped(res, limits.maxBytes);
    } catch (err) {
      return failFromError(err, res.status);
    }
    if (body === 'too-large') {
      return fail('too-large', `body larger than the ${limits.maxBytes} byte limit (after decompression)`, res.status);
    }

    const contentType = h.get('content-type');
    const { text } = decodeFeedBytes(body, contentType);
    return {
      ...common,
      kind: 'ok',
      status: res.status,
      etag,
      lastModified,
      contentType,
      text,
      bytes: body.byteLength,
      freshForSeconds,
      durationMs: now() - started,
    };
  }

  return {
    fetchFeed,
    async close() {
      await agent.destroy();
    },
  };
}

/** A refusal sentence for a URL we will not request, or null when it is fine. */
function checkScheme(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url.slice(0, 200)}" is not a valid URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `only http and https URLs are fetched, not ${u.protocol}`;
  if (u.username !== '' || u.password !== '') return 'URLs with a user name or password are not fetched';
  return null;
}

function isHeaderSafe(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

/** The fragment never reaches the server, so /a#x → /a is a loop too. */
function normaliseForLoop(url: string): string {
  const u = new URL(url);
  u.hash = '';
  return u.href;
}

/** Frees the connection without reading a body we do not want. */
async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already errored or closed: nothing left to free
  }
}

/**
 * Reads the decompressed body, stopping as soon as it passes the cap, so memory never holds more
 * than the cap plus one chunk and a gzip bomb is cut off after `maxBytes` of output.
 */
async function readCapped(res: Response, maxBytes: number): Promise<Buffer | 'too-large'> {
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return 'too-large';
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
