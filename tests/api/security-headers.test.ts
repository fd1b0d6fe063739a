import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { startApp, type RunningApp } from './helpers.ts';
import { loadConfig } from '../../src/config/env.ts';

async function headersOf(app: RunningApp, init: RequestInit = {}): Promise<Headers> {
  const res = await fetch(`${app.base}/`, init);
  expect(res.status).toBe(200);
  await res.text();
  return res.headers;
}

const isHttpsOnly = (h: Headers) => ({
  hsts: h.get('strict-transport-security') !== null,
  upgrade: (h.get('content-security-policy') ?? '').includes('upgrade-insecure-requests'),
});

describe(`HTTPS-only security headers follow the request (${backendName})`, () => {
  let t: TestDb;
  const apps: RunningApp[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const app = await startApp(t.db, env);
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await t?.drop();
  });

  it('plain HTTP gets neither HSTS nor upgrade-insecure-requests, but keeps the rest of the CSP', async () => {
    const app = await start();
    const h = await headersOf(app);
    expect(isHttpsOnly(h)).toEqual({ hsts: false, upgrade: false });
    // Scripts from our origin only (the reader's /assets/live.js); never inline.
    expect(h.get('content-security-policy')).toContain("script-src 'self';");
    expect(h.get('content-security-policy')).toContain("form-action 'self'");
    expect(h.get('x-content-type-options')).toBe('nosniff');
  });

  it('an X-Forwarded-Proto from an untrusted client changes nothing', async () => {
    const app = await start();
    expect(isHttpsOnly(await headersOf(app, { headers: { 'X-Forwarded-Proto': 'https' } }))).toEqual({ hsts: false, upgrade: false });
  });

  it('behind a trusted TLS proxy (TRUST_PROXY), an https request gets both; a plain one neither', async () => {
    const app = await start({ TRUST_PROXY: 'loopback' });
    expect(isHttpsOnly(await headersOf(app, { headers: { 'X-Forwarded-Proto': 'https' } }))).toEqual({ hsts: true, upgrade: true });
    expect(isHttpsOnly(await headersOf(app, { headers: { 'X-Forwarded-Proto': 'http' } }))).toEqual({ hsts: false, upgrade: false });
    // Self links follow the forwarded scheme too.
    const doc = (await (await fetch(`${app.base}/api/openapi.json`, { headers: { 'X-Forwarded-Proto': 'https' } })).json()) as { servers: { url: string }[] };
    expect(doc.servers[0]!.url).toMatch(/^https:\/\//);
  });

  it('an https PUBLIC_URL sends both on every response', async () => {
    const app = await start({ PUBLIC_URL: 'https://news.example.org' });
    expect(isHttpsOnly(await headersOf(app))).toEqual({ hsts: true, upgrade: true });
  });

  it('an http PUBLIC_URL sends neither', async () => {
    const app = await start({ PUBLIC_URL: 'http://192.168.1.20:3000' });
    expect(isHttpsOnly(await headersOf(app))).toEqual({ hsts: false, upgrade: false });
  });
});

describe('TRUST_PROXY', () => {
  it('accepts true/false, a hop count, or addresses and CIDRs, and refuses anything else naming the variable', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8']);
    expect(() => loadConfig({ TRUST_PROXY: 'the proxy' })).toThrow(/TRUST_PROXY/);
  });
});
