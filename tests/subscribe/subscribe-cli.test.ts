import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { BIN, freePort, spawnTributary, waitFor } from '../helpers/processes.ts';
import { startFaultServer, SAMPLE_RSS, type FaultServer } from '../helpers/fault-server.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createApp } from '../../src/api/app.ts';
import { createFetcher } from '../../src/fetch/fetcher.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { fetchLimits } from '../../src/runtime.ts';

const run = promisify(execFile);
const TOKEN = 'subscribe-cli-token-0123456789';
const ALLOW = '127.0.0.1/32';

const PAGE = `<!doctype html><html><head><title>Blog</title>
<link rel="alternate" type="application/rss+xml" href="posts.xml">
<link rel="alternate" type="application/json" href="/feed.json">
</head><body></body></html>`;

describe(`one way to subscribe: the CLI and the API give the same answers (${backendName})`, { timeout: 600_000 }, () => {
  let t: TestDb;
  let cliDb: TestDb | null = null;
  let dataDir: string;
  let site: FaultServer;
  let env: Record<string, string>;
  let api: { base: string; close(): Promise<void> };

  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, ...extraEnv }, timeout: 150_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  const post = async (path: string, json: unknown) => {
    const res = await fetch(api.base + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
    return { status: res.status, data: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field
  };

  beforeAll(async () => {
    site = await startFaultServer();
    site.route('/blog/', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PAGE);
    });
    site.route('/blog/posts.xml', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(SAMPLE_RSS);
    });
    site.route('/plain.html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head><title>none</title></head><body></body></html>');
    });
    site.route('/stall', () => undefined);

    // The API on a database of its own, with the real resolver, as `serve` would build it.
    t = await createTestDb();
    const config = loadConfig({ ADMIN_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: '0', ALLOW_PRIVATE_NETWORKS: ALLOW });
    const fetcher = createFetcher(fetchLimits(config));
    const app = createApp({
      db: t.db,
      config,
      logger: silentLogger,
      metrics: createMetrics(),
      refreshFeed: async () => null,
      subscribe: { db: t.db, fetcher, allow: config.ALLOW_PRIVATE_NETWORKS },
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    api = {
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await fetcher.close();
      },
    };

    dataDir = mkdtempSync(join(tmpdir(), 'tributary-subscribe-'));
    env = { LOG_LEVEL: 'warn', ALLOW_PRIVATE_NETWORKS: ALLOW, DEMO: 'false' };
    if (process.env.DATABASE_URL) {
      cliDb = await createTestDb();
      env.DATABASE_URL = cliDb.url!;
    } else {
      env.DATABASE_URL = '';
      env.DATA_DIR = dataDir;
    }
  });
  afterAll(async () => {
    await api?.close();
    await site?.close();
    await t?.drop();
    await cliDb?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses the same bad URLs with the same reason', async () => {
    const bad = [
      // Each run of the CLI opens the database: a few cases, one of each kind of refusal.
      'ftp://files.example/feed.xml',
      'http://[::a9fe:a9fe]/latest/meta-data/',
      'http://10.0.0.1/feed',
      site.url('/plain.html'),
    ];
    for (const url of bad) {
      const viaApi = await post('/api/feeds', { url });
      expect(viaApi.status, url).toBe(400);
      const reason = viaApi.data.errors[0].reason as string;
      const viaCli = await cli(['feeds', 'add', url]);
      expect(viaCli.code, url).toBe(1);
      expect(viaCli.stderr.trim()).toBe(`tributary: refused: ${reason}`);
    }
  });

  it('feeds add follows a web page to its first feed, --all to every one, and says which', async () => {
    const first = await cli(['feeds', 'add', site.url('/blog/')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^added feed \\d+: ${site.url('/blog/posts.xml')} \\(found on ${site.url('/blog/')}\\)\\n$`));

    const all = await cli(['feeds', 'add', '--all', site.url('/blog/')]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^already subscribed: feed \\d+: ${site.url('/blog/posts.xml')} `));
    expect(lines[1]).toMatch(new RegExp(`^added feed \\d+: ${site.url('/feed.json')} \\(found on `));

    // The same duplicate detection as the API: the page and the feed both name the feed subscribed already.
    for (const url of [site.url('/blog/'), site.url('/blog/posts.xml').replace('http:', 'HTTP:')]) {
      const dup = await cli(['feeds', 'add', url]);
      expect(dup.code, url).toBe(1);
      expect(dup.stderr).toMatch(/^tributary: already subscribed: feed \d+/);
    }
    const apiFirst = await post('/api/feeds', { url: site.url('/blog/') });
    expect(apiFirst.status).toBe(201);
    expect(apiFirst.data.url).toBe(site.url('/blog/posts.xml'));
    expect((await post('/api/feeds', { url: site.url('/blog/posts.xml') })).status).toBe(409);
  });

  it('feeds add works offline: a host that does not resolve is added, with a note', async () => {
    const r = await cli(['feeds', 'add', 'https://news.nowhere.invalid/rss']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^added feed \d+: https:\/\/news\.nowhere\.invalid\/rss\n$/);
    expect(r.stderr).toMatch(/note: not checked now: .*subscribed as given/);
    const viaApi = await post('/api/feeds', { url: 'https://news.nowhere.invalid/rss' });
    expect(viaApi.status).toBe(201);
  });

  it('refuses to start with an invalid ALLOW_PRIVATE_NETWORKS range, naming the variable', async () => {
    const r = await cli(['serve'], { ALLOW_PRIVATE_NETWORKS: '127.0.0.0/99' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ALLOW_PRIVATE_NETWORKS: .*not a valid CIDR range: "127\.0\.0\.0\/99"/);
  });

  it('serve stops on SIGTERM while an OPML import waits on stalling hosts; the import answers with the rest skipped', async () => {
    const port = await freePort();
    const svc = spawnTributary(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: '0' });
    let signalled = false;
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor('serve listening', async () => (await fetch(`${base}/healthz`)).ok, 60_000);
      const before = site.count('/stall');
      const outlines = Array.from({ length: 2000 }, (_, i) => `<outline type="rss" text="s${i}" xmlUrl="${site.url(`/stall?sigterm=${i}`)}"/>`).join('');
      const pending = fetch(`${base}/api/opml`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/x-opml' },
        body: `<opml version="2.0"><body>${outlines}</body></opml>`,
      }).then(async (res) => ({ status: res.status, data: (await res.json()) as { complete: boolean; skipped: number; added: number } }));
      await waitFor('the import is waiting on the stalling host', async () => site.count('/stall') > before, 30_000);
      signalled = svc.child.kill('SIGTERM');
      const r = await pending;
      expect(r.status).toBe(200);
      expect(r.data.complete).toBe(false);
      expect(r.data.skipped).toBe(2000);
    } finally {
      // A second SIGTERM would kill it outright; send one only if the test stopped before its own.
      if (!signalled) svc.child.kill('SIGTERM');
    }
    expect(await svc.exited, svc.output()).toBe(0);
  });
});
