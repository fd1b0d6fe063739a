import type express from 'express';
import type { ApiDeps } from '../deps.ts';
import { databaseUnavailable } from '../problem.ts';

const READY_TIMEOUT_MS = 2000;

export const UNLIMITED_PATHS = ['/healthz', '/readyz', '/metrics'];

export function registerHealthRoutes(app: express.Express, deps: ApiDeps): void {
  // Probed constantly: the answer is fixed bytes, written without Express's serialise-and-ETag path.
  const healthy = Buffer.from(JSON.stringify({ status: 'ok' }));
  app.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', healthy.length);
    res.end(healthy);
  });

  app.get('/readyz', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`database did not answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([deps.db.query('select 1'), timeout]);
    } catch (err) {
      deps.logger.warn({ err }, 'readiness check failed');
      throw databaseUnavailable();
    } finally {
      clearTimeout(timer);
    }
    res.set('Cache-Control', 'no-store').json({ status: 'ready' });
  });

  app.get('/metrics', async (_req, res) => {
    const body = await deps.metrics.registry.metrics();
    res.set('Cache-Control', 'no-store').type(deps.metrics.registry.contentType).send(body);
  });
}
