import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { onServer, withDatabase } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { freePort, spawnTributary, waitFor, type Spawned } from '../helpers/processes.ts';
import { havePgBouncer, PGBOUNCER, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.ts';

// Every command through PgBouncer in transaction pooling mode, whose few server connections are
// handed to a different client after every transaction: any session state (a session-level SET,
// an advisory lock held between statements, a named prepared statement) breaks here.
const FEEDS = 40;
const ITEMS = 6;
const SERVER_POOL = 3;

function rssFeed(n: number, items_ = ITEMS): string {
  const items = Array.from({ length: items_ }, (_, i) => `<item><title>Feed ${n} item ${i}</title>
    <link>https://pooled${n}.example/a/${i}</link><guid>pooled-${n}-${i}</guid>
    <pubDate>Mon, 20 Nov 2017 10:${String(i).padStart(2, '0')}:00 GMT</pubDate></item>`).join('');
  // One story every feed carries: concurrent pollers race to insert the same entry.
  const wire = `<item><title>Wire story</title><link>https://wire.example/pooled?utm_source=${n}</link>
    <guid>wire-${n}</guid><pubDate>Mon, 20 Nov 2017 09:00:00 GMT</pubDate></item>`;
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Pooled ${n}</title>${items}${wire}</channel></rss>`;
}

async function admin(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const skipReason = !onServer
  ? 'needs the PostgreSQL server back end (DATABASE_URL): PgBouncer pools server connections, PGlite has none'
  : !havePgBouncer
    ? `PgBouncer is not installed (${PGBOUNCER}; apt-get install pgbouncer, as .ci/run does)`
    : null;
if (skipReason) console.warn(`tests/ops/pgbouncer.test.ts skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('through PgBouncer, pool_mode = transaction (postgres)', () => {
  // The describe body runs even when skipped: nothing here may need DATABASE_URL.
  const serverUrl = process.env.DATABASE_URL ?? '';
  const name = `tributary_pgbouncer_${process.pid}_${randomBytes(3).toString('hex')}`;
  const direct = () => withDatabase(serverUrl, name);
  let bouncer: PgBouncer;
  let farms: FaultServer[] = [];
  let db: pg.Pool;
  let via = '';
  let extraItems = 0;
  /** Migrations applied through the pooler by the first test. */
  let versions = 0;
  const env = (): Record<string, string> => ({
    DATABASE_URL: via,
    ALLOW_PRIVATE_NETWORKS: 'true',
    DEMO: 'false',
    LOG_LEVEL: 'warn',
    POLL_BATCH_SIZE: '4',
    FETCH_CONCURRENCY: '4',
    FETCH_PER_HOST: '4',
    FETCH_HOST_SPACING_MS: '0',
    RETENTION_DAYS: '36500',
    DB_POOL_SIZE: '6',
    PARSE_THREADS: '0',
  });
  const run = async (args: string[], extra: Record<string, string> = {}): Promise<Spawned> => {
    const p = spawnTributary(args, { ...env(), ...extra });
    await p.exited;
    return p;
  };

  beforeAll(async () => {
    // A database of our own, left empty: migrating it is part of what goes through the pooler.
    await admin(serverUrl, `create database ${name}`);
    db = new pg.Pool({ connectionString: direct(), max: 2 });
    const target = new URL(serverUrl);
    bouncer = await startPgBouncer({ host: target.hostname, port: Number(target.port || 5432) }, SERVER_POOL);
    via = bouncer.url(name);
    farms = await Promise.all([1, 2].map((h) => startFaultServer({ host: `127.0.2.${h}`, defaultRoutes: false })));
    const outlines: string[] = [];
    for (let n = 0; n < FEEDS; n++) {
      const farm = farms[n % farms.length]!;
      // Later rounds publish one more item per feed (the worker round).
      // A short delay per response so the two pollers' batches overlap.
      farm.route(`/feed/${n}.xml`, (_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/rss+xml' });
          res.end(rssFeed(n, ITEMS + extraItems));
        }, 50);
      });
      outlines.push(`<outline type="rss" text="Pooled ${n}" xmlUrl="${farm.url(`/feed/${n}.xml`)}"/>`);
    }
    farms[0]!.route('/feeds.opml', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/x-opml' });
      res.end(`<?xml version="1.0"?><opml version="2.0"><head><title>pooled</title></head><body>${outlines.join('')}</body></opml>`);
    });
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await bouncer?.stop();
    await Promise.all(farms.map((f) => f.close()));
    await admin(serverUrl, `drop database if exists ${name} with (force)`).catch(() => undefined);
  });

  it('migrates (two at once), imports, polls with two concurrent pollers, and serves every article exactly once', { timeout: 180_000 }, async () => {
    // Two migrations racing through the pooler: the lock is transaction-scoped (one file per
    // transaction), so both succeed and every file is applied by exactly one of them.
    const migrations = await Promise.all([run(['migrate']), run(['migrate'])]);
    for (const m of migrations) expect(await m.exited, m.output()).toBe(0);
    const applied = migrations.flatMap((m) => /^applied: (.*)$/m.exec(m.output())?.[1]?.split(', ') ?? []);
    const recorded = (await db.query(`select version from schema_migrations order by version`)).rows.map((r) => r.version as string);
    expect(recorded.length).toBeGreaterThan(0);
    expect([...applied].sort()).toEqual(recorded);
    versions = recorded.length;

    const imported = await run(['feeds', 'import', farms[0]!.url('/feeds.opml')]);
    expect(await imported.exited, imported.output()).toBe(0);
    const feedCount = await db.query(`select count(*)::int as n from feeds`);
    expect(feedCount.rows[0].n).toBe(FEEDS);
    for (const f of farms) f.resetRequests();

    const pollers = await Promise.all([run(['poll', '--once']), run(['poll', '--once'])]);
    for (const p of pollers) expect(await p.exited, p.output()).toBe(0);
    // Each feed fetched exactly once between the two of them, and both took part.
    const perFeed = new Map<string, number>();
    for (const f of farms) for (const r of f.requests) perFeed.set(`${f.host}${r.path}`, (perFeed.get(`${f.host}${r.path}`) ?? 0) + 1);
    expect(perFeed.size).toBe(FEEDS);
    expect([...perFeed.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const lines = pollers.map((p) => p.output().split('\n').filter((l) => /^feed \d+ /.test(l)).length);
    expect(lines[0]! + lines[1]!).toBe(FEEDS);

    const c = await db.query(`select (select count(*)::int from entries) as entries,
        (select count(*)::int from entry_sources) as sources,
        (select count(*)::int from feeds where last_fetched_at is null or lease_owner is not null) as unfinished`);
    expect(c.rows[0]).toEqual({ entries: FEEDS * ITEMS + 1, sources: FEEDS * (ITEMS + 1), unfinished: 0 });

    const list = await run(['feeds', 'list']);
    expect(await list.exited, list.output()).toBe(0);

    // serve through the pooler; walk /api/items page by page: every article once, none missing.
    const port = await freePort();
    const svc = spawnTributary(['serve'], { ...env(), PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0' });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor('serve ready', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await fetch(`${base}/api/items?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { items: { id: number }[]; next_cursor: string | null };
        seen.push(...body.items.map((i) => i.id));
        cursor = body.next_cursor;
        pages++;
      } while (cursor && pages < 1000);
      const ids = (await db.query(`select id from entries order by id`)).rows.map((r) => Number(r.id));
      expect(seen.length).toBe(ids.length);
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort((a, b) => a - b)).toEqual(ids);
      const feed = await fetch(`${base}/feed.xml`);
      expect(feed.status).toBe(200);
      // Search pins its plan with SET LOCAL: transaction-scoped, so it survives the pooler.
      const found = (await (await fetch(`${base}/api/items?q=${encodeURIComponent('"Feed 7 item 3"')}`)).json()) as { items: { title: string }[] };
      expect(found.items.map((i) => i.title)).toContain('Feed 7 item 3');
    } finally {
      svc.child.kill('SIGTERM');
      expect(await svc.exited, svc.output()).toBe(0);
    }

    // It really was transaction pooling over a few server connections.
    const pools = await bouncer.show('pools');
    const ours = pools.find((p) => p.database === name);
    expect(ours?.pool_mode).toBe('transaction');
    const servers = (await bouncer.show('servers')).filter((s) => s.database === name);
    expect(servers.length).toBeLessThanOrEqual(SERVER_POOL);
  });

  it('worker and start run through the pooler too: each due feed fetched once more, its new item stored once', { timeout: 180_000 }, async () => {
    extraItems = 1;
    for (const f of farms) f.resetRequests();
    const since = (await db.query(`update feeds set next_poll_at = now() returning now() as t`)).rows[0].t as Date;
    const worker = spawnTributary(['worker'], { ...env(), POLL_SCHEDULE: '* * * * * *' });
    await waitFor('every feed polled by the worker', async () => {
      const r = await db.query(`select count(*)::int as n from feeds where last_fetched_at > $1 and lease_owner is null`, [since]);
      return r.rows[0].n === FEEDS;
    }, 120_000);
    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.output()).toBe(0);
    expect(farms.reduce((n, f) => n + f.requests.length, 0)).toBe(FEEDS);
    const c = await db.query(`select (select count(*)::int from entries) as entries, (select count(*)::int from entry_sources) as sources`);
    expect(c.rows[0]).toEqual({ entries: FEEDS * (ITEMS + 1) + 1, sources: FEEDS * (ITEMS + 2) });

    const port = await freePort();
    const svc = spawnTributary(['start'], { ...env(), DEMO: 'false', PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0' });
    try {
      await waitFor('start ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000);
      const page = (await (await fetch(`http://127.0.0.1:${port}/api/items?limit=5`)).json()) as { items: unknown[] };
      expect(page.items).toHaveLength(5);
    } finally {
      svc.child.kill('SIGTERM');
      expect(await svc.exited, svc.output()).toBe(0);
    }
  });

  it('migrates over DATABASE_DIRECT_URL when it is set, not through the pooler', { timeout: 60_000 }, async () => {
    // A direct URL naming another (empty) database shows which connection the migration used.
    const other = `${name}_direct`;
    await admin(serverUrl, `create database ${other}`);
    try {
      const m = await run(['migrate'], { DATABASE_DIRECT_URL: withDatabase(serverUrl, other) });
      expect(await m.exited, m.output()).toBe(0);
      expect(m.output()).toMatch(/applied: 001_init\.sql/);
      const c = new pg.Client({ connectionString: withDatabase(serverUrl, other) });
      await c.connect();
      const applied = await c.query(`select count(*)::int as n from schema_migrations`).finally(() => c.end());
      expect(applied.rows[0].n).toBe(versions);
    } finally {
      await admin(serverUrl, `drop database if exists ${other} with (force)`);
    }
  });
});
