import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createTestDb, onServer, type TestDb } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { freePort, spawnTributary, waitFor, type Spawned } from '../helpers/processes.ts';
import { PG_BIN, startReplica, type Replica } from '../helpers/replica.ts';
import { insertFeeds } from '../../src/store/feeds.ts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { openApiDocument } from '../../src/api/openapi.ts';

// /readyz's replica report, checked against the OpenAPI document as tests/api/openapi-responses.test.ts does.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const DOC_ID = 'https://tributary.invalid/openapi.json';
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema(openApiDocument('http://127.0.0.1'), DOC_ID);
const readyzSchema = (status: number, type: string) =>
  ajv.compile({ $ref: `${DOC_ID}#/paths/~1readyz/get/responses/${status}/content/${type.replace('/', '~1')}/schema` });
const ready200 = readyzSchema(200, 'application/json');
const ready503 = readyzSchema(503, 'application/problem+json');

// A real streaming replica (pg_basebackup -R of the local server) behind DATABASE_READ_URL. The base
// backup copies the whole shared cluster, every test database included: refuse above this size.
const MAX_CLUSTER_BYTES = 2 * 1024 ** 3;

function rss(items: number): string {
  const body = Array.from({ length: items }, (_, i) => `<item><title>Replicated ${i}</title>
    <link>https://replica.example/a/${i}</link><guid>replica-${i}</guid>
    <pubDate>Mon, 20 Nov 2017 10:${String(i).padStart(2, '0')}:00 GMT</pubDate></item>`).join('');
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Replicated</title>${body}</channel></rss>`;
}

const skipReason = !onServer
  ? 'needs the PostgreSQL server back end (DATABASE_URL): the replica is a base backup of that server'
  : !existsSync(`${PG_BIN}/pg_basebackup`)
    ? `PostgreSQL 15 server binaries not found in ${PG_BIN}`
    : null;
if (skipReason) console.warn(`tests/ops/read-replica.test.ts skipped: ${skipReason}`);

interface Page {
  status: number;
  etag: string | null;
  ids: number[];
}

describe.skipIf(skipReason !== null)('read replica behind DATABASE_READ_URL (postgres)', () => {
  let t: TestDb;
  let replica: Replica;
  let farm: FaultServer;
  let svc: Spawned;
  let base = '';
  let items = 3;
  const dbName = () => new URL(t.url!).pathname.slice(1);

  const poll = async () => {
    const p = spawnTributary(['poll', '--once', '--all'], {
      DATABASE_URL: t.url!, ALLOW_PRIVATE_NETWORKS: 'true', DEMO: 'false', LOG_LEVEL: 'warn', RETENTION_DAYS: '36500', PARSE_THREADS: '0',
    });
    expect(await p.exited, p.output()).toBe(0);
  };
  const primaryCount = async () => (await t.db.query<{ n: number }>(`select count(*)::int as n from entries`)).rows[0]!.n;
  const replicaPaused = async () =>
    (await replica.query<{ s: string }>(dbName(), `select pg_get_wal_replay_pause_state() as s`))[0]!.s === 'paused';
  const items$ = async (etag?: string): Promise<Page> => {
    const res = await fetch(`${base}/api/items?limit=100`, { headers: etag ? { 'if-none-match': etag } : {} });
    const ids = res.status === 200 ? ((await res.json()) as { items: { id: number }[] }).items.map((i) => i.id) : [];
    return { status: res.status, etag: res.headers.get('etag'), ids };
  };
  const readyz = async () => {
    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as { replica?: { lag_seconds: number; lag_bytes: number } };
    const valid = res.status === 200 ? ready200 : ready503;
    expect(valid(body), JSON.stringify(valid.errors)).toBe(true);
    return { status: res.status, body };
  };

  beforeAll(async () => {
    const size = await createTestDb().then(async (db) => {
      t = db;
      return (await t.db.query<{ b: number }>(`select sum(pg_database_size(oid))::float8 as b from pg_database`)).rows[0]!.b;
    });
    if (size > MAX_CLUSTER_BYTES) throw new Error(`the shared cluster is ${Math.round(size / 1024 ** 2)} MB; a base backup of it is too big for a test`);
    farm = await startFaultServer({ host: '127.0.3.1', defaultRoutes: false });
    farm.route('/feed.xml', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(rss(items));
    });
    await insertFeeds(t.db, [{ url: farm.url('/feed.xml') }]);
    await poll();
    replica = await startReplica(process.env.DATABASE_URL!);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    svc = spawnTributary(['serve'], {
      DATABASE_URL: t.url!,
      DATABASE_READ_URL: replica.url(dbName()),
      READ_REPLICA_MAX_LAG: '2s',
      PORT: String(port),
      HOST: '127.0.0.1',
      DEMO: 'false',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    });
    await waitFor('serve ready', async () => (await readyz()).status === 200, 60_000);
  }, 300_000);

  afterAll(async () => {
    if (svc) {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
    await replica?.query(dbName(), 'select pg_wal_replay_resume()').catch(() => undefined);
    await replica?.stop();
    await farm?.close();
    await t?.drop();
  }, 120_000);

  it('serves the replica’s consistent view with its own ETag while replay is paused; /readyz reports the lag', { timeout: 240_000 }, async () => {
    let page = await waitFor('the replica serving the first poll', async () => {
      const p = await items$();
      return p.ids.length === 3 ? p : null;
    });
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.replica).toEqual(expect.objectContaining({ lag_seconds: expect.any(Number), lag_bytes: expect.any(Number) }));

    // Two rounds: the second catches a version that does not move on the replica (a sequence is
    // WAL-logged only every 32 values, so a standby sees it jump ahead and then stand still).
    for (const round of [1, 2]) {
      await replica.query(dbName(), 'select pg_wal_replay_pause()');
      await waitFor('replay paused', replicaPaused);
      items++;
      await poll();
      expect(await primaryCount()).toBe(items);
      if (round === 1) await insertFeeds(t.db, [{ url: farm.url('/feed.xml?second') }]);

      // The replica's view: the old rows under the old ETag, which still answers 304.
      const stale = await items$();
      expect(stale.ids).toEqual(page.ids);
      expect(stale.etag).toBe(page.etag);
      expect((await items$(page.etag!)).status).toBe(304);
      const feed = (await (await fetch(`${base}/feed.json`)).json()) as { items: unknown[] };
      expect(feed.items).toHaveLength(items - 1);
      // Admin reads go to the primary.
      const feeds = (await (await fetch(`${base}/api/feeds`)).json()) as { feeds: unknown[] };
      expect(feeds.feeds).toHaveLength(2);
      // Past READ_REPLICA_MAX_LAG the process is not ready, and says how far behind the replica is.
      let last: unknown = null;
      const late = await waitFor('readyz 503 while replay is paused', async () => {
        const r = await readyz();
        last = r;
        return r.status === 503 ? r : null;
      }, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}; last answer ${JSON.stringify(last)}\n${svc.output()}`);
      });
      expect(late.body.replica!.lag_bytes).toBeGreaterThan(0);
      expect(late.body.replica!.lag_seconds).toBeGreaterThan(2);

      await replica.query(dbName(), 'select pg_wal_replay_resume()');
      const fresh = await waitFor('the replica catching up', async () => {
        const p = await items$();
        return p.ids.length === items ? p : null;
      });
      // A new version for new rows: the old ETag no longer matches.
      expect(fresh.etag).not.toBe(page.etag);
      const again = await items$(page.etag!);
      expect(again.status).toBe(200);
      expect(again.ids).toHaveLength(items);
      page = fresh;
      await waitFor('readyz 200 again', async () => (await readyz()).status === 200, 60_000);
    }
  });
});

describe.skipIf(!onServer)('DATABASE_READ_URL unreachable (postgres)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('serve refuses to start naming DATABASE_READ_URL; commands that do not serve never open it', { timeout: 60_000 }, async () => {
    const closed = await freePort();
    const env = {
      DATABASE_URL: t.url!,
      DATABASE_READ_URL: `postgres://postgres@127.0.0.1:${closed}/nowhere`,
      DB_CONNECT_TIMEOUT: '0',
      DEMO: 'false',
      LOG_LEVEL: 'warn',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
    };
    const serve = spawnTributary(['serve'], env);
    expect(await serve.exited).toBe(1);
    expect(serve.output()).toMatch(/read replica \(DATABASE_READ_URL\) cannot be reached/);
    const poll = spawnTributary(['poll', '--once'], env);
    expect(await poll.exited, poll.output()).toBe(0);
  });
});
