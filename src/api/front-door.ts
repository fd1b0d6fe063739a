import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type express from 'express';
import type { Config } from '../config/env.ts';
import type { Answer } from './answer.ts';
import { COUNTED, type FixedHeaders, type ObserveRequest } from './middleware.ts';
import type { RateLimiter } from './rate-limit.ts';

/**
 * The front door: the few requests that are most of the traffic (health probes, feed readers and
 * dashboards polling fixed URLs, item reads) answered before Express sees them.
 *
 * Why: measured with `npm run bench` (bench/README.md), Express 5 alone costs ~200 µs of CPU per
 * request on the bench machine where a bare node:http answer of the same bytes costs ~30–40 µs
 * (its request/response prototype swap, router walk and finalhandler closures), so no amount of
 * tuning behind it brings /healthz or a 304 within 3× of the floor. Here those requests cost one
 * exact-URL map lookup, and the per-request work the middleware does is done with the same shared
 * pieces: the captured security headers, the rate limiter (counted once even when a request falls
 * through to Express), the request-duration metric under the route's pattern.
 *
 * Anything else, and anything a hot route cannot answer itself (a missing item, an error, a request
 * through a trusted proxy, where the client address and scheme come from X-Forwarded-* headers that
 * Express interprets), goes to Express unchanged, so the answers and headers are the same either way.
 */
export interface HotRoute {
  /** The metrics label (the Express route pattern of the same path). */
  route: string;
  /** Counted by the rate limiter (everything but health checks). */
  limited: boolean;
  /** The answer, or null to let Express answer (it will produce the error). */
  answer(req: IncomingMessage, ctx: { protocol: string }): Answer | null | Promise<Answer | null>;
}

/** Finds the hot route for a path and query (the query without `?`, '' when none). */
export type HotRoutes = (path: string, query: string) => HotRoute | undefined;

export interface FrontDoorDeps {
  config: Pick<Config, 'TRUST_PROXY'>;
  headers: FixedHeaders;
  limiter: RateLimiter | null;
  observe: ObserveRequest;
}

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * Puts the front door before the app's router. Express's app function calls `app.handle` for every
 * request (node:http's createServer(app) and app.listen alike), so wrapping it on this instance is
 * the one place every request passes.
 */
export function installFrontDoor(app: express.Express, deps: FrontDoorDeps, routes: HotRoutes): void {
  const target = app as unknown as { handle: ExpressHandle };
  const toExpress = target.handle.bind(app);
  const viaProxyHeaders = deps.config.TRUST_PROXY !== false;

  target.handle = (req, res, next) => {
    if (req.method !== 'GET') return toExpress(req, res, next);
    // Behind a trusted proxy the client address and scheme are Express's to work out.
    if (viaProxyHeaders && (req.headers['x-forwarded-for'] !== undefined || req.headers['x-forwarded-proto'] !== undefined)) {
      return toExpress(req, res, next);
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = routes(q < 0 ? url : url.slice(0, q), q < 0 ? '' : url.slice(q + 1));
    if (!route) return toExpress(req, res, next);

    const started = performance.now();
    let limitHeaders: [string, string][] = [];
    if (route.limited && deps.limiter) {
      const verdict = deps.limiter.take(req.socket.remoteAddress);
      // Express's limiter sends the 429 (problem+json) without counting the request again.
      (req as { [COUNTED]?: typeof verdict })[COUNTED] = verdict;
      if (!verdict.allowed) return toExpress(req, res, next);
      limitHeaders = verdict.headers;
    }
    const secure = (req.socket as TLSSocket).encrypted === true;
    const write = (answer: Answer | null) => {
      if (!answer) return toExpress(req, res, next);
      const fixed = secure ? deps.headers.secure : deps.headers.plain;
      // One flat list for writeHead: the headers go out without a setHeader call each.
      const flat: (string | number | readonly string[])[] = [];
      for (const [name, value] of fixed) flat.push(name, value);
      for (const [name, value] of limitHeaders) flat.push(name, value);
      for (const [name, value] of answer.headers) flat.push(name, value);
      res.writeHead(answer.status, flat as string[]);
      res.end(answer.body);
      // Until the response is handed to the socket (Express's middleware waits for 'finish'; a
      // listener per request is what this path avoids, and the difference is the socket's flush).
      deps.observe('GET', route.route, answer.status, (performance.now() - started) / 1000);
    };
    let answer: Answer | null | Promise<Answer | null>;
    try {
      answer = route.answer(req, { protocol: secure ? 'https' : 'http' });
    } catch {
      // Express runs the route again and turns the error into its problem+json answer.
      return toExpress(req, res, next);
    }
    if (answer instanceof Promise) answer.then(write, () => toExpress(req, res, next));
    else write(answer);
  };
}
