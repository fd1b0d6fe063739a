import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one process; a registry of its own so tests can create several apps. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    polls: new Counter({
      name: 'tributary_polls_total',
      help: 'Feed polls by outcome (ok, not_modified, error)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    fetchErrors: new Counter({
      name: 'tributary_fetch_errors_total',
      help: 'Feed fetch and parse errors by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    entriesIngested: new Counter({
      name: 'tributary_entries_ingested_total',
      help: 'Items stored, by effect (inserted, linked, updated)',
      labelNames: ['effect'] as const,
      registers: [registry],
    }),
    fetchDuration: new Histogram({
      name: 'tributary_fetch_duration_seconds',
      help: 'Time to fetch one feed (headers and body)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'tributary_http_request_duration_seconds',
      help: 'API request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    streamsOpen: new Gauge({
      name: 'tributary_streams_open',
      help: 'Open /api/stream connections',
      registers: [registry],
    }),
    streamEvents: new Counter({
      name: 'tributary_stream_events_total',
      help: 'Events written to /api/stream clients, by type (item, reset)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    streamsClosed: new Counter({
      name: 'tributary_streams_closed_total',
      help: '/api/stream connections ended or refused, by reason (client, slow, shutdown, limit, ip_limit)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
