import { readFileSync, writeFileSync } from 'node:fs';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import Parser from 'rss-parser';
import { emitResult, measured, type ChildUsage } from './child.ts';

/**
 * The floor: the least work any poller must do for a round — download every feed with the same
 * concurrency (conditionally, when ETags are known), gunzip, and parse with rss-parser (JSON Feed
 * with JSON.parse) — storing nothing. `download` mode skips parsing, for reference.
 *
 * Run as a child process (`node --import tsx bench/floor.ts <job.json>`) so its CPU and memory are
 * measured apart from the farm, like the poller's.
 */

export interface FloorJob {
  urls: string[];
  concurrency: number;
  mode: 'parse' | 'download';
  /** url → ETag from an earlier run; sent as If-None-Match. */
  etagsIn?: string | undefined;
  /** Where to write url → ETag after this run. */
  etagsOut?: string | undefined;
}

export interface FloorResult {
  feeds: number;
  ok: number;
  notModified: number;
  failed: number;
  items: number;
  bytes: number;
  wallMs: number;
  usage: ChildUsage;
}

const gunzipAsync = promisify(gunzip);

export async function runFloor(job: FloorJob): Promise<FloorResult> {
  const etags: Record<string, string> = job.etagsIn ? JSON.parse(readFileSync(job.etagsIn, 'utf8')) : {};
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const parser = new Parser();
  const totals = { feeds: job.urls.length, ok: 0, notModified: 0, failed: 0, items: 0, bytes: 0 };

  const one = async (url: string) => {
    const etag = etags[url];
    const res = await request(url, {
      dispatcher,
      headers: { 'accept-encoding': 'gzip', ...(etag ? { 'if-none-match': etag } : {}) },
      signal: AbortSignal.timeout(20_000),
    });
    const raw = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode === 304) {
      totals.notModified++;
      return;
    }
    if (res.statusCode !== 200) {
      totals.failed++;
      return;
    }
    const newEtag = res.headers['etag'];
    if (typeof newEtag === 'string') etags[url] = newEtag;
    const body = res.headers['content-encoding'] === 'gzip' ? await gunzipAsync(raw) : raw;
    totals.bytes += body.length;
    totals.ok++;
    if (job.mode === 'download') return;
    const text = body.toString('utf8');
    if (url.endsWith('.json')) {
      totals.items += (JSON.parse(text) as { items: unknown[] }).items.length;
    } else {
      totals.items += (await parser.parseString(text)).items.length;
    }
  };

  const { wallMs, usage } = await measured(async () => {
    let next = 0;
    const workers = Array.from({ length: Math.min(job.concurrency, job.urls.length) }, async () => {
      while (next < job.urls.length) {
        const url = job.urls[next++]!;
        await one(url).catch(() => {
          totals.failed++;
        });
      }
    });
    await Promise.all(workers);
  });
  await dispatcher.close();
  if (job.etagsOut) writeFileSync(job.etagsOut, JSON.stringify(etags));
  return { ...totals, wallMs, usage };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FloorJob;
  emitResult(await runFloor(job));
}
