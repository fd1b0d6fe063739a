import { USAGE, UsageError, CliError } from './usage.ts';
import { VERSION } from '../version.ts';
import { ConfigError, loadConfig } from '../config/env.ts';

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  parse: async () => (await import('./commands/parse.ts')).parseCommand,
  migrate: async () => (await import('./commands/migrate.ts')).migrateCommand,
  feeds: async () => (await import('./commands/feeds.ts')).feedsCommand,
  poll: async () => (await import('./commands/poll.ts')).pollCommand,
  worker: async () => (await import('./commands/run.ts')).workerCommand,
  serve: async () => (await import('./commands/run.ts')).serveCommand,
  start: async () => (await import('./commands/run.ts')).startCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const load = commands[name];
  if (!load) throw new UsageError(`unknown command "${name}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`tributary: ${err.message}\nRun "tributary --help" for usage.\n`);
      process.exitCode = 2;
      return;
    }
    // The database went away after the command had opened it: the same line as at start.
    const { databaseError, isDbUnavailable } = await import('./runtime-for-cli.ts');
    if (isDbUnavailable(err)) err = databaseError(loadConfig(), err);
    if (err instanceof CliError || err instanceof ConfigError) {
      process.stderr.write(`tributary: ${err.message}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
    } else {
      const e = err as Error;
      process.stderr.write(`tributary: unexpected error: ${e?.message ?? String(err)}\n`);
      if (process.env.TRIBUTARY_DEBUG) process.stderr.write(`${e?.stack}\n`);
      process.exitCode = 1;
    }
  },
);
