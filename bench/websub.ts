/**
 * `npm run bench -- --websub [--quick]`: WebSub delivery → entries committed, visible, and streamed.
 *
 * A hub (this process) POSTs signed feed documents, each with one new item, to the real app's
 * callback (`createApp` on a real HTTP server, subscriptions verified through the store as the
 * callback would), and measures per delivery: until the callback answered (the entries are
 * committed: recordPushedItems returns after commit) and until the new item is visible to a reader
 * (`GET /api/items?feed=<id>` lists it), and until its `item` event reaches a client holding an
 * unfiltered `/api/stream` open on the same app (issue 12's target: delivery → stream event). Floor of the same run: the same signed POST to a bare
 * node:http server that reads the body and answers, so `÷ floor` is what parse + dedupe + store cost.
 * Sequential deliveries, then `concurrency` hubs delivering at once.
 */
import http, { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/env.ts';
import { createApp } from '../src/api/app.ts';
import { createRuntime } from '../src/runtime.ts';
import { migrate } from '../src/store/migrate.ts';
import { insertFeeds } from '../src/store/feeds.ts';
import { confirmSubscribe, markSubscribePending } from '../src/store/websub.ts';
import { renewalTime } from '../src/websub/subscriber.ts';
import { signBody } from '../src/websub/signature.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { createBenchDatabase } from './bench-db.ts';

export interface WebSubBenchOptions {
  feeds: number;
  deliveries: number;
  concurrency: number;
  log: (s: string) => void;
}

export interface LatencySummary {
  n: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface WebSubBenchResult {
  backend: string;
  feeds: number;
  itemsPerDocument: number;
  sequential: { committed: LatencySummary; visible: LatencySummary; streamed: LatencySummary; floor: LatencySummary };
  concurrent: { concurrency: number; committed: LatencySummary; visible: LatencySummary; streamed: LatencySummary; deliveriesPerSecond: number };
  targetP99Ms: number;
}

/** The target for WebSub delivery → stream event (the `streamed` measure). */
export const WEBSUB_TARGET_P99_MS = 2000;
const ITEMS_PER_DOCUMENT = 20;
const SECRET = 'bench-secret';

function summarise(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return { n: s.length, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), maxMs: s.at(-1) ?? 0 };
}

/** A feed document as publishers send it: the newest items, the new one first. */
function documentFor(feed: number, seq: number): string {
  const items = Array.from({ length: ITEMS_PER_DOCUMENT }, (_, i) => {
    const n = seq - i;
    const when = new Date(Date.now() - i * 60_000).toUTCString();
    return `<item><title>Feed ${feed} story ${n}</title><link>https://push${feed}.example/${n}</link><guid>p${feed}-${n}</guid><pubDate>${when}</pubDate><description>Body of story ${n} of feed ${feed}, pushed.</description></item>`;
  }).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Push ${feed}</title><link>https://push${feed}.example/</link>${items}</channel></rss>`;
}

/**
 * One open /api/stream: when each item event arrives, by title. A waiter registered before its
 * delivery is POSTed, since the event can come before the callback's answer does.
 */
function openStream(url: string): { ready: Promise<void>; arrival: (title: string) => Promise<number>; close: () => void } {
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (t: number) => void>();
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
        const m = /"title":"(Feed \d+ story \d+)"/.exec(block);
        if (!m || !block.includes('event: item') || arrived.has(m[1]!)) continue;
        arrived.set(m[1]!, now);
        waiting.get(m[1]!)?.(now);
        waiting.delete(m[1]!);
      }
    });
  });
  req.on('error', (err) => failed(err));
  return {
    ready: readyP,
    arrival: (title) => {
      const at = arrived.get(title);
      return at !== undefined ? Promise.resolve(at) : new Promise((resolve) => waiting.set(title, resolve));
    },
    close: () => req.destroy(),
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function runWebSubBench(o: WebSubBenchOptions): Promise<WebSubBenchResult> {
  const bench = await createBenchDatabase(process.env.DATABASE_URL);
  const db = await bench.open();
  const server = createServer();
  let stream: ReturnType<typeof openStream> | null = null;
  const floor = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  try {
    await migrate(db);
    const base = await listen(server);
    const floorBase = await listen(floor);
    const config = loadConfig({ PUBLIC_URL: base, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent', ALLOW_PRIVATE_NETWORKS: 'true', RETENTION_DAYS: '36500', PARSE_THREADS: '0' });
    const rt = await createRuntime(config, { db, migrate: false, logger: silentLogger });
    server.on('request', createApp({
      db, config, logger: silentLogger, metrics: rt.metrics, refreshFeed: async () => null,
      subscribe: { db, fetcher: rt.fetcher, allow: config.ALLOW_PRIVATE_NETWORKS },
      websub: { subscriber: rt.websub.subscriber, publisher: null, parse: rt.pollDeps.parse },
    }));

    o.log(`websub: ${o.feeds} subscribed feeds on ${db.kind}`);
    const rows = await insertFeeds(db, Array.from({ length: o.feeds }, (_, i) => ({ url: `https://push${i}.example/feed.xml` })));
    const now = new Date();
    for (const f of rows) {
      const token = `token-${f.id}`;
      const topic = `https://push${f.id}.example/feed.xml`;
      await markSubscribePending(db, { feedId: f.id, hub: 'http://hub.bench/', topic, token, secret: SECRET, leaseSeconds: 86400, now, verifyBy: now });
      await confirmSubscribe(db, { feedId: f.id, token, topic, leaseSeconds: 86400, now, renewAt: (l) => renewalTime(now, l), pollMaxSeconds: 3600 });
    }
    const seq = new Map<number, number>(rows.map((f) => [f.id, ITEMS_PER_DOCUMENT]));
    // Unfiltered: it gets every delivery's new item. The callback commits in this process, so the
    // hub hears it by the in-process signal, as the API process receiving a delivery does.
    stream = openStream(`${base}/api/stream`);
    await stream.ready;

    /**
     * One delivery: POST until answered (committed), then read until the new item is listed
     * (visible); its stream event is awaited after that (it has usually come by then).
     */
    const deliver = async (feedId: number): Promise<{ committed: number; visible: number; streamed: number }> => {
      const n = (seq.get(feedId) ?? 0) + 1;
      seq.set(feedId, n);
      const body = documentFor(feedId, n);
      const title = `Feed ${feedId} story ${n}`;
      const event = stream!.arrival(title);
      const t0 = performance.now();
      const res = await fetch(`${base}/websub/${feedId}/token-${feedId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/rss+xml', 'x-hub-signature-256': signBody(body, SECRET) },
        body,
      });
      const answer = await res.text();
      if (res.status !== 200) throw new Error(`delivery answered ${res.status}: ${answer.slice(0, 200)}`);
      const committed = performance.now() - t0;
      for (;;) {
        const page = (await (await fetch(`${base}/api/items?feed=${feedId}&limit=1`)).json()) as { items: { title: string }[] };
        if (page.items[0]?.title === title) break;
      }
      const visible = performance.now() - t0;
      return { committed, visible, streamed: (await event) - t0 };
    };

    // Warm-up: first deliveries compile queries and fill caches.
    for (const f of rows.slice(0, Math.min(5, rows.length))) await deliver(f.id);

    o.log(`websub: ${o.deliveries} sequential deliveries`);
    const committed: number[] = [];
    const visible: number[] = [];
    const streamed: number[] = [];
    const floorMs: number[] = [];
    for (let i = 0; i < o.deliveries; i++) {
      const feed = rows[i % rows.length]!;
      const r = await deliver(feed.id);
      committed.push(r.committed);
      visible.push(r.visible);
      streamed.push(r.streamed);
      const body = documentFor(feed.id, i);
      const t0 = performance.now();
      const fr = await fetch(`${floorBase}/websub/${feed.id}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/rss+xml', 'x-hub-signature-256': signBody(body, SECRET) },
        body,
      });
      await fr.text();
      floorMs.push(performance.now() - t0);
    }

    o.log(`websub: ${o.deliveries} deliveries, ${o.concurrency} at once`);
    const cCommitted: number[] = [];
    const cVisible: number[] = [];
    const cStreamed: number[] = [];
    let next = 0;
    const started = performance.now();
    // Each lane delivers to its own feeds, so one feed never gets two documents at once.
    await Promise.all(
      Array.from({ length: o.concurrency }, async (_, lane) => {
        const mine = rows.filter((_, i) => i % o.concurrency === lane);
        while (next < o.deliveries && mine.length > 0) {
          const k = next++;
          const r = await deliver(mine[k % mine.length]!.id);
          cCommitted.push(r.committed);
          cVisible.push(r.visible);
          cStreamed.push(r.streamed);
        }
      }),
    );
    const wallS = (performance.now() - started) / 1000;
    stream.close();
    await rt.close();
    return {
      backend: db.kind === 'postgres' ? 'PostgreSQL server' : 'embedded PGlite',
      feeds: o.feeds,
      itemsPerDocument: ITEMS_PER_DOCUMENT,
      sequential: { committed: summarise(committed), visible: summarise(visible), streamed: summarise(streamed), floor: summarise(floorMs) },
      concurrent: { concurrency: o.concurrency, committed: summarise(cCommitted), visible: summarise(cVisible), streamed: summarise(cStreamed), deliveriesPerSecond: cCommitted.length / wallS },
      targetP99Ms: WEBSUB_TARGET_P99_MS,
    };
  } finally {
    stream?.close();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => floor.close(() => r()));
    await db.close();
    await bench.drop();
  }
}

export function renderWebSubMarkdown(r: WebSubBenchResult): string {
  const ms = (v: number) => v.toFixed(1);
  const row = (label: string, s: LatencySummary, floor?: LatencySummary) =>
    `| ${label} | ${s.n} | ${ms(s.p50Ms)} | ${ms(s.p95Ms)} | ${ms(s.p99Ms)} | ${ms(s.maxMs)} | ${floor ? (s.p99Ms / Math.max(floor.p99Ms, 0.001)).toFixed(1) : ''} |`;
  const ok = r.sequential.streamed.p99Ms <= r.targetP99Ms && r.concurrent.streamed.p99Ms <= r.targetP99Ms;
  return [
    `## WebSub delivery → committed / visible / stream event (${r.backend})`,
    '',
    `${r.feeds} subscribed feeds; each delivery is a signed RSS document of ${r.itemsPerDocument} items, one of them new; ` +
      'one client holds an unfiltered /api/stream open on the same app.',
    '',
    '| measure | n | p50 ms | p95 ms | p99 ms | max ms | p99 ÷ floor p99 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    row('floor: same signed POST to a bare node:http server', r.sequential.floor),
    row('sequential: delivery → committed (callback answered)', r.sequential.committed, r.sequential.floor),
    row('sequential: delivery → visible in /api/items', r.sequential.visible, r.sequential.floor),
    row('sequential: delivery → `item` event on /api/stream', r.sequential.streamed, r.sequential.floor),
    row(`${r.concurrent.concurrency} at once: delivery → committed`, r.concurrent.committed),
    row(`${r.concurrent.concurrency} at once: delivery → visible`, r.concurrent.visible),
    row(`${r.concurrent.concurrency} at once: delivery → \`item\` event`, r.concurrent.streamed),
    '',
    `Throughput with ${r.concurrent.concurrency} hubs delivering at once: ${r.concurrent.deliveriesPerSecond.toFixed(1)} deliveries/s.`,
    `Target (issue 12, delivery → stream event p99 ≤ ${r.targetP99Ms} ms, sequential and ${r.concurrent.concurrency} at once): ` +
      `${ok ? 'met' : 'NOT met'} (p99 ${ms(r.sequential.streamed.p99Ms)} / ${ms(r.concurrent.streamed.p99Ms)} ms).`,
    '',
  ].join('\n');
}
