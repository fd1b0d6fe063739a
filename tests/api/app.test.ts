import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { startApp, type RunningApp } from './helpers.ts';
import { createApp } from '../../src/api/app.ts';
import { openApiDocument } from '../../src/api/openapi.ts';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

describe(`app: OpenAPI, health, metrics, limits (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('documents every route the Express router has, including the admin routes', async () => {
    const express = createApp(app.deps);
    const stack = (express as unknown as { router: { stack: Layer[] } }).router.stack;
    const routes = stack.flatMap((l) => {
      if (!l.route) return [];
      const paths = Array.isArray(l.route.path) ? l.route.path : [l.route.path];
      return paths.flatMap((p) => Object.keys(l.route!.methods).filter((m) => m !== '_all').map((m) => ({ path: p.replace(/:(\w+)/g, '{$1}'), method: m })));
    });
    expect(routes.length).toBeGreaterThan(15);

    const res = await fetch(`${app.base}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    const missing = routes.filter((r) => !doc.paths[r.path]?.[r.method]).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);

    const admin = ['get /api/feeds', 'post /api/feeds', 'get /api/feeds/{id}', 'patch /api/feeds/{id}', 'delete /api/feeds/{id}', 'post /api/feeds/{id}/refresh', 'get /api/opml', 'post /api/opml'];
    for (const op of admin) {
      const [method, path] = op.split(' ') as [string, string];
      expect(doc.paths[path]?.[method], op).toBeDefined();
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect((doc.paths['/api/feeds']!.post as { security: unknown }).security).toEqual([{ bearerAuth: [] }]);
    // Every documented operation exists in the router too.
    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const [path, ops] of Object.entries(openApiDocument().paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) expect(registered.has(`${method} ${path}`), `${method} ${path}`).toBe(true);
    }
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const health = await fetch(`${app.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${app.base}/readyz`);
    expect(ready.status).toBe(200);
    await ready.text();
    await (await fetch(`${app.base}/api/items?limit=3`)).text();
    const metrics = await fetch(`${app.base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/tributary_http_request_duration_seconds_count\{method="GET",route="\/api\/items",status="200"\} [1-9]/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('reports not ready with a 503 problem when the database does not answer', async () => {
    const broken = await startApp({ ...t.db, query: () => new Promise(() => undefined) } as typeof t.db);
    try {
      const started = Date.now();
      const res = await fetch(`${broken.base}/readyz`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await fetch(`${broken.base}/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('answers an unexpected failure with a 500 problem that leaks nothing', async () => {
    const failing = await startApp({ ...t.db, query: () => Promise.reject(new Error('secret connection string')) } as typeof t.db);
    try {
      const res = await fetch(`${failing.base}/api/items`);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.text()).not.toContain('secret');
    } finally {
      await failing.close();
    }
  });

  it('rate-limits per client with a 429 problem, but never health checks', async () => {
    const limited = await startApp(t.db, { RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await fetch(`${limited.base}/api/items`);
        statuses.push(r.status);
        if (r.status === 429) expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        await r.text();
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      for (let i = 0; i < 5; i++) expect((await fetch(`${limited.base}/healthz`)).status).toBe(200);
      expect((await fetch(`${limited.base}/metrics`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('sends security headers and serves the stylesheet as a file', async () => {
    const res = await fetch(`${app.base}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const html = await res.text();
    expect(html).toContain('<link rel="stylesheet" href="/assets/reader.css">');
    // One script, a file of our own (the live "N new items" count); no inline script or style.
    expect(html).toContain('<script src="/assets/live.js" defer></script>');
    expect(html.replace('<script src="/assets/live.js" defer></script>', '')).not.toMatch(/<script|style=/i);
    expect(csp).toContain("script-src 'self'");
    const css = await fetch(`${app.base}/assets/reader.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toContain('.entry');
  });
});
