import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/env.ts';
import { pollOnce } from '../../worker/poll-once.ts';
import type { FeedPollSummary } from '../../worker/poll-feed.ts';
import { databaseError, runtimeForCli } from '../runtime-for-cli.ts';
import { UsageError } from '../usage.ts';

/**
 * `tributary poll --once [--all]`: one line per feed (polled, failed, or skipped because its host is
 * paused) and a total. Exit 0 unless the database stayed unreachable for DB_CONNECT_TIMEOUT: a feed
 * whose poll lost the database is reported as failed and polled again while the run goes on.
 */
export async function pollCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { once: { type: 'boolean' }, all: { type: 'boolean' } } });
  if (!values.once) throw new UsageError('poll needs --once (use "tributary worker" to poll on a schedule)');
  const config = loadConfig();
  const rt = await runtimeForCli(config);
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const totals = await pollOnce(rt, {
      all: Boolean(values.all),
      onFeed: printLine,
      shouldStop: () => stop,
      databaseWaitMs: config.DB_CONNECT_TIMEOUT * 1000,
    }).catch((err: unknown) => {
      throw databaseError(config, err);
    });
    const dbNote = totals.databaseErrors > 0 ? ` (${totals.databaseErrors} on a lost database connection)` : '';
    process.stdout.write(
      `total: ${totals.feeds} feeds in ${(totals.durationMs / 1000).toFixed(1)}s — ${totals.ok} updated, ` +
        `${totals.notModified} unchanged, ${totals.failed} failed${dbNote}, ${totals.skipped} skipped (host paused); ` +
        `${totals.inserted} new entries, ${totals.linked} syndicated copies, ${totals.updated} edited\n`,
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
        : s.outcome === 'host-paused'
          ? `skipped: ${s.error}`
          : s.outcome;
  process.stdout.write(`feed ${s.feedId} ${s.url}: ${s.status ?? '-'} ${what} (${s.durationMs} ms)\n`);
}
