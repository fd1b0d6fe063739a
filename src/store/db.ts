import pg from 'pg';
import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import type { Lane } from './embedded-server.ts';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** What a store function needs: parameterised statements. A transaction handle is one too. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /**
   * Runs a script of several statements without parameters in one round trip (migrations; a search
   * page with its plan settings). Resolves to the rows of the last statement.
   */
  exec(sql: string): Promise<Record<string, unknown>[]>;
  /** Set on the handle of a Db's transaction (not on wrappers of it). */
  readonly session?: TransactionSession;
}

/**
 * What process memory that mirrors rows of one database (the story index, src/store/story-index.ts)
 * needs from a transaction: which database it is, and whether what it wrote was committed.
 */
export interface TransactionSession {
  /** The Db the transaction runs on: such memory is kept per Db object. */
  readonly db: Db;
  /** Runs `fn` once the transaction has ended (the database has answered the commit or rollback). */
  afterEnd(fn: (committed: boolean) => void): void;
}

/** A session whose end is announced by calling the returned function. */
function transactionSession(db: Db): { session: TransactionSession; end: (committed: boolean) => void } {
  const hooks: Array<(committed: boolean) => void> = [];
  return {
    session: { db, afterEnd: (fn) => hooks.push(fn) },
    end: (committed) => {
      for (const fn of hooks) fn(committed);
    },
  };
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'embedded';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Embedded only: the whole data directory as a tarball, so tests can clone a migrated database. */
  snapshot?(): Promise<Blob>;
}

export interface DbOptions {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  poolSize?: number | undefined;
  /**
   * Called when a connection breaks (server restart, terminated backend), at most once per outage
   * (and per 30 s). Such errors never crash the process.
   */
  onConnectionLost?: ((err: Error) => void) | undefined;
  /** Server only: how long to keep retrying while the server cannot be reached at open (default 0: one attempt). */
  connectTimeoutMs?: number | undefined;
  /** Called once when the first attempt fails and open starts waiting for the server. */
  onWaiting?: ((err: Error) => void) | undefined;
}

/** The one place the back end is chosen: a PostgreSQL server when a URL is given, else embedded PGlite. */
export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.databaseUrl) {
    const db = openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.onConnectionLost);
    try {
      // pg connects lazily: check now, so every command finds out at start (and waits for a server still booting).
      await retryWhileUnavailable(() => db.query('select 1'), { timeoutMs: opts.connectTimeoutMs ?? 0, onWaiting: opts.onWaiting });
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return db;
  }
  if (!opts.dataDir) return openEmbedded();
  // One owner per data directory; a second process reaches the owner's database through its socket.
  const { openEmbeddedDir } = await import('./embedded-owner.ts');
  return openEmbeddedDir({ dataDir: opts.dataDir, poolSize: opts.poolSize, onIdleError: opts.onConnectionLost });
}

/**
 * The server cannot be reached right now: refused, reset or timed-out connections, a terminated
 * backend (57P01), a server shutting down or starting up. Worth retrying later; other errors are not.
 */
export class DbUnavailableError extends Error {
  constructor(readonly original: Error) {
    super(original.message || (original as { code?: string }).code || 'connection failed');
    this.name = 'DbUnavailableError';
  }
}

// Class 08 connection exceptions; 57P01-57P03 admin/crash shutdown, cannot connect now; 53300 too many connections.
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);
// pg's own wording for a socket that closed or never opened in time.
const UNAVAILABLE_MESSAGE = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

export function isDbUnavailable(err: unknown): boolean {
  if (err instanceof DbUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  if (err instanceof AggregateError) return err.errors.some(isDbUnavailable); // IPv4 and IPv6 both refused
  return UNAVAILABLE_MESSAGE.test(err.message);
}

function toDbError(err: unknown): unknown {
  return !(err instanceof DbUnavailableError) && isDbUnavailable(err) ? new DbUnavailableError(err as Error) : err;
}

export interface RetryOptions {
  /** Give up this long after the first failure; 0 tries once. */
  timeoutMs: number;
  onWaiting?: ((err: Error) => void) | undefined;
}

/** Runs `fn`, retrying with growing pauses (up to 2 s) while the database is unavailable, for a bounded time. */
export async function retryWhileUnavailable<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const left = deadline - Date.now();
      if (!isDbUnavailable(err) || left <= 0) throw toDbError(err);
      if (attempt === 0) o.onWaiting?.(err as Error);
      await new Promise((r) => setTimeout(r, Math.min(2000, 250 * 2 ** attempt, left)));
    }
  }
}

