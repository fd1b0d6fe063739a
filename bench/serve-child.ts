import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/env.ts';
import { openDb } from '../src/store/db.ts';
import { createApp } from '../src/api/app.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { createFetcher } from '../src/fetch/fetcher.ts';
import { fetchLimits } from '../src/runtime.ts';
import { emitResult, peakRssKb } from './child.ts';

/**
 * The real API alone in this process (so the load generator's CPU is not counted with it), on
 * 127.0.0.1:0. Prints {"port": n} once listening; on SIGTERM prints its CPU and peak RSS and exits.
 */

// Rate limiting stays on (its middleware runs on every request, as in production) with a limit the
// load generator's single address cannot reach; 0 would switch the middleware off.
const config = loadConfig({ ...process.env, RATE_LIMIT_PER_MINUTE: '1000000' });
const db = await openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: config.DB_POOL_SIZE });
const app = createApp({
  db,
  config,
  logger: silentLogger,
  metrics: createMetrics(),
  refreshFeed: async () => null,
  subscribe: { db, fetcher: createFetcher(fetchLimits(config)), allow: config.ALLOW_PRIVATE_NETWORKS },
});
const server = app.listen(0, '127.0.0.1', () => {
  emitResult({ port: (server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  const ru = process.resourceUsage();
  void db.close().finally(() => {
    emitResult({ cpuSeconds: (ru.userCPUTime + ru.systemCPUTime) / 1e6, peakRssMb: peakRssKb(ru.maxRSS) / 1024 });
    process.exit(0);
  });
});
