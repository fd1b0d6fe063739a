/**
 * The polite, safe feed fetcher: conditional GET, compression, a total time limit, a size cap on
 * the decompressed body, redirects followed by hand, and every connection through the SSRF guard.
 * Whatever a remote server does ends as a FetchOutcome; only an abort by the caller throws (so a
 * shutdown is not recorded as a feed failure).
 */
import { STATUS_CODES } from 'node:http';
import { request, type Agent, type Dispatcher } from 'undici';
import { createGuardedAgent, type LookupAll } from './address-guard.ts';
import { parseFreshForSeconds, parseRetryAfter } from './cache-headers.ts';
import { decodeFeedBytes } from './charset.ts';
import { readBodyCapped } from './read-body.ts';
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
    // undici's request(), not fetch(): see read-body.ts. Redirects are followed by hand either way.
    let res: Dispatcher.ResponseData;
    let status: number;
    for (;;) {
      try {
        res = await request(current, { dispatcher: agent, method: 'GET', signal, headers });
      } catch (err) {
        return failFromError(err);
      }
      status = res.statusCode;
      if (!REDIRECT_STATUSES.has(status)) break;

      await discard(res);
      const location = header(res, 'location');
      if (!location) return fail('redirect', `HTTP ${status} redirect without a Location header`, status);
      let next: string;
      try {
        next = new URL(location, current).href;
      } catch {
        return fail('redirect', `HTTP ${status} redirect to an invalid Location "${location.slice(0, 200)}"`, status);
      }
      redirects.push({ from: current, to: next, status });
      const badScheme = checkScheme(next);
      if (badScheme) return fail('blocked', `redirected to a refused URL: ${badScheme}`, status);
      const key = normaliseForLoop(next);
      if (visited.has(key)) return fail('redirect', `redirect loop: ${next} was already visited`, status);
      if (redirects.length > limits.maxRedirects) {
        return fail('redirect', `more than ${limits.maxRedirects} redirects (last to ${next})`, status);
      }
      visited.add(key);
      current = next;
    }

    const h = (name: string) => header(res, name);
    const etag = h('etag');
    const lastModified = h('last-modified');
    const date = h('date');
    const freshForSeconds = parseFreshForSeconds(h('cache-control'), h('expires'), date, now());
    const common = {
      url: req.url,
      finalUrl: current,
      redirects,
      permanentRedirectTo:
        redirects.length > 0 && redirects.every((r) => PERMANENT_STATUSES.has(r.status)) ? current : null,
    };

    if (status === 304) {
      await discard(res);
      return { ...common, kind: 'not-modified', status: 304, etag, lastModified, freshForSeconds, durationMs: now() - started };
    }
    if (status < 200 || status > 299) {
      await discard(res);
      const retryAfter = status === 429 || status === 503 ? parseRetryAfter(h('retry-after'), date, now()) : null;
      // HTTP/1.1 reason phrases are optional and undici's request() does not keep them: the standard one.
      const reason = STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : '';
      return fail('http', `the server answered HTTP ${status}${reason}`, status, retryAfter);
    }

    const declaredLength = Number(h('content-length') ?? NaN);
    if (Number.isFinite(declaredLength) && declaredLength > limits.maxBytes) {
      await discard(res);
      return fail('too-large', `Content-Length ${declaredLength} is over the ${limits.maxBytes} byte limit`, status);
    }

    let body: Buffer | 'too-large';
    try {
      body = await readBodyCapped(res.body, h('content-encoding'), limits.maxBytes);
    } catch (err) {
      res.body.destroy();
      return failFromError(err, status);
    }
    if (body === 'too-large') {
      res.body.destroy();
      return fail('too-large', `body larger than the ${limits.maxBytes} byte limit (after decompression)`, status);
    }

    const contentType = h('content-type');
    const { text } = decodeFeedBytes(body, contentType);
    return {
      ...common,
      kind: 'ok',
      status,
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

/** Frees the connection without keeping a body we do not want (a small one is read so the connection can be reused). */
async function discard(res: Dispatcher.ResponseData): Promise<void> {
  try {
    await res.body.dump();
  } catch {
    // already errored or closed: nothing left to free
  }
}

/** One response header as a string (repeated headers joined as HTTP folds them), or null. */
function header(res: Dispatcher.ResponseData, name: string): string | null {
  const v = res.headers[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}
