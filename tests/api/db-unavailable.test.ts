import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, onServer, withDatabase, type TestDb } from '../helpers/db.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { openPostgres, type Db } from '../../src/store/db.ts';
import { startApp, type RunningApp } from './helpers.ts';
import { RECENT_VERSION_MS } from '../../src/api/entries-version.ts';

// A server that goes away: the embedded database lives in the process and cannot.
describe.skipIf(!onServer)('API while the database is down (postgres)', () => {
  let t: TestDb;
  let proxy: TcpProxy;
  let db: Db;
  let app: RunningApp;

  beforeAll(async () => {
    t = await createTestDb();
    const server = new URL(t.url!);
    proxy = await startTcpProxy(server.hostname, Number(server.port || 5432));
    db = openPostgres(withDatabase(`postgres://postgres@127.0.0.1:${proxy.port}/x`, server.pathname.slice(1)), 4, () => undefined);
    app = await startApp(db);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
    await proxy?.close();
    await t?.drop();
  });

  it('answers 503 problem+json with Retry-After, not 500, and 200 again once it is back', async () => {
    expect((await fetch(`${app.base}/api/items`)).status).toBe(200);
    await proxy.down();
    // Hot reads may reuse a version read up to RECENT_VERSION_MS old (a cached first page is then
    // still the truth as of that read); past it, every read goes to the database.
    await new Promise((r) => setTimeout(r, RECENT_VERSION_MS + 50));
    for (const path of ['/api/items', '/api/feeds', '/feed.xml', '/', '/readyz']) {
      const res = await fetch(`${app.base}${path}`);
      expect(res.status, path).toBe(503);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect(Number(res.headers.get('retry-after')), path).toBeGreaterThan(0);
      const body = (await res.json()) as { status: number; title: string };
      expect(body).toMatchObject({ status: 503, title: 'Service Unavailable' });
    }
    await proxy.up();
    expect((await fetch(`${app.base}/api/items`)).status).toBe(200);
  });
});
