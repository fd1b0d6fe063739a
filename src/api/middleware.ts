import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiDeps } from './deps.ts';
import { RateLimiter } from './rate-limit.ts';
import { isDbUnavailable } from '../store/db.ts';
import { databaseUnavailable, HttpProblem, notFound } from './problem.ts';

export function sendProblem(res: Response, problem: HttpProblem): void {
  res.set(problem.headers).status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toBody()));
}

/** Records one answered request: method, route pattern, status, seconds. */
export type ObserveRequest = (method: string, route: string, status: number, seconds: number) => void;

/**
 * Request duration by route pattern (never the raw path, which would explode label cardinality).
 * The histogram child of each (method, route, status) is looked up once and kept, so a request
 * costs one map lookup and one observe instead of validating and hashing its labels. Shared by
 * the Express middleware and the front door.
 */
export function requestObserver(deps: Pick<ApiDeps, 'metrics'>): ObserveRequest {
  type Child = ReturnType<typeof deps.metrics.requestDuration.labels>;
  const children = new Map<string, Child>();
  return (method, route, status, seconds) => {
    const key = `${method} ${status} ${route}`;
    let child = children.get(key);
    if (!child) {
      child = deps.metrics.requestDuration.labels({ method, route, status: String(status) });
      children.set(key, child);
    }
    child.observe(seconds);
  };
}

export function requestMetrics(observe: ObserveRequest): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const pattern = req.route?.path;
      const route = typeof pattern === 'string' ? (req.baseUrl ? `${req.baseUrl}${pattern}` : pattern) : 'unmatched';
      observe(req.method, route, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}

/** Headers replayed on every response, for requests over plain HTTP and over HTTPS. */
export interface FixedHeaders {
  plain: [string, string | number | readonly string[]][];
  secure: [string, string | number | readonly string[]][];
}

/**
 * A header-only middleware (helmet) run once per scheme and recorded: its headers do not depend
 * on the request beyond whether it came over HTTPS (HSTS and upgrade-insecure-requests may be
 * sent for HTTPS only), so computing them per request is wasted work. `secure` must be what the
 * wrapped middleware itself looks at (req.secure).
 */
export function captureHeaders(headerMiddleware: RequestHandler): FixedHeaders {
  const capture = (secure: boolean): [string, string | number | readonly string[]][] => {
    const headers = new Map<string, string | number | readonly string[]>();
    const fakeReq = { secure, protocol: secure ? 'https' : 'http', headers: {}, method: 'GET', url: '/', get: () => undefined };
    const fakeRes = {
      setHeader(name: string, value: string | number | readonly string[]) {
        headers.set(name, value);
        return fakeRes;
      },
      removeHeader(name: string) {
        headers.delete(name);
      },
      getHeader: (name: string) => headers.get(name),
    };
    let passed = false;
    let failed: unknown;
    headerMiddleware(fakeReq as unknown as Request, fakeRes as unknown as Response, (err?: unknown) => {
      passed = err === undefined;
      failed = err;
    });
    if (!passed) throw new Error(`header middleware did not pass synchronously: ${String(failed)}`);
    return [...headers];
  };
  return { plain: capture(false), secure: capture(true) };
}

/** Replays captured headers (captureHeaders) on every response. */
export function precomputedHeaders(headers: FixedHeaders | RequestHandler): RequestHandler {
  const { plain, secure } = typeof headers === 'function' ? captureHeaders(headers) : headers;
  return (req, res, next) => {
    for (const [name, value] of req.secure ? secure : plain) res.setHeader(name, value);
    next();
  };
}

/** Request bodies are parsed only for methods that carry one; reads skip the parser entirely. */
export function bodiesOnly(parser: RequestHandler): RequestHandler {
  return (req, res, next) => (req.method === 'GET' || req.method === 'HEAD' ? next() : parser(req, res, next));
}

/** The limiter's verdict on a request the front door already counted, so Express does not count it again. */
export const COUNTED = Symbol('rate limit taken');
type Counted = { [COUNTED]?: ReturnType<RateLimiter['take']> };

/** Per client IP (RateLimiter); null turns it off. Health checks and scrapes are never limited. */
export function rateLimiter(limiter: RateLimiter | null, exempt: ReadonlySet<string>): RequestHandler {
  if (!limiter) return (_req, _res, next) => next();
  return (req, res, next) => {
    if (exempt.has(req.path)) return next();
    const verdict = (req as Counted)[COUNTED] ?? limiter.take(req.ip);
    for (const [name, value] of verdict.headers) res.setHeader(name, value);
    if (verdict.allowed) return next();
    res.setHeader('Retry-After', String(verdict.retryAfterS));
    sendProblem(res, new HttpProblem(429, 'Too Many Requests', `more than ${limiter.perMinute} requests per minute from this address`));
  };
}

export const unknownRoute: RequestHandler = (req, _res, next) => next(notFound(`${req.method} ${req.path}`));

/** Last in the chain: problems as problem+json, body-parser errors as 4xx, database down 503, anything else a logged 500. */
export function errorHandler(deps: ApiDeps): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      deps.logger.error({ err, path: req.path }, 'error after response started');
      res.end();
      return;
    }
    if (err instanceof HttpProblem) return sendProblem(res, err);
    // Server restarting or unreachable: a temporary condition the client can retry, not a bug.
    if (isDbUnavailable(err)) return sendProblem(res, databaseUnavailable());
    const e = err as { status?: unknown; type?: unknown; expose?: unknown; message?: unknown };
    if (e.type === 'entity.parse.failed') {
      return sendProblem(res, new HttpProblem(400, 'Bad Request', 'request body is not valid JSON', { errors: [{ parameter: 'body', reason: 'malformed JSON' }] }));
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      const title = e.status === 413 ? 'Content Too Large' : e.status === 415 ? 'Unsupported Media Type' : 'Bad Request';
      return sendProblem(res, new HttpProblem(e.status, title, e.expose === true && typeof e.message === 'string' ? e.message : undefined));
    }
    deps.logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
    sendProblem(res, new HttpProblem(500, 'Internal Server Error', 'unexpected error; it has been logged'));
  };
}
