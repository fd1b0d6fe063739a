import { loadConfig } from '../../src/config/env.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import type { Db } from '../../src/store/db.ts';

/** A runtime on a test's own database: loopback allowed, quiet logs, nothing too old to ingest. */
export async function testRuntime(db: Db, env: Record<string, string> = {}): Promise<Runtime> {
  const config = loadConfig({
    ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'silent',
    RETENTION_DAYS: '36500',
    FETCH_HOST_SPACING_MS: '0',
    FETCH_PER_HOST: '8',
    FETCH_TIMEOUT_MS: '5000',
    FETCH_HEADERS_TIMEOUT_MS: '3000',
    ...env,
  });
  return createRuntime(config, { db, logger: silentLogger, migrate: false });
}
