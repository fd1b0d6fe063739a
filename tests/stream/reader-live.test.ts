import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, item, startApp, type RunningApp } from '../api/helpers.ts';
import { commitChange } from '../../src/store/change-seq.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';
import { encodeCursor } from '../../src/api/cursor.ts';

const CHROMIUM = '/usr/bin/chromium';

describe(`reader page: "N new items" from the live stream (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let eu: { id: number; language: string | null };
  let me: { id: number; language: string | null };
  let browser: Browser | null = null;
  let n = 0;
  const publish = (feed: { id: number; language: string | null }, title: string) => {
    const items: NormalisedItem[] = [item({ url: `https://news.example/${++n}`, title, published: new Date().toISOString() })];
    return commitChange(t.db, (tx) => ingestItems(tx, feed, items, { now: new Date(), retentionDays: 0 }), () => true);
  };

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db, t.url ? { DATABASE_URL: t.url } : {});
    eu = await addFeed(t.db, { url: 'https://eu.example/feed', title: 'Euro Wire', region: 'europe', language: 'en' });
    me = await addFeed(t.db, { url: 'https://me.example/feed', title: 'Levant Daily', region: 'mena', language: 'ar' });
    await publish(eu, 'Already on the page');
    if (existsSync(CHROMIUM)) {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    }
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.drop();
  });

  it('the first page links its script and a hidden notice that streams its own filters; later pages do not', async () => {
    const page = await (await fetch(`${app.base}/?region=europe&q=wire`)).text();
    expect(page).toContain('<script src="/assets/live.js" defer></script>');
    expect(page).toContain('<p class="live" id="live" data-stream="/api/stream?region=europe&amp;q=wire" hidden><a href="/?region=europe&amp;q=wire">New items</a></p>');
    expect(page).not.toMatch(/<script>/);
    const later = await fetch(`${app.base}/?cursor=${encodeCursor({ sortAt: new Date().toISOString().replace('Z', '000Z'), id: 1 })}`);
    expect(later.status).toBe(200);
    const laterPage = await later.text();
    expect(laterPage).toContain('class="pages"');
    expect(laterPage).not.toContain('live.js');
    expect(laterPage).not.toContain('id="live"');

    const script = await fetch(`${app.base}/assets/live.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain("addEventListener('item'");
    // Allowed by the CSP as a script of our origin; inline script stays forbidden.
    const csp = (await fetch(`${app.base}/`)).headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
  });

  it.skipIf(!existsSync(CHROMIUM))('counts matching new entries live in a browser, with no CSP or console error; without JavaScript the notice stays hidden', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const streamOpen = page.waitForResponse((r) => r.url().includes('/api/stream'));
    await page.goto(`${app.base}/?region=europe`);
    expect(await page.isHidden('#live')).toBe(true);
    await streamOpen;

    await publish(me, 'Another region: not counted');
    await publish(eu, 'First new one');
    await publish(eu, 'Second new one');
    // Read through Playwright's own isolated world: a string predicate (waitForFunction) is eval'd in
    // the page, which the page's CSP rightly refuses in current Chromium.
    await expect
      .poll(() => page.locator('#live a').textContent({ timeout: 500 }).catch(() => null), { timeout: 30_000, interval: 100 })
      .toBe('2 new items');
    expect(await page.isVisible('#live')).toBe(true);
    expect(await page.getAttribute('#live a', 'href')).toBe('/?region=europe');
    expect(problems).toEqual([]);
    await context.close();

    const noScript = await browser!.newContext({ javaScriptEnabled: false });
    const plain = await noScript.newPage();
    await plain.goto(`${app.base}/?region=europe`);
    expect(await plain.isHidden('#live')).toBe(true);
    expect(await plain.textContent('.entries')).toContain('Second new one');
    await noScript.close();
  });
});