const INT8_OID = 20;
const REPORT_EVERY_MS = 30_000;
const NUMERIC_OID = 1700;

export function openPostgres(url: string, poolSize = 10, onConnectionLost?: (err: Error) => void): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    // Same shape as PGlite, which returns int8 as a number: ids and counts stay far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => Number(v);
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // Reported once per outage (a restart breaks every pooled connection at once): again only after a
  // statement has succeeded since, and not more often than every REPORT_EVERY_MS.
  let reported = false;
  let lastReport = 0;
  const connectionLost = (err: Error) => {
    if (reported || Date.now() - lastReport < REPORT_EVERY_MS) return;
    reported = true;
    lastReport = Date.now();
    onConnectionLost?.(err);
  };
  // Idle pooled connections: the pool drops the client and emits here; without a listener the process dies.
  pool.on('error', connectionLost);
  // And a listener of our own on every client for its whole life, checked out or not: pg-pool takes
  // its idle listener off while a client is out, and a backend terminated then (57P01) would
  // otherwise be an unhandled 'error' event that ends the process.
  pool.on('connect', (client) => client.on('error', connectionLost));
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      try {
        const r = await c.query(sql, params as unknown[] | undefined);
        reported = false;
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      } catch (err) {
        throw toDbError(err);
      }
    },
    async exec(sql: string) {
      try {
        // One result per statement of a script, a bare result for a single statement.
        const r = (await c.query(sql)) as pg.QueryResult | pg.QueryResult[];
        reported = false;
        return (Array.isArray(r) ? r.at(-1)?.rows : r.rows) ?? [];
      } catch (err) {
        throw toDbError(err);
      }
    },
  });
  const base = wrap(pool);
  const db: Db = {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect().catch((err: unknown) => {
        throw toDbError(err);
      });
      // Marks the client broken when its connection fails during this checkout (57P01, ECONNRESET),
      // so it is discarded rather than rolled back and reused.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
        connectionLost(err);
      };
      client.on('error', onError);
      const { session, end } = transactionSession(db);
      let committed = false;
      try {
        const tx = { ...wrap(client), session };
        await tx.query('begin');
        const result = await fn(tx);
        await tx.query('commit');
        committed = true;
        return result;
      } catch (err) {
        if (!broken) await client.query('rollback').catch(() => undefined);
        throw toDbError(err);
      } finally {
        client.removeListener('error', onError);
        // A broken client is discarded, not handed to the next caller.
        client.release(broken);
        end(committed);
      }
    },
    async close() {
      await pool.end();
    },
  };
  return db;
}

/** A PGlite instance of this process alone (no lock): in memory, or a directory nobody else opens (bench). */
export async function openEmbedded(dataDir?: string, loadDataDir?: Blob): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  return liteDb(await PGlite.create({ dataDir, loadDataDir }));
}

/**
 * A Db over an open PGlite. With a lane (the owner serving clients on a socket), every statement and
 * transaction of this process waits its turn with the clients' transactions on the one backend.
 */
export function liteDb(lite: PGlite, lane?: Lane): Db {
  const turn = <T>(fn: () => Promise<T>): Promise<T> => (lane ? lane.run(fn) : fn());
  type LiteTx = Parameters<Parameters<typeof lite.transaction>[0]>[0];
  const wrap = (c: typeof lite | LiteTx): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      const r = await c.query<R>(sql, params);
      // Like pg: rows returned for a SELECT (or RETURNING), rows affected otherwise.
      return { rows: r.rows, rowCount: r.fields.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
    },
    async exec(sql: string) {
      return (await c.exec(sql)).at(-1)?.rows ?? [];
    },
  });
  const base = wrap(lite);
  const db: Db = {
    kind: 'embedded',
    query: <R,>(sql: string, params?: unknown[]) => turn(() => base.query<R>(sql, params)),
    exec: (sql) => turn(() => base.exec(sql)),
    async transaction(fn) {
      const { session, end } = transactionSession(db);
      let committed = false;
      try {
        const result = await turn(() => lite.transaction((tx) => fn({ ...wrap(tx), session })));
        committed = true;
        return result;
      } finally {
        end(committed);
      }
    },
    async close() {
      if (!lite.closed) await lite.close();
    },
    snapshot: () => lite.dumpDataDir('none'),
  };
  return db;
}

