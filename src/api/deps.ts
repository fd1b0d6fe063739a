import type { Db } from '../store/db.ts';
import type { Config } from '../config/env.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { SubscribeDeps } from '../subscribe/subscribe.ts';
import type { StreamHub } from './stream/stream-hub.ts';
import type { ParsedFeed } from '../parse/types.ts';
import type { HubPublisher } from '../websub/publisher.ts';
import type { Subscriber } from '../websub/subscriber.ts';

/** Everything the HTTP layer needs, passed in so tests build an app on their own database. */
export interface ApiDeps {
  /** The primary: writes and admin reads. */
  db: Db;
  /**
   * DATABASE_READ_URL's replica for the read-only routes (merged feeds, items, stories, reader
   * pages); unset means `db`. A response reads from one of the two only, never both, so the
   * version in its ETag or cursor describes the rows it carries.
   */
  readDb?: Db;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** Polls one feed now (POST /api/feeds/:id/refresh); resolves with a summary to show. */
  refreshFeed(feedId: number): Promise<unknown>;
  /** Subscribing (POST /api/feeds, PATCH url, OPML import): its fetcher, address policy and the shutdown signal. */
  subscribe: SubscribeDeps;
  /** The live stream's hub; built from the configuration when absent (run.ts passes one to close it on SIGTERM). */
  streams?: StreamHub;
  /** WebSub: ending push subscriptions of removed/disabled feeds, parsing deliveries, pinging our hub. */
  websub?: {
    subscriber?: Subscriber | undefined;
    publisher?: HubPublisher | null | undefined;
    parse?: (text: string, opts: { baseUrl: string | null }) => Promise<ParsedFeed>;
  };
}

/** The database the read-only routes read from: the replica when one is configured. */
export function readDb(deps: ApiDeps): Db {
  return deps.readDb ?? deps.db;
}
