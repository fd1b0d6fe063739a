import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/env.ts';
import { createFetcher } from '../../fetch/fetcher.ts';
import { decodeFeedBytes } from '../../fetch/charset.ts';
import { parseFeed } from '../../parse/index.ts';
import { FeedParseError } from '../../parse/types.ts';
import { fetchLimits } from '../../runtime.ts';
import { CliError, UsageError } from '../usage.ts';

/** `tributary parse <file-or-url> [--base-url URL]`: the normalised JSON on stdout. */
export async function parseCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'base-url': { type: 'string' } },
  });
  const source = positionals[0];
  if (!source || positionals.length > 1) throw new UsageError('parse takes one file or URL');
  const baseUrl = values['base-url'] ?? null;
  if (baseUrl !== null && !/^https?:\/\//i.test(baseUrl)) throw new UsageError('--base-url must be an http(s) URL');

  let text: string;
  let effectiveBase: string | null = baseUrl;
  if (/^https?:\/\//i.test(source)) {
    const config = loadConfig();
    const fetcher = createFetcher(fetchLimits(config));
    try {
      const res = await fetcher.fetchFeed({ url: source });
      if (res.kind === 'error') throw new CliError(`cannot fetch ${source}: ${res.message}`);
      if (res.kind !== 'ok') throw new CliError(`cannot fetch ${source}: unexpected ${res.status}`);
      text = res.text;
      effectiveBase ??= res.finalUrl;
    } finally {
      await fetcher.close();
    }
  } else {
    const path = resolve(source);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new CliError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    text = decodeFeedBytes(bytes, null).text;
  }

  try {
    const parsed = await parseFeed(text, { baseUrl: effectiveBase });
    process.stdout.write(`${JSON.stringify(parsed, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof FeedParseError) throw new CliError(`${source}: ${err.message}`);
    throw err;
  }
}
