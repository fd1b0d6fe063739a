import type express from 'express';
import { readDb, type ApiDeps } from '../deps.ts';
import { databaseUnavailable, DATABASE_RETRY_AFTER_SECONDS, HttpProblem } from '../problem.ts';
import { replicaLag, type ReplicaLag } from '../../store/replica-lag.ts';
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
    let lag: ReplicaLag | null = null;
    try {
      const replica = readDb(deps);
      // With a replica, its lag is the check (both databases answer); without, a plain round trip.
      if (replica === deps.db) await Promise.race([deps.db.query('select 1'), timeout]);
      else lag = await Promise.race([replicaLag(deps.db, replica), timeout]);
    } catch (err) {
      deps.logger.warn({ err }, 'readiness check failed');
      throw databaseUnavailable();
    } finally {
      clearTimeout(timer);
    }
    const replica = lag && { lag_seconds: Math.round(lag.seconds * 1000) / 1000, lag_bytes: lag.bytes };
    if (lag && lag.seconds > deps.config.READ_REPLICA_MAX_LAG) {
      throw new HttpProblem(503, 'Service Unavailable', `the read replica is ${replica!.lag_seconds} s behind (READ_REPLICA_MAX_LAG is ${deps.config.READ_REPLICA_MAX_LAG} s)`, { replica }, {
        'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
      });
    }
    res.set('Cache-Control', 'no-store').json(replica ? { status: 'ready', replica } : { status: 'ready' });
  });

  app.get('/metrics', async (_req, res) => {
    const body = await deps.metrics.registry.metrics();
    res.set('Cache-Control', 'no-store').type(deps.metrics.registry.contentType).send(body);
  });
}
