import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onServer } from '../helpers/db.ts';
import { EMBEDDED_TEMPLATE } from '../helpers/paths.ts';
import { openEmbedded } from '../../src/store/db.ts';
import { BIN, freePort, spawnTributary, waitFor, type Spawned } from '../helpers/processes.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';

const run = promisify(execFile);
const LOCK = 'tributary.lock';
const SOCKET = '.s.PGSQL.5432';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface FeedView {
  id: number;
  url: string;
  last_status: number | null;
  entry_count: number;
}

/**
 * Issue 8, "the embedded database has exactly one owner": real processes of the real binary on one
 * DATA_DIR. The first takes the lock and serves its PGlite on a socket in the directory; later ones
 * work on the owner's database; a dead owner's lock is taken over.
 */
describe.skipIf(onServer)('embedded database: one owner per DATA_DIR (embedded)', { timeout: 420_000 }, () => {
  let feeds: FaultServer;
  const dirs: string[] = [];
  const baseEnv = { LOG_LEVEL: 'warn', ALLOW_PRIVATE_NETWORKS: 'true', RETENTION_DAYS: '36500', DATABASE_URL: '', DEMO: 'false', RATE_LIMIT_PER_MINUTE: '0' };

  /** A data directory holding a copy of the migrated template (initdb in every test would cost minutes here). */
  const newDataDir = async (sub?: string) => {
    const top = mkdtempSync(join(tmpdir(), 'tributary-owner-'));
    dirs.push(top);
    const dir = sub ? join(top, sub) : top;
    mkdirSync(dir, { recursive: true });
    const seed = await openEmbedded(dir, new Blob([readFileSync(EMBEDDED_TEMPLATE)]));
    await seed.close();
    return dir;
  };

  const cli = async (args: string[], env: Record<string, string>): Promise<Result> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...baseEnv, ...env }, timeout: 120_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  /** Starts a long-running command and waits until its HTTP API answers. */
  const startService = async (command: string, dataDir: string, env: Record<string, string> = {}) => {
    const port = await freePort();
    const svc = spawnTributary([command], { ...baseEnv, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ...env });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${command} to answer`, async () => {
      if (svc.child.exitCode !== null) throw new Error(`${command} exited: ${svc.output()}`);
      return (await fetch(`${base}/readyz`)).ok;
    }, 120_000).catch((err: Error) => {
      svc.child.kill('SIGKILL');
      throw new Error(`${err.message}\n${svc.output()}`);
    });
    return { svc, base };
  };

  const stop = async (svc: Spawned, signal: NodeJS.Signals = 'SIGTERM') => {
    svc.child.kill(signal);
    return svc.exited;
  };

  const feedsOf = async (base: string): Promise<FeedView[]> => ((await (await fetch(`${base}/api/feeds`)).json()) as { feeds: FeedView[] }).feeds;

  const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK), 'utf8')) as { pid: number; state: string; socket: string | null };

  beforeAll(async () => {
    feeds = await startFaultServer();
  });
  afterAll(async () => {
    await feeds?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('with the service running, feeds add and poll --once work on its database; the feeds survive a restart; SIGTERM releases the lock', async () => {
    const dataDir = await newDataDir();
    const { svc, base } = await startService('serve', dataDir);
    try {
      const add = await cli(['feeds', 'add', feeds.url('/feed.xml')], { DATA_DIR: dataDir });
      expect(add.code, add.stderr).toBe(0);
      const id = Number(/added feed (\d+)/.exec(add.stdout)?.[1]);
      // The service sees the feed the CLI added: one database, not two copies.
      expect((await feedsOf(base)).map((f) => f.id)).toEqual([id]);
      const lock = lockOf(dataDir);
      expect(lock.pid).toBe(svc.child.pid);
      expect(lock.state).toBe('serving');
      expect(existsSync(join(dataDir, SOCKET))).toBe(true);

      const poll = await cli(['poll', '--once'], { DATA_DIR: dataDir });
      expect(poll.code, poll.stderr).toBe(0);
      expect(poll.stdout.trim().split('\n').at(-1)).toMatch(/^total: 1 feeds .* 1 updated/);
      const [polled] = await feedsOf(base);
      expect(polled).toMatchObject({ id, last_status: 200 });
      expect(polled!.entry_count).toBeGreaterThan(0);
      const items = (await (await fetch(`${base}/api/items?limit=100`)).json()) as { items: unknown[] };
      expect(items.items).toHaveLength(polled!.entry_count);
    } finally {
      expect(await stop(svc), svc.output()).toBe(0);
    }
    // Clean exit: no lock, no socket file.
    expect(existsSync(join(dataDir, LOCK))).toBe(false);
    expect(existsSync(join(dataDir, SOCKET))).toBe(false);

    // After a restart the feed and its entries are still there.
    const list = await cli(['feeds', 'list'], { DATA_DIR: dataDir });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(feeds.url('/feed.xml'));
    expect(list.stdout).toMatch(/ok, [1-9]\d* entries/);
    expect(existsSync(join(dataDir, LOCK))).toBe(false);
  });

  it('CLI writes while the owner polls every second: every command succeeds and every feed and entry lands once', async () => {
    const dataDir = await newDataDir();
    const urls = ['/feed.xml', '/atom.xml', '/status/500'].map((p) => feeds.url(p));
    const { svc, base } = await startService('start', dataDir, { POLL_SCHEDULE: '* * * * * *', POLL_MIN_INTERVAL: '1s', POLL_MAX_INTERVAL: '1s', FETCH_HOST_SPACING_MS: '0' });
    try {
      const first = await cli(['feeds', 'add', urls[0]!], { DATA_DIR: dataDir });
      expect(first.code, first.stderr).toBe(0);
      await waitFor('the service to poll the first feed', async () => (await feedsOf(base)).some((f) => f.last_status === 200));
      const before = feeds.count('/feed.xml');
      // Several CLI processes at once, each with its own transactions, while the owner's worker polls.
      const results = await Promise.all([
        cli(['feeds', 'add', urls[1]!], { DATA_DIR: dataDir }),
        cli(['feeds', 'add', urls[2]!], { DATA_DIR: dataDir }),
        cli(['poll', '--once', '--all'], { DATA_DIR: dataDir }),
        cli(['poll', '--once', '--all'], { DATA_DIR: dataDir }),
        cli(['feeds', 'list'], { DATA_DIR: dataDir }),
      ]);
      for (const r of results) expect(r.code, r.stderr + r.stdout).toBe(0);
      // The owner kept polling meanwhile.
      await waitFor('the service to poll again', async () => feeds.count('/feed.xml') > before + 1);

      const all = await waitFor('every feed polled', async () => {
        const f = await feedsOf(base);
        return f.length === 3 && f.every((x) => x.last_status !== null) ? f : null;
      });
      expect(all.map((f) => f.url).sort()).toEqual([...urls].sort());
      const items = (await (await fetch(`${base}/api/items?limit=200`)).json()) as { items: { id: number; url: string | null }[] };
      const total = all.reduce((n, f) => n + f.entry_count, 0);
      expect(total).toBeGreaterThan(0);
      expect(items.items).toHaveLength(total);
      expect(new Set(items.items.map((i) => i.id)).size).toBe(total);
      expect(svc.output()).not.toMatch(/"level":(50|60)/);
    } finally {
      expect(await stop(svc), svc.output()).toBe(0);
    }
  });

  it('a lock left by a killed owner is taken over, and so is one whose PID now belongs to another process', async () => {
    const dataDir = await newDataDir();
    const { svc } = await startService('serve', dataDir);
    svc.child.kill('SIGKILL');
    await svc.exited;
    // kill -9 leaves both the lock and the socket file behind.
    expect(lockOf(dataDir).pid).toBe(svc.child.pid);
    expect(existsSync(join(dataDir, SOCKET))).toBe(true);

    const add = await cli(['feeds', 'add', feeds.url('/feed.xml')], { DATA_DIR: dataDir });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/added feed \d+/);
    expect(existsSync(join(dataDir, LOCK))).toBe(false);

    // A recycled PID: the lock names a live process (this test) with another start time.
    writeFileSync(join(dataDir, LOCK), JSON.stringify({ pid: process.pid, host: hostname(), started: '1', command: 'tributary serve', socket: dataDir, state: 'serving' }));
    const list = await cli(['feeds', 'list'], { DATA_DIR: dataDir });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(feeds.url('/feed.xml'));

    // And the service starts on it.
    const again = await startService('serve', dataDir);
    expect(lockOf(dataDir).pid).toBe(again.svc.child.pid);
    expect((await feedsOf(again.base)).map((f) => f.url)).toEqual([feeds.url('/feed.xml')]);
    expect(await stop(again.svc)).toBe(0);
  });

  it('a command interrupted by SIGINT removes its lock and socket on the way out', async () => {
    const dataDir = await newDataDir();
    // The import waits on a feed server that never answers, holding the database meanwhile.
    const importing = spawnTributary(['feeds', 'import', feeds.url('/hang')], { ...baseEnv, DATA_DIR: dataDir });
    await waitFor('the import to own the directory', async () => existsSync(join(dataDir, LOCK)) && lockOf(dataDir).state === 'serving', 120_000);
    expect(lockOf(dataDir).pid).toBe(importing.child.pid);
    importing.child.kill('SIGINT');
    expect(await importing.exited).toBe(null); // still dies of the signal, as before
    expect(importing.child.signalCode).toBe('SIGINT');
    expect(existsSync(join(dataDir, LOCK))).toBe(false);
    expect(existsSync(join(dataDir, SOCKET))).toBe(false);
  });

  it('a worker started beside the service becomes the owner when the service stops', async () => {
    const dataDir = await newDataDir();
    const { svc, base } = await startService('serve', dataDir);
    const worker = spawnTributary(['worker'], { ...baseEnv, DATA_DIR: dataDir, POLL_SCHEDULE: '* * * * * *', POLL_MIN_INTERVAL: '1s', POLL_MAX_INTERVAL: '1s', FETCH_HOST_SPACING_MS: '0' });
    try {
      const add = await cli(['feeds', 'add', feeds.url('/feed.xml')], { DATA_DIR: dataDir });
      expect(add.code, add.stderr).toBe(0);
      // The worker, a client of the service's database, polls the feed the service then shows.
      await waitFor('the worker to poll through the service', async () => (await feedsOf(base)).some((f) => f.last_status === 200), 120_000);
      expect(lockOf(dataDir).pid).toBe(svc.child.pid);
      expect(await stop(svc), svc.output()).toBe(0);
      // Its next tick finds the socket gone, takes the lock and serves the directory itself.
      await waitFor('the worker to take over', async () => existsSync(join(dataDir, LOCK)) && lockOf(dataDir).pid === worker.child.pid && lockOf(dataDir).state === 'serving', 120_000);
      const before = feeds.count('/feed.xml');
      await waitFor('the worker to keep polling', async () => feeds.count('/feed.xml') > before, 120_000);
      const list = await cli(['feeds', 'list'], { DATA_DIR: dataDir });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain(feeds.url('/feed.xml'));
    } finally {
      svc.child.kill('SIGTERM');
      expect(await stop(worker), worker.output()).toBe(0);
    }
    expect(existsSync(join(dataDir, LOCK))).toBe(false);
  });

  it('an owner that cannot serve a socket (path too long) makes a second process refuse at once, naming its PID; SIGINT releases the lock', async () => {
    // sun_path holds 107 bytes: a data directory this deep cannot carry the socket.
    const deep = await newDataDir(join('x'.repeat(60), 'y'.repeat(60)));
    const { svc } = await startService('serve', deep);
    try {
      expect(lockOf(deep)).toMatchObject({ pid: svc.child.pid, state: 'not-serving' });
      const r = await cli(['feeds', 'add', feeds.url('/feed.xml')], { DATA_DIR: deep });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`in use by process ${svc.child.pid} (tributary serve)`);
      expect(r.stderr).toMatch(/use its HTTP API, or stop that process/);
    } finally {
      expect(await stop(svc, 'SIGINT'), svc.output()).toBe(0);
    }
    expect(existsSync(join(deep, LOCK))).toBe(false);
  });
});
