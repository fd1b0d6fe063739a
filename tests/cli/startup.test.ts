import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, onServer, withDatabase, type TestDb } from '../helpers/db.ts';
import { BIN, spawnTributary, waitFor } from '../helpers/processes.ts';
import { startFaultServer, SAMPLE_RSS, type FaultServer } from '../helpers/fault-server.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { openEmbedded } from '../../src/store/db.ts';
import { insertFeeds } from '../../src/store/feeds.ts';

const run = promisify(execFile);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/nowhere';

describe(`start-up tells the truth (${backendName})`, { timeout: 180_000 }, () => {
  let t: TestDb | null = null;
  let dataDir: string;
  let env: Record<string, string>;

  const cli = async (args: string[], extraEnv: Record<string, string> = {}): Promise<Result> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, ...extraEnv }, timeout: 90_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number | null; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tributary-startup-'));
    env = { LOG_LEVEL: 'warn', ALLOW_PRIVATE_NETWORKS: 'true', RETENTION_DAYS: '36500', DEMO: 'false', RATE_LIMIT_PER_MINUTE: '0' };
    if (onServer) {
      t = await createTestDb();
      env.DATABASE_URL = t.url!;
    } else {
      env.DATABASE_URL = '';
      env.DATA_DIR = dataDir;
    }
  });
  afterAll(async () => {
    await t?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serve and start on a busy port: "port N is in use" and a non-zero exit', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      for (const command of ['serve', 'start']) {
        const r = await cli([command], { PORT: String(port), HOST: '127.0.0.1' });
        expect(r.code, `${command}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`^tributary: port ${port} is in use`, 'm'));
        expect(r.stderr).not.toMatch(/Tributary is up/);
      }
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('an unreachable DATABASE_URL: every command retries for DB_CONNECT_TIMEOUT, then exits 1 with the same line', async () => {
    const lines = new Set<string>();
    for (const args of [['serve'], ['worker'], ['start'], ['migrate'], ['poll', '--once'], ['feeds', 'list']]) {
      const r = await cli(args, { DATABASE_URL: UNREACHABLE, DB_CONNECT_TIMEOUT: '1s', LOG_LEVEL: 'info', PORT: '0', DEMO: 'true' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      const line = r.stderr.split('\n').find((l) => l.startsWith('tributary: '));
      expect(line, `${args.join(' ')}: ${r.stderr}`).toMatch(
        /^tributary: cannot reach the database at postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED.* \(gave up after 1 s; DB_CONNECT_TIMEOUT/,
      );
      // It waited and said so before giving up.
      expect(r.stderr, args.join(' ')).toMatch(/database not reachable yet; retrying/);
      expect(r.stderr).not.toMatch(/unexpected error|at .*\.ts:\d+/);
      lines.add(line!);
    }
    expect(lines.size).toBe(1);
  });

  it('DB_CONNECT_TIMEOUT must be a duration', async () => {
    const r = await cli(['migrate'], { DB_CONNECT_TIMEOUT: 'soon' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DB_CONNECT_TIMEOUT: expected a duration/);
  });

  it.skipIf(!onServer)('a server that comes up while a command waits: the command goes on', async () => {
    const server = new URL(t!.url!);
    const proxy = await startTcpProxy(server.hostname, Number(server.port || 5432));
    const port = proxy.port;
    await proxy.down();
    try {
      const viaProxy = withDatabase(`postgres://postgres@127.0.0.1:${port}/x`, server.pathname.slice(1));
      const migrating = spawnTributary(['migrate'], { ...env, DATABASE_URL: viaProxy, DB_CONNECT_TIMEOUT: '60s', LOG_LEVEL: 'info' });
      await waitFor('the command waiting', async () => /database not reachable yet; retrying/.test(migrating.output()), 60_000);
      await proxy.up();
      expect(await migrating.exited, migrating.output()).toBe(0);
      expect(migrating.output()).toMatch(/^up to date/m);
    } finally {
      await proxy.close();
    }
  });

  describe('poll --once and hosts paused by Retry-After', () => {
    let paused: FaultServer;
    beforeAll(async () => {
      paused = await startFaultServer({ host: '127.0.3.1' });
      for (const p of ['/a.xml', '/b.xml']) {
        paused.route(p, (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/rss+xml' });
          res.end(SAMPLE_RSS);
        });
      }
    });
    afterAll(async () => {
      await paused?.close();
    });

    it('prints a line for every feed skipped because its host is paused, and counts them in the total', async () => {
      // First the feed that answers 503 + Retry-After: 120; one request at a time to the host.
      const urls = ['/status/503', '/a.xml', '/b.xml'].map((p) => ({ url: paused.url(p) }));
      if (t) {
        await insertFeeds(t.db, urls);
      } else {
        const migrated = await cli(['migrate']);
        expect(migrated.code, migrated.stderr).toBe(0);
        const db = await openEmbedded(dataDir);
        await insertFeeds(db, urls).finally(() => db.close());
      }
      const r = await cli(['poll', '--once'], { FETCH_PER_HOST: '1' });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.find((l) => l.includes('/status/503'))).toMatch(/: 503 error \(http\)/);
      for (const p of ['/a.xml', '/b.xml']) {
        expect(lines.find((l) => l.includes(p)), r.stdout).toMatch(
          new RegExp(`^feed \\d+ ${paused.url(p).replace(/[.]/g, '\\.')}: - skipped: host 127\\.0\\.3\\.1:\\d+ is paused by a Retry-After until \\d{4}-`),
        );
      }
      expect(lines.at(-1)).toMatch(/^total: 3 feeds .* 1 failed, 2 skipped \(host paused\)/);
      expect(paused.count('/a.xml') + paused.count('/b.xml')).toBe(0);
    });
  });
});
