import express from 'express';
import type { ApiDeps } from './deps.ts';
import { bodiesOnly, captureHeaders, errorHandler, precomputedHeaders, rateLimiter, requestMetrics, requestObserver, unknownRoute } from './middleware.ts';
import { registerFeedRoutes } from './routes/feeds-admin.ts';
import { mergedFeeds, registerMergedFeedRoutes, UNFILTERED } from './routes/merged-feeds.ts';
import { itemAnswers, registerItemRoutes } from './routes/items.ts';
import { registerWebSubRoutes } from './routes/websub.ts';
import { registerStoryRoutes } from './routes/stories.ts';
import { registerStreamRoutes } from './routes/stream.ts';
import { HEALTHY, registerHealthRoutes, UNLIMITED_PATHS } from './routes/health.ts';
import { installFrontDoor, type HotRoute, type HotRoutes } from './front-door.ts';
import { RateLimiter } from './rate-limit.ts';
import { parseId } from './params.ts';
import { baseFor } from './public-url.ts';
import { registerReaderRoutes } from './routes/reader.ts';
import { openApiDocument } from './openapi.ts';
import { publicBase } from './public-url.ts';
import { securityHeaders } from './security-headers.ts';

/** The HTTP application: middleware in a fixed order, then the routes, then 404 and error handling. */
export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Flat query values only (string or string[]); nested `a[b]` keys stay literal and are refused by params.ts.
  app.set('query parser', 'simple');
  // No 'json escape': helmet sends X-Content-Type-Options: nosniff, so a JSON body is never read as
  // HTML, and escaping <, > and & in every content_html cost more than the rest of the request.

  // X-Forwarded-* (req.secure, req.protocol, req.ip) are believed only from these proxies.
  app.set('trust proxy', deps.config.TRUST_PROXY);
  // Computed once per scheme (plain HTTP and HTTPS) and replayed, not built per request.
  const headers = captureHeaders(securityHeaders(deps.config));
  const observe = requestObserver(deps);
  const limiter = deps.config.RATE_LIMIT_PER_MINUTE > 0 ? new RateLimiter(deps.config.RATE_LIMIT_PER_MINUTE) : null;
  app.use(precomputedHeaders(headers));
  app.use(requestMetrics(observe));
  app.use(rateLimiter(limiter, UNLIMITED_PATHS));
  // WebSub deliveries are signed raw bytes: their route reads the body itself, before any parser.
  registerWebSubRoutes(app, deps);
  app.use(bodiesOnly(express.json({ limit: '100kb' })));

  const feeds = mergedFeeds(deps);
  const items = itemAnswers(deps);
  registerHealthRoutes(app, deps);
  registerReaderRoutes(app, deps);
  registerMergedFeedRoutes(app, deps, feeds);
  registerItemRoutes(app, deps, items);
  registerStoryRoutes(app, deps);
  registerStreamRoutes(app, deps);
  registerFeedRoutes(app, deps);
  app.get('/api/openapi.json', (req, res) => {
    res.json(openApiDocument(publicBase(req, deps.config)));
  });

  app.use(unknownRoute);
  app.use(errorHandler(deps));

  // The same answers for the hottest exact URLs, before Express (front-door.ts says why). The route
  // objects are built once: a request only looks one up.
  const health: HotRoute = { route: '/healthz', limited: false, answer: () => HEALTHY };
  const feedRoutes = new Map<string, HotRoute>(
    [...feeds.unfilteredPaths].map(([path, format]) => [
      path,
      {
        route: path,
        limited: true,
        answer: (req, { protocol }) =>
          feeds.answer(format, UNFILTERED, baseFor(protocol, req.headers.host, deps.config), {
            ifNoneMatch: req.headers['if-none-match'],
            ifModifiedSince: req.headers['if-modified-since'],
          }),
      },
    ]),
  );
  const ITEM_PATH = /^\/api\/items\/(\d{1,16})$/;
  const item: HotRoute = {
    route: '/api/items/:id',
    limited: true,
    answer: (req) => items.item(parseId(ITEM_PATH.exec(req.url!.split('?', 1)[0]!)?.[1]), req.headers['if-none-match']),
  };
  const firstPages = new Map<string, HotRoute>();
  const hot: HotRoutes = (path, query) => {
    if (path === '/healthz') return health;
    if (query === '') {
      const feed = feedRoutes.get(path);
      if (feed) return feed;
      if (path.startsWith('/api/items/') && ITEM_PATH.test(path)) return item;
    }
    if (path === '/api/items') {
      let route = firstPages.get(query);
      if (!route) {
        const p = items.firstPageParams(query);
        if (!p) return undefined;
        route = { route: '/api/items', limited: true, answer: (req) => items.page(p, req.headers['if-none-match']) };
        // Bounded like firstPageParams: only the valid `limit=N` spellings get here.
        firstPages.set(query, route);
      }
      return route;
    }
    return undefined;
  };
  installFrontDoor(app, { config: deps.config, headers, limiter, observe }, hot);
  return app;
}
