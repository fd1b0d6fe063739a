import express from 'express';
import type { ApiDeps } from './deps.ts';
import { bodiesOnly, errorHandler, precomputedHeaders, rateLimiter, requestMetrics, unknownRoute } from './middleware.ts';
import { registerFeedRoutes } from './routes/feeds-admin.ts';
import { registerMergedFeedRoutes } from './routes/merged-feeds.ts';
import { registerItemRoutes } from './routes/items.ts';
import { registerWebSubRoutes } from './routes/websub.ts';
import { registerStoryRoutes } from './routes/stories.ts';
import { registerHealthRoutes, UNLIMITED_PATHS } from './routes/health.ts';
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
  app.use(precomputedHeaders(securityHeaders(deps.config)));
  app.use(requestMetrics(deps));
  app.use(rateLimiter(deps.config.RATE_LIMIT_PER_MINUTE, UNLIMITED_PATHS));
  // WebSub deliveries are signed raw bytes: their route reads the body itself, before any parser.
  registerWebSubRoutes(app, deps);
  app.use(bodiesOnly(express.json({ limit: '100kb' })));

  registerHealthRoutes(app, deps);
  registerReaderRoutes(app, deps);
  registerMergedFeedRoutes(app, deps);
  registerItemRoutes(app, deps);
  registerStoryRoutes(app, deps);
  registerFeedRoutes(app, deps);
  app.get('/api/openapi.json', (req, res) => {
    res.json(openApiDocument(publicBase(req, deps.config)));
  });

  app.use(unknownRoute);
  app.use(errorHandler(deps));
  return app;
}
