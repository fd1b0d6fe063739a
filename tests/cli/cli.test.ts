import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { BIN, freePort, spawnTributary, waitFor } from '../helpers/processes.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { FIXTURES } from '../helpers/paths.ts';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`feeds/${name}`, FIXTURES));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe(`tributary CLI (${backendName})`, { timeout: 180_000 }, () => {
  let t: TestDb | null = null;
  let dataDir: string;
  let server: FaultServer;
  let env: Record<string, string>;

  const cli = async (args: string[], extraEnv: Record<string, string> = {}): Promise<Result> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, ...extraEnv }, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
    server = await startFaultServer();
    env = { LOG_LEVEL: 'warn', ALLOW_PRIVATE_NETWORKS: 'true', RETENTION_DAYS: '36500' };
    if (process.env.DATABASE_URL) {
      t = await createTestDb();
      env.DATABASE_URL = t.url!;
    } else {
      env.DATABASE_URL = '';
      env.DATA_DIR = dataDir;
    }
  });
  afterAll(async () => {
    await server?.close();
    await t?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('--help lists the commands; an unknown command is a usage error', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['start', 'serve', 'worker', 'poll --once', 'parse', 'feeds add', 'feeds import', 'migrate']) expect(help.stdout).toContain(c);
    const bad = await cli(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('parse prints the normalised JSON of a local file', async () => {
    const r = await cli(['parse', fixture('levant-wordpress.rss.xml'), '--base-url', 'https://levantnews.example/feed/']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.format).toBe('rss2');
    expect(Object.keys(out.feed)).toEqual(expect.arrayContaining(['title', 'link', 'language']));
    const deir = out.items.find((i: { title: string }) => i.title.startsWith('Syria, new defeat for Isis in Deir Ezzor'));
    expect(deir).toMatchObject({ url: 'https://levantnews.example/2017/11/syria-deir-ezzor-abu-kamal-crossing/' });
    for (const key of ['guid', 'url', 'title', 'published', 'updated', 'author', 'categories', 'enclosures', 'summary', 'content_html']) {
      expect(deir).toHaveProperty(key);
    }
  });

  it('parse decodes a windows-1252 file by its prolog', async () => {
    const r = await cli(['parse', fixture('corriere-mediterraneo-1252.rss.xml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Siria, nuova sconfitta per l'Isis a Deir Ezzor");
    expect(r.stdout).not.toContain('\uFFFD');
  });

  it('parse fetches a URL', async () => {
    const r = await cli(['parse', server.url('/atom.xml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).format).toBe('atom1');
  });

  it('bad input: a clear message on stderr, non-zero exit, never a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-bad-'));
    const notFeed = join(dir, 'page.html');
    writeFileSync(notFeed, '<!doctype html><html><head><title>x</title></head><body>hello</body></html>');
    for (const args of [['parse', join(dir, 'missing.xml')], ['parse', notFeed], ['parse', server.url('/status/500')], ['parse']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/^tributary: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('feeds add / list / import / remove, and poll --once prints a line per feed and a total', async () => {
    const add = await cli(['feeds', 'add', server.url('/feed.xml'), '--region', 'levant', '--title', 'Fault feed']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/added feed \d+/);
    const again = await cli(['feeds', 'add', server.url('/feed.xml')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already subscribed/);

    const opmlDir = mkdtempSync(join(tmpdir(), 'tributary-opml-'));
    const opml = join(opmlDir, 'feeds.opml');
    writeFileSync(opml, `<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
      <outline text="gulf"><outline type="rss" text="Atom" xmlUrl="${server.url('/atom.xml')}"/>
      <outline type="rss" text="Broken" xmlUrl="${server.url('/status/500')}"/></outline></body></opml>`);
    const imp = await cli(['feeds', 'import', opml]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/imported 2 new feeds/);

    const poll = await cli(['poll', '--once']);
    expect(poll.code, poll.stderr).toBe(0);
    const lines = poll.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('feed '))).toHaveLength(3);
    expect(poll.stdout).toMatch(/status\/500: 500 error \(http\)/);
    expect(lines.at(-1)).toMatch(/^total: 3 feeds .* 2 updated, 0 unchanged, 1 failed/);

    const list = await cli(['feeds', 'list']);
    expect(list.stdout).toMatch(/levant\tFault feed\t.*ok, 1 entries/);
    expect(list.stdout).toMatch(/failing \(1x\)/);

    const remove = await cli(['feeds', 'remove', server.url('/feed.xml')]);
    expect(remove.code, remove.stderr).toBe(0);
    expect((await cli(['feeds', 'list'])).stdout).not.toContain('Fault feed');
    rmSync(opmlDir, { recursive: true, force: true });
  });

  it('poll --once takes only due feeds; --all takes every enabled feed', async () => {
    const due = await cli(['poll', '--once']);
    expect(due.code, due.stderr).toBe(0);
    expect(due.stdout.trim().split('\n').at(-1)).toMatch(/^total: 0 feeds/);
    const all = await cli(['poll', '--once', '--all']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim().split('\n').filter((l) => l.startsWith('feed '))).toHaveLength(2);
    expect(all.stdout.trim().split('\n').at(-1)).toMatch(/^total: 2 feeds/);
  });

  it('migrate reports the database up to date', async () => {
    const r = await cli(['migrate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^up to date \(\d+ migrations applied before\)/);
  });

  it('start serves the bundled demo: the merged feed fills by itself, and SIGTERM exits 0', async () => {
    const port = await freePort();
    const svc = spawnTributary(['start'], { ...env, PORT: String(port), HOST: '127.0.0.1', ALLOW_PRIVATE_NETWORKS: 'false', RATE_LIMIT_PER_MINUTE: '0' });
    try {
      const base = `http://127.0.0.1:${port}`;
      const demoFeeds = async () => {
        const r = (await (await fetch(`${base}/api/feeds`)).json()) as { feeds: { url: string; last_status: number | null }[] };
        return r.feeds.filter((f) => f.url.startsWith('http://127.0.0.1:') && !f.url.startsWith(server.origin));
      };
      const demo = await waitFor('every demo feed polled', async () => {
        const d = await demoFeeds();
        return d.length > 0 && d.every((f) => f.last_status !== null) ? d : null;
      }, 120_000);
      expect(demo).toHaveLength(6);
      expect(demo.every((f) => f.last_status === 200)).toBe(true);
      const feed = (await (await fetch(`${base}/feed.json?limit=200`)).json()) as { items: { title: string; _tributary?: { sources: unknown[] } }[] };
      expect(feed.items.length).toBeGreaterThanOrEqual(30);
      const deir = feed.items.filter((i) => i.title === 'Syria, new defeat for Isis in Deir Ezzor: the Abu Kamal crossing with Iraq reopens');
      expect(deir).toHaveLength(1);
      expect(deir[0]!._tributary?.sources).toHaveLength(2);
    } finally {
      svc.child.kill('SIGTERM');
    }
    expect(await svc.exited, svc.output()).toBe(0);
  });

  it('a refused URL is not added', async () => {
    const r = await cli(['feeds', 'add', 'http://127.0.0.1:9/feed.xml'], { ALLOW_PRIVATE_NETWORKS: 'false' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused: .*127\.0\.0\.1/);
  });

  it('poll --once exits non-zero when the database is unreachable', async () => {
    const r = await cli(['poll', '--once'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot open the database/);
  });
});
