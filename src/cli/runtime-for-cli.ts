import { loadConfig, type Config } from '../config/env.ts';
import { createRuntime, type Runtime, type RuntimeOptions } from '../runtime.ts';
import { CliError } from './usage.ts';

/** Builds the runtime for a command; an unreachable database becomes a one-line error, exit 1. */
export async function runtimeForCli(config: Config = loadConfig(), opts: RuntimeOptions = {}): Promise<Runtime> {
  try {
    return await createRuntime(config, opts);
  } catch (err) {
    const where = config.DATABASE_URL ? redact(config.DATABASE_URL) : `embedded database in ${config.DATA_DIR}`;
    throw new CliError(`cannot open the database (${where}): ${(err as Error).message}`);
  }
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
