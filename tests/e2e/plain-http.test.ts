import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, series, startApp, type RunningApp } from '../api/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
/** A name that is neither localhost nor a loopback literal, mapped to 127.0.0.1 inside Chromium only. */
const MAPPED_HOST = 'tributary-lan.test';

/** This machine's first non-loopback IPv4 address: what a phone on the LAN would type. */
function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/**
 * Browsers treat http://localhost and http://127.0.0.1 as secure contexts, so a page that only works
 * there proves nothing for a reader opened from another machine. These pages are loaded through the
 * machine's LAN address (and through a non-localhost name) over plain HTTP.
 */
describe.skipIf(!existsSync(CHROMIUM))(`reader page over plain HTTP from another machine (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let browser: Browser;
  let port: string;

  beforeAll(async () => {
    t = await createTestDb();
    // Every interface, as `serve` listens by default (HOST=0.0.0.0).
    app = await startApp(t.db, {}, '0.0.0.0');
    port = new URL(app.base).port;
    const feed = await addFeed(t.db, { url: 'https://eu.example/feed', title: 'Euro News Wire', region: 'europe', language: 'en' });
    await ingest(t.db, feed, series('harbour', 3, new Date('2024-05-01T12:00:00Z')), new Date('2024-05-02T00:00:00Z'));
    // No proxy: an http_proxy in the environment must not carry the LAN address elsewhere.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-proxy-server', `--host-resolver-rules=MAP ${MAPPED_HOST} 127.0.0.1`],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.drop();
  });

  const lan = lanAddress();
  const origins = [...(lan ? [{ name: `LAN address ${lan}`, host: lan }] : []), { name: `host name ${MAPPED_HOST}`, host: MAPPED_HOST }];

  it.each(origins)('through the $name: styles load and search works', async ({ host }) => {
    const base = `http://${host}:${port}`;
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));

    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    // The stylesheet applied: fetched over http from this origin.
    expect(await page.evaluate('getComputedStyle(document.body).maxWidth')).not.toBe('none');
    expect(requested).toContain(`${base}/assets/reader.css`);

    await page.locator('input[name="q"]').fill('harbour story 1');
    await Promise.all([page.waitForURL(/q=harbour/, { timeout: 10_000 }), page.locator('button[type="submit"]').click()]);
    expect(page.url().startsWith(`${base}/?`)).toBe(true);
    expect(await page.locator('li.entry h2').allTextContents()).toContain('harbour story 1');
    expect(problems).toEqual([]);
    expect(requested.filter((u) => u.startsWith('https:'))).toEqual([]);
    const headers = res!.headers();
    expect(headers['strict-transport-security']).toBeUndefined();
    expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    await context.close();
  });
});
