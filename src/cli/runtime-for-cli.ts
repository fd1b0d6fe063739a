import { loadConfig, type Config } from '../config/env.ts';
import { isDbUnavailable } from '../store/db.ts';
import { createRuntime, type Runtime, type RuntimeOptions } from '../runtime.ts';
import { CliError } from './usage.ts';

export { isDbUnavailable };

/**
 * Builds the runtime for a command. A server that stays unreachable for DB_CONNECT_TIMEOUT (or any
 * other failure to open the database) becomes one clear line and exit 1, the same for every command.
 */
export async function runtimeForCli(config: Config = loadConfig(), opts: RuntimeOptions = {}): Promise<Runtime> {
  try {
    return await createRuntime(config, opts);
  } catch (err) {
    throw databaseError(config, err);
  }
}

/** The one wording of "the database failed" on the command line; unreachable names the timeout it waited. */
export function databaseError(config: Config, err: unknown): CliError {
  const message = err instanceof Error ? err.message : String(err);
  if (config.DATABASE_URL && isDbUnavailable(err)) {
    return new CliError(
      `cannot reach the database at ${redact(config.DATABASE_URL)}: ${message} ` +
        `(gave up after ${config.DB_CONNECT_TIMEOUT} s; DB_CONNECT_TIMEOUT sets how long to wait)`,
    );
  }
  const where = config.DATABASE_URL ? redact(config.DATABASE_URL) : `embedded database in ${config.DATA_DIR}`;
  return new CliError(`cannot open the database (${where}): ${message}`);
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'DATABASE_URL';
  }
}
