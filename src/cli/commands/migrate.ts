import { loadConfig } from '../../config/env.ts';
import { migrateDatabase } from '../../store/migrate.ts';
import { runtimeForCli } from '../runtime-for-cli.ts';

/** `tributary migrate`; an unreachable database is the same one-line error as for every command. */
export async function migrateCommand(): Promise<number> {
  const rt = await runtimeForCli(loadConfig(), { migrate: false });
  try {
    const r = await migrateDatabase(rt.db, rt.config.DATABASE_DIRECT_URL, rt.config.DB_CONNECT_TIMEOUT * 1000);
    process.stdout.write(
      r.applied.length > 0
        ? `applied: ${r.applied.join(', ')}\n`
        : `up to date (${r.alreadyApplied.length} migrations applied before)\n`,
    );
    return 0;
  } finally {
    await rt.close();
  }
}
