import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openEmbedded, openPostgres, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { EMBEDDED_TEMPLATE } from './paths.ts';

export interface TestDb {
  db: Db;
  /** Connection URL of this test's own database on the server; null on the embedded back end. */
  url: string | null;
  /** Closes the connections and drops the database. */
  drop(): Promise<void>;
}

export const onServer = Boolean(process.env.DATABASE_URL);
export const backendName = onServer ? 'postgres' : 'embedded';

/** A fresh, migrated database of its own: a new database on the server, or a clone of the embedded template. */
export async function createTestDb(): Promise<TestDb> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const template = readFileSync(EMBEDDED_TEMPLATE);
    const db = await openEmbedded(undefined, new Blob([template]));
    return { db, url: null, drop: () => db.close() };
  }
  const name = `tributary_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = withDatabase(serverUrl, name);
  const db = openPostgres(url, 10, () => undefined);
  await migrate(db);
  return {
    db,
    url,
    async drop() {
      await db.close();
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
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
