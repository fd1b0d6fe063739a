import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, item, series, startApp, type RunningApp } from '../api/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))(`reader page in headless Chromium (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
    const now = new Date('2024-05-02T00:00:00Z');
    const eu = await addFeed(t.db, { url: 'https://eu.example/feed', title: 'Euro News Wire', region: 'europe', language: 'en' });
    const me = await addFeed(t.db, { url: 'https://me.example/feed', title: 'Levant Daily', region: 'mena', language: 'ar' });
    await ingest(t.db, eu, series('europe', 60, new Date('2024-05-01T12:00:00Z')), now);
    await ingest(
      t.db,
      me,
      [
        item({ url: 'https://me.example/deir', title: 'اشتباكات في دير الزور', summary: 'تقرير من المدينة', published: '2024-05-01T12:30:00Z' }),
        item({ url: 'https://me.example/aleppo', title: 'أخبار حلب', summary: 'تقرير آخر', published: '2024-05-01T11:30:00Z' }),
      ],
      now,
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.drop();
  });

  it('renders entries, searches, filters by region and pages, without console errors', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));

    await page.goto(`${app.base}/`);
    const entries = page.locator('li.entry');
    expect(await entries.count()).toBe(50);
    const first = entries.first();
    expect(await first.locator('h2 a').textContent()).toBe('اشتباكات في دير الزور');
    expect(await first.locator('h2 a').getAttribute('href')).toBe('https://me.example/deir');
    expect(await first.locator('time').getAttribute('datetime')).toBe('2024-05-01T12:30:00.000Z');
    expect(await first.locator('.source').textContent()).toBe('Levant Daily');
    // The stylesheet applied (served as a file, allowed by the CSP).
    expect(await page.evaluate('getComputedStyle(document.body).maxWidth')).not.toBe('none');
    expect(await page.locator('link[rel="alternate"]').count()).toBe(3);
    mkdirSync('.tmp', { recursive: true });
    await page.screenshot({ path: '.tmp/reader.png', fullPage: false });

    // Older: the next page continues where the first ended.
    await page.locator('a[rel="next"]').click();
    await page.waitForURL(/cursor=/);
    expect(await entries.count()).toBe(12);

    await page.goto(`${app.base}/`);
    await page.locator('input[name="q"]').fill('دير الزور');
    await Promise.all([page.waitForURL(/q=/), page.locator('button[type="submit"]').click()]);
    expect(await entries.count()).toBe(1);
    expect(await page.locator('input[name="q"]').inputValue()).toBe('دير الزور');

    await page.locator('input[name="q"]').fill('');
    await page.locator('select[name="region"]').selectOption('europe');
    await Promise.all([page.waitForURL(/region=europe/), page.locator('button[type="submit"]').click()]);
    expect(await entries.count()).toBe(50);
    const sources = await page.locator('.source').allTextContents();
    expect(new Set(sources)).toEqual(new Set(['Euro News Wire']));
    expect(await page.locator('link[rel="alternate"][type="application/rss+xml"]').getAttribute('href')).toBe('/feed.xml?region=europe');

    await page.locator('select[name="region"]').selectOption('mena');
    await Promise.all([page.waitForURL(/region=mena/), page.locator('button[type="submit"]').click()]);
    expect(await entries.count()).toBe(2);

    expect(problems).toEqual([]);
    await context.close();
  });
});
