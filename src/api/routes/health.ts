import type express from 'express';
import type { ApiDeps } from '../deps.ts';
import { databaseUnavailable } from '../problem.ts';
import { bodyHeaders, sendAnswer, type Answer } from '../answer.ts';

const READY_TIMEOUT_MS = 2000;

export const UNLIMITED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

const healthy = Buffer.from(JSON.stringify({ status: 'ok' }));
/** Probed constantly: the answer is fixed bytes (also answered by the front door). */
export const HEALTHY: Answer = {
  status: 200,
  headers: [['Cache-Control', 'no-store'], ...bodyHeaders('application/json; charset=utf-8', healthy)],
  body: healthy,
};

export function registerHealthRoutes(app: express.Express, deps: ApiDeps): void {
  app.get('/healthz', (_req, res) => sendAnswer(res, HEALTHY));

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
