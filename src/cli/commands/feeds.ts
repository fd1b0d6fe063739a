import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { loadConfig, type Config } from '../../config/env.ts';
import { decodeFeedBytes } from '../../fetch/charset.ts';
import { parseOpml } from '../../opml/parse-opml.ts';
import { deleteFeed, getFeed, getFeedByUrl, listFeeds } from '../../store/feeds.ts';
import { importOpmlFeeds } from '../../subscribe/import-opml.ts';
import { subscribe, type SubscribeDeps } from '../../subscribe/subscribe.ts';
import type { Runtime } from '../../runtime.ts';
import { runtimeForCli } from '../runtime-for-cli.ts';
import { CliError, UsageError } from '../usage.ts';

/** `tributary feeds add|list|remove|import`. */
export async function feedsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const config = loadConfig();
  switch (sub) {
    case 'add':
      return withRuntime(config, (rt) => addFeed(rt, rest));
    case 'list':
      return withRuntime(config, (rt) => listAll(rt));
    case 'remove':
      return withRuntime(config, (rt) => removeFeed(rt, rest));
    case 'import':
      return withRuntime(config, (rt) => importOpml(rt, rest));
    default:
      throw new UsageError(sub ? `unknown feeds command "${sub}"` : 'feeds needs a command: add, list, remove or import');
  }
}

async function withRuntime(config: Config, fn: (rt: Runtime) => Promise<number>): Promise<number> {
  const rt = await runtimeForCli(config);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

function subscribeDeps(rt: Runtime): SubscribeDeps {
  return { db: rt.db, fetcher: rt.fetcher, allow: rt.config.ALLOW_PRIVATE_NETWORKS };
}

async function addFeed(rt: Runtime, args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { region: { type: 'string' }, title: { type: 'string' }, all: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UsageError('feeds add takes one URL');
  const sub = await subscribe(
    subscribeDeps(rt),
    { url: positionals[0] as string, region: values.region?.trim() || null, title: values.title?.trim() || null },
    values.all ? 'all' : 'first',
  );
  if (!sub.ok) throw new CliError(`refused: ${sub.reason}`);
  const found = sub.page ? ` (found on ${sub.page})` : '';
  const region = values.region?.trim() ? ` (region ${values.region.trim()})` : '';
  if (!sub.feeds.some((f) => f.status === 'added')) {
    const which = sub.feeds.map((f) => `feed ${f.id} (${f.url})`).join(', ');
    throw new CliError(`already subscribed: ${which}${found}`);
  }
  for (const f of sub.feeds) {
    if (f.status === 'added') process.stdout.write(`added feed ${f.id}: ${f.url}${found}${region}\n`);
    else process.stdout.write(`already subscribed: feed ${f.id}: ${f.url}${found}\n`);
  }
  if (sub.unchecked) process.stderr.write(`note: ${sub.unchecked}; subscribed as given\n`);
  return 0;
}

async function listAll(rt: Runtime): Promise<number> {
  const feeds = await listFeeds(rt.db);
  if (feeds.length === 0) {
    process.stdout.write('no feeds yet: add one with "tributary feeds add <url>"\n');
    return 0;
  }
  for (const f of feeds) {
    const state = !f.enabled
      ? `disabled: ${f.disabled_reason ?? 'by user'}`
      : f.error_count > 0
        ? `failing (${f.error_count}x): ${f.last_error ?? ''}`
        : f.last_fetched_at
          ? `ok, ${f.entry_count} entries`
          : 'not polled yet';
    process.stdout.write(`${f.id}\t${f.region ?? '-'}\t${f.title ?? '(untitled)'}\t${f.url}\t${state}\n`);
  }
  return 0;
}

async function removeFeed(rt: Runtime, args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('feeds remove takes one feed id or URL');
  const key = args[0] as string;
  const feed = /^\d+$/.test(key) ? await getFeed(rt.db, Number(key)) : await getFeedByUrl(rt.db, key);
  if (!feed) throw new CliError(`no feed ${key}`);
  await deleteFeed(rt.db, feed.id);
  // The one subscription lifecycle (src/websub/subscriber.ts): unsubscribe at the publisher's hub.
  await rt.websub.subscriber.end(feed.id);
  process.stdout.write(`removed feed ${feed.id}: ${feed.url}\n`);
  return 0;
}

async function importOpml(rt: Runtime, args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('feeds import takes one OPML file or URL');
  const source = args[0] as string;
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const res = await rt.fetcher.fetchFeed({ url: source });
    if (res.kind !== 'ok') throw new CliError(`cannot fetch ${source}: ${res.kind === 'error' ? res.message : res.status}`);
    text = res.text;
  } else {
    const bytes = await readFile(source).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read ${source}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    text = decodeFeedBytes(bytes, null).text;
  }
  let outlines;
  try {
    outlines = parseOpml(text);
  } catch (err) {
    throw new CliError(`${source}: ${(err as Error).message}`);
  }
  const result = await importOpmlFeeds(subscribeDeps(rt), outlines);
  for (const o of result.outlines) {
    if (o.result === 'rejected' || o.result === 'skipped') process.stderr.write(`skipped ${o.url}: ${o.reason}\n`);
    else if (o.discovered_from) process.stdout.write(`${o.url}: subscribed ${o.feeds.map((f) => f.url).join(', ')}, found on the page\n`);
  }
  process.stdout.write(
    `imported ${result.added} new feeds (${result.existing} already present, ${result.rejected.length} refused)\n`,
  );
  return 0;
}
