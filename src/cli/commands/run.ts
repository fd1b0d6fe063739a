import { createServer, type Server } from 'node:http';
import { loadConfig, type Config } from '../../config/env.ts';
import { createApp } from '../../api/app.ts';
import { createStreamHub } from '../../api/routes/stream.ts';
import type { StreamHub } from '../../api/stream/stream-hub.ts';
import type { Runtime } from '../../runtime.ts';
import { refreshFeed } from '../../worker/poll-once.ts';
import { startWorker, type WorkerHandle } from '../../worker/worker.ts';
import { runtimeForCli } from '../runtime-for-cli.ts';
import { CliError } from '../usage.ts';
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
  // The demo's feed server must not keep the process alive when the database cannot be opened.
  const rt = await runtimeForCli(sources.config, { readReplica: mode.api }).catch(async (err: unknown) => {
    await sources.close();
    throw err;
  });
  const log = rt.logger;
  let server: Server | null = null;
  let streams: StreamHub | null = null;
  let worker: WorkerHandle | null = null;
  // Cancels long requests (an OPML import probing feeds) when the process is asked to stop.
  const shutdown = new AbortController();
  try {
    await sources.importInto(rt);
    if (mode.api) {
      streams = createStreamHub({ db: rt.db, config: sources.config, logger: rt.logger, metrics: rt.metrics });
      server = await listen(rt, sources.config, shutdown.signal, streams);
    }
    if (mode.worker) {
      worker = startWorker(rt.pollDeps, {
        ...rt.pollSettings,
        schedule: sources.config.POLL_SCHEDULE,
        // In-flight fetches end by themselves within FETCH_TIMEOUT_MS; wait a little longer than that.
        stopWaitMs: sources.config.FETCH_TIMEOUT_MS + 5000,
        // WebSub: renew leases before they end, retry failed subscriptions, unsubscribe removed feeds.
        jobs: [{ name: 'websub', schedule: '* * * * *', run: () => rt.websub.subscriber.maintain() }],
      });
    }
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

  // Stop taking work, let in-flight work finish within its bound, then close the pool. Live streams
  // never finish by themselves: they are ended first (clients resume elsewhere with Last-Event-ID).
  const closing = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve();
  await streams?.close();
  server?.closeIdleConnections();
  await worker?.stop();
  await Promise.race([closing, new Promise((r) => setTimeout(r, 5000).unref())]);
  await sources.close();
  await rt.close();
  return 0;
}

async function listen(rt: Runtime, config: Config, shutdown: AbortSignal, streams: StreamHub): Promise<Server> {
  const app = createApp({
    streams,
    db: rt.db,
    readDb: rt.readDb,
    config,
    logger: rt.logger,
    metrics: rt.metrics,
    refreshFeed: (id) => refreshFeed(rt, id),
    subscribe: { db: rt.db, fetcher: rt.fetcher, allow: config.ALLOW_PRIVATE_NETWORKS, signal: shutdown },
    websub: { subscriber: rt.websub.subscriber, publisher: rt.websub.publisher, parse: rt.pollDeps.parse },
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw listenError(err, config);
  });
  const shown = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const base = config.PUBLIC_URL ?? `http://${shown}:${config.PORT}`;
  rt.logger.info({ url: base }, `Tributary is up: reader page ${base}/ · merged feed ${base}/feed.xml · API ${base}/api/items`);
  return server;
}

/** A port that cannot be had is a one-line message and exit 1, never a process with no HTTP server. */
function listenError(err: NodeJS.ErrnoException, config: Config): Error {
  const where = `${config.HOST}:${config.PORT}`;
  if (err.code === 'EADDRINUSE') {
    return new CliError(`port ${config.PORT} is in use (${where}): stop the other process or set PORT to a free port`);
  }
  if (err.code === 'EACCES') return new CliError(`not allowed to listen on port ${config.PORT} (${where}): use a port above 1023 or set PORT`);
  if (err.code === 'EADDRNOTAVAIL') return new CliError(`cannot listen on ${where}: HOST is not an address of this machine`);
  return new CliError(`cannot listen on ${where}: ${err.message}`);
}
