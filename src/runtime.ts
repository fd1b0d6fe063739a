import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Config } from './config/env.ts';
import { openDb, type Db } from './store/db.ts';
import { migrateDatabase } from './store/migrate.ts';
import { createFetcher, type Fetcher } from './fetch/fetcher.ts';
import type { FetchLimits } from './fetch/types.ts';
import { parseFeed } from './parse/index.ts';
import { createParsePool } from './parse/parse-pool.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { HostGate } from './worker/host-gate.ts';
import type { PollDeps } from './worker/poll-feed.ts';
import type { PollSettings } from './worker/poll-run.ts';
import { USER_AGENT } from './version.ts';
import { createHubClient } from './websub/hub-client.ts';
import { createPublisher, type HubPublisher } from './websub/publisher.ts';
import { createSubscriber, type Subscriber } from './websub/subscriber.ts';
import { boundHeapGrowth } from './heap-growth.ts';

/**
 * The process-wide pieces every command shares, built from the configuration in one place. It sits
 * above src/worker (which it wires up) and below src/cli; nothing it wires imports it back.
 */
export interface Runtime {
  config: Config;
  db: Db;
  /** DATABASE_READ_URL's replica for the API's read-only routes; `db` when unset. */
  readDb: Db;
  fetcher: Fetcher;
  logger: Logger;
  metrics: Metrics;
  pollDeps: PollDeps;
  pollSettings: PollSettings;
  /** WebSub: push subscriptions at publishers' hubs, and pings to WEBSUB_HUB (null without one). */
  websub: { subscriber: Subscriber; publisher: HubPublisher | null };
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Migrate at start (default true). */
  migrate?: boolean;
  /** Use this database instead of opening one from the configuration (tests; closed by the caller). */
  db?: Db;
  /** The API will serve: open DATABASE_READ_URL when it is set (workers and one-shot commands never read from it). */
  readReplica?: boolean;
}

export function fetchLimits(config: Config): FetchLimits {
  return {
    timeoutMs: config.FETCH_TIMEOUT_MS,
    headersTimeoutMs: config.FETCH_HEADERS_TIMEOUT_MS,
    maxBytes: config.FETCH_MAX_BYTES,
    maxRedirects: config.FETCH_MAX_REDIRECTS,
    allowPrivate: config.ALLOW_PRIVATE_NETWORKS,
    userAgent: USER_AGENT,
  };
}

export async function createRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  boundHeapGrowth();
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const ownDb = !opts.db;
  const db = opts.db ?? await openDb({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DB_POOL_SIZE,
    onConnectionLost: (err) => logger.warn({ err: err.message }, 'database connection lost; will reconnect'),
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT * 1000,
    onWaiting: (err) =>
      logger.warn({ err: err.message, timeoutSeconds: config.DB_CONNECT_TIMEOUT }, 'database not reachable yet; retrying (DB_CONNECT_TIMEOUT)'),
  });
  // Opened after the primary; a replica that stays unreachable for DB_CONNECT_TIMEOUT fails the start too.
  const readDb = ownDb && opts.readReplica && config.DATABASE_READ_URL
    ? await openDb({
      databaseUrl: config.DATABASE_READ_URL,
      poolSize: config.DB_POOL_SIZE,
      onConnectionLost: (err) => logger.warn({ err: err.message }, 'read replica connection lost; will reconnect'),
      connectTimeoutMs: config.DB_CONNECT_TIMEOUT * 1000,
    }).catch(async (err: unknown) => {
      await db.close();
      // Named, so the one-line CLI error does not blame DATABASE_URL.
      throw new Error(`the read replica (DATABASE_READ_URL) cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
    })
    : db;
  if (opts.migrate !== false) {
    const m = await migrateDatabase(db, config.DATABASE_DIRECT_URL, config.DB_CONNECT_TIMEOUT * 1000);
    if (m.applied.length > 0) logger.info({ applied: m.applied }, 'database migrated');
  }
  const fetcher = createFetcher(fetchLimits(config));
  const metrics = createMetrics();
  const hubClient = createHubClient({ allow: config.ALLOW_PRIVATE_NETWORKS, timeoutMs: config.FETCH_TIMEOUT_MS, userAgent: USER_AGENT });
  const subscriber = createSubscriber({
    db, client: hubClient, logger, publicUrl: config.PUBLIC_URL, leaseSeconds: config.WEBSUB_LEASE, pollMaxSeconds: config.POLL_MAX_INTERVAL,
  });
  const publisher = config.WEBSUB_HUB && config.PUBLIC_URL
    ? createPublisher({ db, hub: config.WEBSUB_HUB, publicUrl: config.PUBLIC_URL, client: hubClient, logger, intervalSeconds: config.WEBSUB_PING_INTERVAL })
    : null;
  const pool = config.PARSE_THREADS > 0 ? createParsePool(config.PARSE_THREADS) : null;
  const pollDeps: PollDeps = {
    db,
    fetcher,
    parse: pool ? pool.parse : parseFeed,
    gate: new HostGate({ perHost: config.FETCH_PER_HOST, spacingMs: config.FETCH_HOST_SPACING_MS }),
    logger,
    metrics,
    owner: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    bounds: { minSeconds: config.POLL_MIN_INTERVAL, maxSeconds: config.POLL_MAX_INTERVAL },
    giveUpDays: config.POLL_GIVE_UP_DAYS,
    retentionDays: config.RETENTION_DAYS,
    storyWindowSeconds: config.STORY_WINDOW,
    now: () => new Date(),
    random: Math.random,
    afterPoll: ({ feed, document, stored }) => {
      if (stored && stored.inserted + stored.linked + stored.updated > 0) publisher?.changed([feed.region]);
      if (subscriber.enabled) void subscriber.afterPoll(feed.id, document === null ? null : document.websub);
    },
  };
  return {
    config,
    db,
    readDb,
    fetcher,
    logger,
    metrics,
    pollDeps,
    pollSettings: { concurrency: config.FETCH_CONCURRENCY, batchSize: config.POLL_BATCH_SIZE, leaseSeconds: config.LEASE_SECONDS },
    websub: { subscriber, publisher },
    async close() {
      await subscriber.settle();
      await publisher?.close();
      await hubClient.close();
      await fetcher.close();
      await pool?.close();
      if (readDb !== db) await readDb.close();
      if (ownDb) await db.close();
      logger.flush();
    },
  };
}
