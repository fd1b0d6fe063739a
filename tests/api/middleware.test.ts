import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { request } from 'undici';
import { precomputedHeaders } from '../../src/api/middleware.ts';
import { currentEntriesVersion } from '../../src/api/entries-version.ts';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import type { Queryable } from '../../src/store/db.ts';
import { bumpChangeSeq } from '../../src/store/entries.ts';

/** Like the app's helmet use: HSTS and upgrade-insecure-requests only for HTTPS requests. */
function schemeAwareHelmet(): RequestHandler {
  const https = helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], upgradeInsecureRequests: [] } } });
  const http = helmet({ strictTransportSecurity: false, contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], upgradeInsecureRequests: null } } });
  return (req, res, next) => (req.secure ? https(req, res, next) : http(req, res, next));
}

async function serve(mw: RequestHandler): Promise<{ base: string; server: Server }> {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.use(mw);
  app.get('/', (_req, res) => {
    res.end('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const securityHeaders = async (base: string, headers: Record<string, string> = {}) => {
  const r = await request(`${base}/`, { headers });
  await r.body.text();
  return Object.fromEntries(Object.entries(r.headers).filter(([k]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)));
};

describe('precomputed security headers', () => {
  let perRequest: { base: string; server: Server };
  let replayed: { base: string; server: Server };
  beforeAll(async () => {
    perRequest = await serve(schemeAwareHelmet());
    replayed = await serve(precomputedHeaders(schemeAwareHelmet()));
  });
  afterAll(() => {
    perRequest?.server.close();
    replayed?.server.close();
  });

  it('sends exactly the headers helmet sends per request, for plain HTTP and for HTTPS (HSTS only there)', async () => {
    const http = await securityHeaders(replayed.base);
    expect(http).toEqual(await securityHeaders(perRequest.base));
    expect(http['strict-transport-security']).toBeUndefined();
    expect(http['content-security-policy']).not.toContain('upgrade-insecure-requests');
    const https = await securityHeaders(replayed.base, { 'x-forwarded-proto': 'https' });
    expect(https).toEqual(await securityHeaders(perRequest.base, { 'x-forwarded-proto': 'https' }));
    expect(https['strict-transport-security']).toMatch(/max-age=/);
    expect(https['content-security-policy']).toContain('upgrade-insecure-requests');
  });
});

describe(`entries version shared between concurrent requests (${backendName})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('answers many concurrent callers with few reads, and a caller after a change always sees it', async () => {
    let reads = 0;
    const counted: Queryable = {
      query: (sql, params) => {
        if (sql.includes('entries_version')) reads++;
        return t.db.query(sql, params);
      },
      exec: (sql) => t.db.exec(sql),
    };
    const versions = await Promise.all(Array.from({ length: 40 }, () => currentEntriesVersion(counted)));
    expect(new Set(versions).size).toBe(1);
    expect(reads).toBeLessThanOrEqual(2);

    await bumpChangeSeq(t.db);
    const after = await currentEntriesVersion(counted);
    expect(after).not.toBe(versions[0]);
    // A read in flight when a change commits is not reused by a caller that arrives afterwards.
    const inFlight = currentEntriesVersion(counted);
    await bumpChangeSeq(t.db);
    const later = currentEntriesVersion(counted);
    expect(await later).not.toBe(after);
    await inFlight;
  });
});
