import http from 'node:http';
import { readFileSync } from 'node:fs';
import { openDb, type Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { insertFeed } from '../src/store/feeds.ts';
import { commitChange } from '../src/store/change-seq.ts';
import { ingestItems } from '../src/store/ingest.ts';
import type { BenchDatabase } from './bench-db.ts';

/**
 * Issue 12, "publish-to-stream latency": the real API in a child process with `streams` open
 * /api/stream connections (a mix of filters: none, one feed, one language); this process commits a
 * poll's worth of change (one new entry, through commitChange as a poll does) and times each
 * client's `item` event from the moment before the commit. Memory per stream is the API child's
 * RSS growth over opening them, divided by their number.
 */

export interface StreamPhase {
  backend: 'postgres' | 'embedded';
  streams: number;
  rounds: number;
  /** Latency from the start of the commit to the item event at each client, over every round and client. */
  latencyMs: { p50: number; p99: number; max: number };
  /** The commit itself (transaction + after-commit bump and NOTIFY), p50 of the rounds. */
  commitMs: number;
  /** Events that never arrived within the round's wait (should be 0). */
  missing: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  kbPerStream: number;
}

export interface StreamOptions {
  streams: number;
  rounds: number;
}

/** Waits this long for a round's events before counting the rest as missing. */
const ROUND_WAIT_MS = 15_000;

function rssMb(pid: number | undefined): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;

interface Client {
  req: http.ClientRequest;
  ready: Promise<void>;
  /** Round number → arrival time of its item. */
  arrivals: Map<number, number>;
}

/** One SSE connection that records when each round's entry arrives ("stream-bench-<round>" in its title). */
function connect(url: string, onArrival: () => void): Client {
  const arrivals = new Map<number, number>();
  let ready!: () => void;
  let failed!: (err: Error) => void;
  const readyP = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const req = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) {
      failed(new Error(`stream answered ${res.statusCode}`));
      res.resume();
      return;
    }
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      const now = performance.now();
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        // The first `id:` line: the hub has registered this client.
        if (block.startsWith('id: ') || block.includes('\nid: ')) ready();
        const m = /"title":"stream-bench-(\d+)"/.exec(block);
        if (m && block.includes('event: item') && !arrivals.has(Number(m[1]))) {
          arrivals.set(Number(m[1]), now);
          onArrival();
        }
      }
    });
  });
  req.on('error', (err) => failed(err));
  return { req, ready: readyP, arrivals };
}

/**
 * Runs the phase against an API child already serving `db` (startApi), whose pid gives its RSS.
 * Embedded: the child owns the data directory and this process commits through its socket, so the
 * API finds changes by polling the sequence (every 250 ms), not by notification.
 */
