import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/**
 * Applies sql/NNN_*.sql in name order, each in its own transaction, recording it in schema_migrations.
 * An advisory lock serialises processes that start together against one server.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  await db.exec(`create table if not exists schema_migrations (
    version text primary key,
    applied_at timestamptz not null default now()
  )`);
  const files = (await readdir(dir)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    const applied = await db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(7361029)`);
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
