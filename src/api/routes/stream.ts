import type express from 'express';
import type { ApiDeps } from '../deps.ts';
import { parseStreamQuery } from '../params.ts';
import { HttpProblem } from '../problem.ts';
import { StreamHub } from '../stream/stream-hub.ts';

/** The hub `serve` would build from the configuration (run.ts builds it itself, to close it on SIGTERM). */
export function createStreamHub(deps: Pick<ApiDeps, 'db' | 'config' | 'logger' | 'metrics'>): StreamHub {
  return new StreamHub({
    // The primary, never the read replica: the horizon is the primary's locks, and a replica may not
    // have the rows yet when their NOTIFY arrives (the cursor would pass them: a gap).
    db: deps.db,
    logger: deps.logger,
    metrics: deps.metrics,
    listenUrl: deps.config.DATABASE_DIRECT_URL ?? deps.config.DATABASE_URL,
    maxClients: deps.config.STREAM_MAX_CLIENTS,
    maxPerIp: deps.config.STREAM_MAX_PER_IP,
  });
}

/**
 * A Last-Event-ID we gave out is a change sequence. Anything else cannot be resumed from: it is
 * answered like an id beyond the database's (a reset), not refused, since a refusal would stop an
 * EventSource from reconnecting at all.
 */
function lastEventId(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const v = header.trim();
  return /^\d{1,15}$/.test(v) ? Number(v) : Number.MAX_SAFE_INTEGER;
}

/** GET /api/stream: new and updated entries as Server-Sent Events (see src/api/stream/stream-hub.ts). */
export function registerStreamRoutes(app: express.Express, deps: ApiDeps): void {
  const hub = deps.streams ?? createStreamHub(deps);
  app.get('/api/stream', async (req, res) => {
    const filter = parseStreamQuery(req.query);
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const admission = hub.admit(ip);
    if (admission === 'full') {
      deps.metrics.streamsClosed.inc({ reason: 'limit' });
      throw new HttpProblem(503, 'Service Unavailable', `this server has its maximum of ${deps.config.STREAM_MAX_CLIENTS} open streams (STREAM_MAX_CLIENTS); try again later`, {}, { 'Retry-After': '30' });
    }
    if (admission === 'ip') {
      deps.metrics.streamsClosed.inc({ reason: 'ip_limit' });
      throw new HttpProblem(429, 'Too Many Requests', `this address has its maximum of ${deps.config.STREAM_MAX_PER_IP} open streams (STREAM_MAX_PER_IP)`, {}, { 'Retry-After': '30' });
    }
    // Equal filters share one match test per entry in the hub's reads.
    const key = JSON.stringify([filter.feedIds ?? null, filter.region?.toLowerCase() ?? null, filter.q ?? null, filter.lang ?? null, filter.since?.toISOString() ?? null]);
    await hub.open(res, filter, key, ip, lastEventId(req.get('last-event-id')));
  });
}
