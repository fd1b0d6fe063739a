import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/env.ts';
import { pollOnce } from '../../worker/poll-once.ts';
import type { FeedPollSummary } from '../../worker/poll-feed.ts';
import { runtimeForCli } from '../runtime-for-cli.ts';
import { CliError, UsageError } from '../usage.ts';

/** `tributary poll --once [--all]`: one line per feed and a total; exit 0 unless the database is unreachable. */
export async function pollCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { once: { type: 'boolean' }, all: { type: 'boolean' } } });
  if (!values.once) throw new UsageError('poll needs --once (use "tributary worker" to poll on a schedule)');
  const rt = await runtimeForCli(loadConfig());
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const totals = await pollOnce(rt, { all: Boolean(values.all), onFeed: printLine, shouldStop: () => stop }).catch((err: Error) => {
      throw new CliError(`database error: ${err.message}`);
    });
    process.stdout.write(
      `total: ${totals.feeds} feeds in ${(totals.durationMs / 1000).toFixed(1)}s — ${totals.ok} updated, ` +
        `${totals.notModified} unchanged, ${totals.failed} failed; ${totals.inserted} new entries, ` +
        `${totals.linked} syndicated copies, ${totals.updated} edited\n`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rt.close();
  }
}

function printLine(s: FeedPollSummary): void {
  const what =
    s.outcome === 'ok'
      ? `${s.inserted} new, ${s.linked} syndicated, ${s.updated} edited, ${s.unchanged} unchanged`
      : s.outcome === 'error'
        ? `error (${s.errorKind}): ${s.error}`
        : s.outcome;
  process.stdout.write(`feed ${s.feedId} ${s.url}: ${s.status ?? '-'} ${what} (${s.durationMs} ms)\n`);
}