export async function streamPhase(
  db: BenchDatabase,
  api: { port: number; pid: number | undefined },
  feedId: number,
  o: StreamOptions,
  log: (s: string) => void,
): Promise<StreamPhase> {
  const base = `http://127.0.0.1:${api.port}`;
  await (await fetch(`${base}/healthz`)).text();
  const rssBeforeMb = rssMb(api.pid);
  let arrived = 0;
  let wake: () => void = () => undefined;
  const clients: Client[] = [];
  const paths = ['/api/stream', `/api/stream?feed=${feedId}`, '/api/stream?lang=en'];
  for (let i = 0; i < o.streams; i++) {
    // 70 % unfiltered, 20 % one feed, 10 % one language: three filter groups in the hub's read.
    const path = i % 10 < 7 ? paths[0]! : i % 10 < 9 ? paths[1]! : paths[2]!;
    clients.push(connect(`${base}${path}`, () => {
      arrived++;
      wake();
    }));
    // Opened in waves, as reconnecting readers would arrive; the hub registers each at its cursor.
    if (i % 100 === 99) await Promise.all(clients.slice(i - 99, i + 1).map((c) => c.ready));
  }
  await Promise.all(clients.map((c) => c.ready));
  // Let the child settle its allocations before reading its memory.
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfterMb = rssMb(api.pid);
  log(`  ${o.streams} streams open; API RSS ${rssBeforeMb.toFixed(0)} → ${rssAfterMb.toFixed(0)} MB`);

  const conn: Db = await openDb({ databaseUrl: db.env.DATABASE_URL, dataDir: db.env.DATA_DIR, poolSize: 2 });
  const feed = { id: feedId, language: 'en' };
  const latencies: number[] = [];
  const commits: number[] = [];
  let missing = 0;
  try {
    for (let round = 0; round < o.rounds; round++) {
      arrived = 0;
      const t0 = performance.now();
      const item = {
        guid: `stream-bench-${round}-${t0}`, url: `https://bench.example/stream/${round}/${Math.round(t0)}`, title: `stream-bench-${round}`,
        published: new Date().toISOString(), updated: null, author: null, categories: [], enclosures: [], summary: 'stream bench', content_html: '<p>stream bench</p>',
      };
      await commitChange(conn, (tx) => ingestItems(tx, feed, [item], { now: new Date(), retentionDays: 0 }), () => true);
      commits.push(performance.now() - t0);
      const deadline = Date.now() + ROUND_WAIT_MS;
      while (arrived < clients.length && Date.now() < deadline) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      for (const c of clients) {
        const at = c.arrivals.get(round);
        if (at === undefined) missing++;
        else latencies.push(at - t0);
      }
      // A pause between rounds, so each round is one poll's commit, not a backlog.
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await conn.close();
    for (const c of clients) c.req.destroy();
  }
  latencies.sort((a, b) => a - b);
  commits.sort((a, b) => a - b);
  return {
    backend: db.kind,
    streams: o.streams,
    rounds: o.rounds,
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies[latencies.length - 1] ?? NaN },
    commitMs: percentile(commits, 0.5),
    missing,
    rssBeforeMb,
    rssAfterMb,
    kbPerStream: ((rssAfterMb - rssBeforeMb) * 1024) / o.streams,
  };
}

/** Before the API child starts (it will own an embedded directory): migrated, with one feed. */
export async function prepareStreamDb(db: BenchDatabase): Promise<number> {
  const conn = await db.open();
  try {
    await migrate(conn);
    const feed = await insertFeed(conn, { url: 'https://bench.example/stream.xml', title: 'Stream bench', language: 'en' });
    return feed!.id;
  } finally {
    await conn.close();
  }
}

/** The target: p99 ≤ 1 s with 1,000 open streams on one API process. */
export const STREAM_P99_TARGET_MS = 1000;

export function renderStreamMarkdown(p: StreamPhase): string {
  const atTarget = p.streams >= 1000;
  const pass = p.latencyMs.p99 <= STREAM_P99_TARGET_MS && p.missing === 0;
  return [
    '## Live stream: publish-to-stream latency',
    '',
    `${p.streams.toLocaleString('en-US')} open /api/stream connections on one API process (${p.backend}), ${p.rounds} commits of one new entry each; ` +
      'latency from the start of the commit to the `item` event at each client (clients in the bench process).',
    '',
    '| p50 | p99 | max | commit (p50) | missing events | API RSS before → after | per open stream | target p99 ≤ 1 s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${p.latencyMs.p50.toFixed(1)} ms | ${p.latencyMs.p99.toFixed(1)} ms | ${p.latencyMs.max.toFixed(1)} ms | ${p.commitMs.toFixed(1)} ms | ${p.missing} | ` +
      `${p.rssBeforeMb.toFixed(0)} → ${p.rssAfterMb.toFixed(0)} MB | ${p.kbPerStream.toFixed(1)} KB | ${pass ? '✅' : '❌'}${atTarget ? '' : ' (fewer streams than the target\'s 1,000: indicative)'} |`,
    '',
  ].join('\n');
}
