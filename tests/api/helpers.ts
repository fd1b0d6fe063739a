import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../src/api/app.ts';
import type { ApiDeps } from '../../src/api/deps.ts';
import { loadConfig, type Config } from '../../src/config/env.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { Db } from '../../src/store/db.ts';
import { createFetcher } from '../../src/fetch/fetcher.ts';
import { fetchLimits } from '../../src/runtime.ts';
import { insertFeed, type NewFeed } from '../../src/store/feeds.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { commitChange } from '../../src/store/change-seq.ts';
import { emptyItem } from '../helpers/items.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';

export interface RunningApp {
  base: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** The real app on 127.0.0.1 (or `host`), on a port of its own. */
export async function startApp(db: Db, env: Record<string, string> = {}, host = '127.0.0.1'): Promise<RunningApp> {
  const config: Config = loadConfig({ RATE_LIMIT_PER_MINUTE: '0', ...env });
  const deps: ApiDeps = {
    db,
    config,
    logger: silentLogger,
    metrics: createMetrics(),
    refreshFeed: async () => ({}),
    subscribe: { db, fetcher: createFetcher(fetchLimits(config)), allow: config.ALLOW_PRIVATE_NETWORKS },
  };
  const server: Server = createApp(deps).listen(0, host);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    deps,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function addFeed(db: Db, feed: NewFeed & { title?: string }): Promise<{ id: number; language: string | null }> {
  const row = await insertFeed(db, feed);
  if (!row) throw new Error(`feed ${feed.url} exists`);
  return { id: row.id, language: row.language };
}

export function item(fields: Partial<NormalisedItem> & { url: string | null }): NormalisedItem {
  return emptyItem({ guid: fields.url, ...fields });
}

export async function ingest(
  db: Db,
  feed: { id: number; language: string | null },
  items: NormalisedItem[],
  now = new Date(),
): Promise<void> {
  // Through commitChange, as the poller's recordPolledItems writes: the change sequence moves after commit.
  await commitChange(db, (tx) => ingestItems(tx, feed, items, { now, retentionDays: 0 }), () => true);
}

/** `n` items of one feed, one minute apart, newest first. */
export function series(prefix: string, n: number, newest: Date): NormalisedItem[] {
  return Array.from({ length: n }, (_, i) =>
    item({
      url: `https://news.example/${prefix}/${i}`,
      title: `${prefix} story ${i}`,
      summary: `Summary of ${prefix} story ${i}`,
      published: new Date(newest.getTime() - i * 60_000).toISOString(),
    }),
  );
}
