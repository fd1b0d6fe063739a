import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openEmbedded, openPostgres, type Db } from '../src/store/db.ts';

/**
 * A fresh database for one bench phase: a new database on the DATABASE_URL server (dropped at the
 * end), else an embedded PGlite data directory in a temp dir. Only one process may have an
 * embedded directory open at a time, so the parent closes it before a child opens it.
 */
export interface BenchDatabase {
  kind: 'postgres' | 'embedded';
  /** Environment for a child process (createRuntime / openDb read these). */
  env: { DATABASE_URL?: string; DATA_DIR?: string };
  open(): Promise<Db>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string | undefined): Promise<BenchDatabase> {
  if (!serverUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
    return {
      kind: 'embedded',
      env: { DATA_DIR: dir },
      open: () => openEmbedded(dir),
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `tributary_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url },
    open: async () => openPostgres(url, 4, () => undefined),
    drop: () => adminQuery(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
