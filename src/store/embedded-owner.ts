import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { liteDb, openPostgres, type Db } from './db.ts';
import { acquireLock, SOCKET_FILE, type LockHolder, type OwnedLock } from './embedded-lock.ts';
import { Lane, serveEmbedded, type EmbeddedServer } from './embedded-server.ts';

export interface EmbeddedDirOptions {
  dataDir: string;
  poolSize?: number | undefined;
  onIdleError?: ((err: Error) => void) | undefined;
}

/** Another live process owns the data directory and cannot be reached: the caller should stop, not open a copy. */
export class EmbeddedInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `in use by process ${holder.pid} (${holder.command}), which does not accept connections on a socket in ${dataDir}; ` +
        `use its HTTP API, or stop that process and run the command again`,
    );
  }
}

/** How long a second process waits for a live owner that is still starting (opening PGlite, initdb on first run). */
const OWNER_START_WAIT_MS = 60_000;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Opens the embedded database in a directory with exactly one PGlite instance on it across processes.
 * The first process takes the lock and becomes the owner: it opens PGlite and serves it on a Unix
 * socket in the directory. Any later process finds the live owner in the lock and connects to that
 * socket with `pg`, so everyone reads and writes one database. A lock left by a dead process is taken over.
 */
export async function openEmbeddedDir(opts: EmbeddedDirOptions): Promise<Db> {
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const command = `tributary ${process.argv.slice(2).join(' ')}`.trim().slice(0, 80);
  const deadline = Date.now() + OWNER_START_WAIT_MS;
  for (;;) {
    const got = await acquireLock(dir, command);
    if (got.kind === 'owned') return openAsOwner(dir, got.lock);
    const holder = got.holder;
    if (holder.state === 'not-serving') throw new EmbeddedInUseError(opts.dataDir, holder);
    if (holder.state === 'serving' && holder.socket) {
      const client = await openAsClient(holder.socket, opts);
      if (client) return followingOwner(client, () => openEmbeddedDir(opts));
      // The owner is going away (socket closed before its lock): look again.
    }
    if (Date.now() > deadline) throw new EmbeddedInUseError(opts.dataDir, holder);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function openAsOwner(dir: string, lock: OwnedLock): Promise<Db> {
  const socketPath = join(dir, SOCKET_FILE);
  let server: EmbeddedServer | null = null;
  // A process.exit() or a fatal signal before close() still removes lock and socket.
  const onExit = () => {
    if (server) rmSync(socketPath, { force: true });
    lock.release();
  };
  process.on('exit', onExit);
  const unwatchSignals = cleanUpOnSignal(onExit);
  let db: Db;
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const lite = await PGlite.create({ dataDir: dir });
    const lane = new Lane();
    db = liteDb(lite, lane);
    if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES) {
      rmSync(socketPath, { force: true }); // left by a dead owner
      server = await serveEmbedded(lite, lane, socketPath).catch(() => null);
    }
  } catch (err) {
    process.off('exit', onExit);
    unwatchSignals();
    lock.release();
    throw err;
  }
  lock.update(server ? { socket: dir, state: 'serving' } : { state: 'not-serving' });
  const closeDb = db.close;
  return {
    ...db,
    async close() {
      try {
        await server?.close();
        if (server) rmSync(socketPath, { force: true });
        await closeDb();
      } finally {
        process.off('exit', onExit);
        unwatchSignals();
        lock.release();
      }
    },
  };
}

/**
 * A command with no SIGINT/SIGTERM handler of its own (feeds import, poll --once) dies of the signal
 * without running 'exit' handlers: remove the lock and socket first, then let the signal do what it
 * would have done. Commands that handle the signal (serve, worker, start) shut down and close the
 * database themselves, so as soon as one adds a handler ours steps aside.
 */
function cleanUpOnSignal(cleanup: () => void): () => void {
  const ours = new Map<NodeJS.Signals, () => void>();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    const handler = () => {
      cleanup();
      process.kill(process.pid, signal);
    };
    process.once(signal, handler);
    ours.set(signal, handler);
  }
  const stepAside = (event: string | symbol) => {
    const handler = ours.get(event as NodeJS.Signals);
    if (!handler) return;
    ours.delete(event as NodeJS.Signals);
    // Not now: 'newListener' runs before the new handler is added, and removing the last listener of a
    // signal makes Node stop catching it, so the process would die of the signal after all.
    process.nextTick(() => process.off(event, handler));
  };
  process.on('newListener', stepAside);
  return () => {
    for (const [signal, handler] of ours) process.off(signal, handler);
    ours.clear();
    process.off('newListener', stepAside);
  };
}

/** A `pg` pool on the owner's socket; null when the owner no longer answers. */
async function openAsClient(socketDir: string, opts: EmbeddedDirOptions): Promise<Db | null> {
  const url = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}`;
  const db = openPostgres(url, opts.poolSize ?? 10, opts.onIdleError);
  try {
    await db.query('select 1');
  } catch {
    await db.close().catch(() => undefined);
    return null;
  }
  return { ...db, kind: 'embedded' };
}

/**
 * A client outlives its owner: when the owner's socket is gone (it stopped, or crashed), the next
 * statement opens the directory again, taking the lock itself or reaching a new owner. Only a refused
 * connect is retried, so nothing ran on the old connection.
 */
function followingOwner(first: Db, reopen: () => Promise<Db>): Db {
  let current = first;
  let switching: Promise<Db> | null = null;
  const next = (stale: Db): Promise<Db> => {
    if (current !== stale) return Promise.resolve(current);
    switching ??= reopen()
      .then((db) => {
        current = db;
        void stale.close().catch(() => undefined);
        return db;
      })
      .finally(() => (switching = null));
    return switching;
  };
  const call = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    const db = current;
    try {
      return await fn(db);
    } catch (err) {
      if (!ownerGone(err)) throw err;
      return fn(await next(db));
    }
  };
  return {
    kind: 'embedded',
    query: <R,>(sql: string, params?: unknown[]) => call((db) => db.query<R>(sql, params)),
    exec: (sql) => call((db) => db.exec(sql)),
    transaction: (fn) => call((db) => db.transaction(fn)),
    async close() {
      await switching?.catch(() => undefined);
      await current.close();
    },
  };
}

/** The owner's socket refused the connection: it is gone (not a statement that failed). */
function ownerGone(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { address?: string };
  return e?.syscall === 'connect' && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') && String(e.address ?? '').endsWith(SOCKET_FILE);
}
