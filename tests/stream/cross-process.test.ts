import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, onServer, type TestDb } from '../helpers/db.ts';
import { EMBEDDED_TEMPLATE } from '../helpers/paths.ts';
import { freePort, spawnTributary, waitFor, type Spawned } from '../helpers/processes.ts';
import { openSse, type SseEvent, type SseStream } from '../helpers/sse.ts';
import { openEmbedded } from '../../src/store/db.ts';

const TOKEN = 'stream-cross-process';
const titles = (events: SseEvent[]) => events.filter((e) => e.event === 'item').map((e) => (JSON.parse(e.data) as { title: string }).title);

/**
 * Issue 12: a worker process commits a poll, an API process streams it. On the server the signal is
 * NOTIFY → LISTEN between processes; on the embedded database the API process reaches the owner (the
 * worker) through its socket, where no notification crosses, and finds changes by polling the
 * sequence every 250 ms.
 */
describe(`live stream across processes: worker commits, API streams (${backendName})`, { timeout: 240_000 }, () => {
  let t: TestDb | null = null;
  let dataDir: string | null = null;
  let feedServer: Server;
  let feedUrl: string;
  let titlesServed = ['Alpha arrives'];
  const procs: Spawned[] = [];
  const streams: SseStream[] = [];

  beforeAll(async () => {
    // One fixed date: a changing one would make every poll an edit of every item.
    const now = new Date().toUTCString();
    feedServer = createServer((_req, res) => {
      const items = titlesServed.map((title) => `<item><title>${title}</title><link>http://feeds.test/${encodeURIComponent(title)}</link><guid>${encodeURIComponent(title)}</guid><pubDate>${now}</pubDate></item>`).join('');
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(`<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title><link>http://feeds.test/</link>${items}</channel></rss>`);
    });
    await new Promise<void>((r) => feedServer.listen(0, '127.0.0.1', r));
    feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/feed.xml`;
    if (onServer) {
      t = await createTestDb();
    } else {
      // A copy of the migrated template: initdb in a child would cost far more.
      dataDir = mkdtempSync(join(tmpdir(), 'tributary-stream-'));
      const seed = await openEmbedded(dataDir, new Blob([readFileSync(EMBEDDED_TEMPLATE)]));
      await seed.close();
    }
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await new Promise<void>((r) => feedServer.close(() => r()));
    await t?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a poll committed by the worker reaches a stream of the API process, and SIGTERM ends the stream cleanly', async () => {
    const env = {
      ...(t ? { DATABASE_URL: t.url! } : { DATABASE_URL: '', DATA_DIR: dataDir! }),
      ALLOW_PRIVATE_NETWORKS: 'true',
      POLL_SCHEDULE: '* * * * * *',
      POLL_MIN_INTERVAL: '1',
      POLL_MAX_INTERVAL: '2',
      FETCH_HOST_SPACING_MS: '0',
      RETENTION_DAYS: '36500',
      DEMO: 'false',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '0',
      ADMIN_TOKEN: TOKEN,
    };
    // Embedded: the worker starts first and owns the directory; the API process reaches it by socket.
    const worker = spawnTributary(['worker'], env);
    procs.push(worker);
    const port = await freePort();
    if (!t) await waitFor('the worker to serve the directory', async () => readFileSync(join(dataDir!, 'tributary.lock'), 'utf8').includes('"serving"'), 120_000);
    const api = spawnTributary(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1' });
    procs.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the API', async () => (await fetch(`${base}/readyz`)).ok, 120_000);

    const stream = await openSse(`${base}/api/stream`);
    streams.push(stream);
    expect(stream.status).toBe(200);
    const added = await fetch(`${base}/api/feeds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: feedUrl }),
    });
    expect(added.status, await added.text()).toBe(201);
    await stream.until('the first poll', (ev) => titles(ev).includes('Alpha arrives'), 120_000);

    titlesServed = ['Beta follows', 'Alpha arrives'];
    await stream.until('the next poll', (ev) => titles(ev).includes('Beta follows'), 120_000);
    expect(titles(stream.events)).toEqual(['Alpha arrives', 'Beta follows']);
    expect(worker.output()).not.toMatch(/"level":(50|60)/);

    api.child.kill('SIGTERM');
    await stream.ended;
    expect(await api.exited).toBe(0);
  });
});
