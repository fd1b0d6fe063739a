import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openDb, type Db } from './db.ts';
import { projectFile } from '../paths.ts';

export const MIGRATIONS_DIR = fileURLToPath(projectFile('sql/'));

const MIGRATION_LOCK = 7361029;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/**
 * Applies sql/NNN_*.sql in name order, each in its own transaction, recording it in schema_migrations.
 * An advisory lock serialises processes that start together against one server.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  // Under the lock too: two processes creating the table at once fail on pg_type's unique index.
  // Transaction-scoped (never a session lock), so this works through a transaction-mode pooler.
  await db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.exec(`create table if not exists schema_migrations (
      version text primary key,
      applied_at timestamptz not null default now()
    )`);
  });
  const files = (await readdir(dir)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    const applied = await db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      const seen = await tx.query('select 1 from schema_migrations where version = $1', [file]);
      if (seen.rowCount > 0) return false;
      await tx.exec(sql);
      await tx.query('insert into schema_migrations (version) values ($1)', [file]);
      return true;
    });
    (applied ? result.applied : result.alreadyApplied).push(file);
  }
  return result;
}

/**
 * Migrates `db`, or the same database through `directUrl` (DATABASE_DIRECT_URL) when one is given:
 * schema changes then bypass a transaction pooler, whose query and transaction timeouts are set for
 * short requests, and take no pooled server connection from the API while they run.
 */
export async function migrateDatabase(db: Db, directUrl?: string, connectTimeoutMs = 0): Promise<MigrationResult> {
  if (!directUrl) return migrate(db);
  const direct = await openDb({ databaseUrl: directUrl, poolSize: 1, connectTimeoutMs });
  try {
    return await migrate(direct);
  } finally {
    await direct.close();
  }
}
