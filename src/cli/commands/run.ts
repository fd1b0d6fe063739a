import type { Server } from 'node:http';
import { loadConfig, type Config } from '../../config/env.ts';
import { createApp } from '../../api/app.ts';
import type { Runtime } from '../../runtime.ts';
import { refreshFeed } from '../../worker/poll-once.ts';
import { startWorker, type WorkerHandle } from '../../worker/worker.ts';
import { runtimeForCli } from '../runtime-for-cli.ts';
import { setUpFeedSources } from '../feed-sources.ts';

export const workerCommand = () => run({ api: false, worker: true });
export const serveCommand = () => run({ api: true, worker: false });
export const startCommand = () => run({ api: true, worker: true, demo: true });

interface RunMode {
  api: boolean;
  worker: boolean;
  /** `start` only: bring up the bundled demo feeds unless DEMO=false or FEEDS is set. */
  demo?: boolean;
}

/** Long-running processes: API, worker, or both; exit 0 after a graceful SIGTERM/SIGINT. */
async function run(mode: RunMode): Promise<number> {
  const config = loadConfig();
  const sources = await setUpFeedSources(config, { demo: Boolean(mode.demo) });
  const rt = await runtimeForCli(sources.config);
  const log = rt.logger;
  let server: Server | null = null;
  let worker: WorkerHandle | null = null;
  // Cancels long requests (an OPML import probing feeds) when the process is asked to stop.
  const shutdown = new AbortController();
  try {
    await sources.importInto(rt);
    if (mode.api) server = await listen(rt, sources.config, shutdown.signal);
    if (mode.worker) worker = startWorker(rt);
  } catch (err) {
    await sources.close();
    await rt.close();
    throw err;
  }

  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info({ signal }, 'shutting down');
      shutdown.abort();
      resolve();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });

  // Stop taking work, let in-flight work finish within its bound, then close the pool.
  const closing = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve();
  server?.closeIdleConnections();
  await worker?.stop();
  await Promise.race([closing, new Promise((r) => setTimeout(r, 5000).unref())]);
  await sources.close();
  await rt.close();
  return 0;
}

async function listen(rt: Runtime, config: Config, shutdown: AbortSignal): Promise<Server> {
  const app = createApp({
    db: rt.db,
    config,
    logger: rt.logger,
    metrics: rt.metrics,
    refreshFeed: (id) => refreshFeed(rt, id),
    subscribe: { db: rt.db, fetcher: rt.fetcher, allow: config.ALLOW_PRIVATE_NETWORKS, signal: shutdown },
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(config.PORT, config.HOST, () => {
      const shown = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
      const base = config.PUBLIC_URL ?? `http://${shown}:${config.PORT}`;
      rt.logger.info({ url: base }, `Tributary is up: reader page ${base}/ · merged feed ${base}/feed.xml · API ${base}/api/items`);
      resolve(server);
    });
    server.once('error', reject);
  });
}
