import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { ApiDeps } from './deps.ts';
import { isDbUnavailable } from '../store/db.ts';
import { databaseUnavailable, HttpProblem, notFound } from './problem.ts';

export function sendProblem(res: Response, problem: HttpProblem): void {
  res.set(problem.headers).status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toBody()));
}

/** Request duration by route pattern (never the raw path, which would explode label cardinality). */
export function requestMetrics(deps: ApiDeps): RequestHandler {
  return (req, res, next) => {
    const end = deps.metrics.requestDuration.startTimer();
    res.on('finish', () => {
      const pattern = req.route?.path;
      const route = typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/** Per client IP; 0 turns it off. Health checks and scrapes are never limited. */
export function rateLimiter(perMinute: number, exempt: string[]): RequestHandler {
  if (perMinute <= 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => exempt.includes(req.path),
    handler: (_req, res) => sendProblem(res, new HttpProblem(429, 'Too Many Requests', `more than ${perMinute} requests per minute from this address`)),
  });
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
