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
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
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
  /** Called with errors of idle pooled connections (server restart), which must not crash the process. */
  onIdleError?: ((err: Error) => void) | undefined;
}

/** The one place the back end is chosen: a PostgreSQL server when a URL is given, else embedded PGlite. */
export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.onIdleError);
  if (!opts.dataDir) return openEmbedded();
  // One owner per data directory; a second process reaches the owner's database through its socket.
  const { openEmbeddedDir } = await import('./embedded-owner.ts');
  return openEmbeddedDir({ dataDir: opts.dataDir, poolSize: opts.poolSize, onIdleError: opts.onIdleError });
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export function openPostgres(url: string, poolSize = 10, onIdleError?: (err: Error) => void): Db {
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
  pool.on('error', (err) => onIdleError?.(err));
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      const r = await c.query(sql, params as unknown[] | undefined);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });
  const base = wrap(pool);
  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn(wrap(client));
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
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
      await c.exec(sql);
    },
  });
  const base = wrap(lite);
  return {
    kind: 'embedded',
    query: <R,>(sql: string, params?: unknown[]) => turn(() => base.query<R>(sql, params)),
    exec: (sql) => turn(() => base.exec(sql)),
    transaction: (fn) => turn(() => lite.transaction((tx) => fn(wrap(tx)))),
    async close() {
      if (!lite.closed) await lite.close();
    },
    snapshot: () => lite.dumpDataDir('none'),
  };
}

