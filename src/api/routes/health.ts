import type express from 'express';
import { readDb, type ApiDeps } from '../deps.ts';
import { databaseUnavailable, DATABASE_RETRY_AFTER_SECONDS, HttpProblem } from '../problem.ts';
import { replicaLag, type ReplicaLag } from '../../store/replica-lag.ts';

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
