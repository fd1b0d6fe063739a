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
    // An Arabic feed name right before the date: the meta line that used to read "19:11 30-11-2026 · شام نيوز UTC".
    const sham = await addFeed(t.db, { url: 'https://sham.example/feed', title: 'شام نيوز', region: 'mena', language: 'ar' });
    await ingest(
      t.db,
      sham,
      [
        item({
          url: 'https://sham.example/souq',
          title: 'سوق المدينة القديمة',
          summary: 'تقرير',
          content_html: '<p>نص المقال كاملا <a href="https://sham.example/more" rel="noopener noreferrer">المزيد</a></p>',
          published: '2024-05-01T10:15:00Z',
        }),
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
    expect(await entries.count()).toBe(13);

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
    expect(await entries.count()).toBe(3);

    expect(problems).toEqual([]);
    await context.close();
  });

  it('reads dates left to right beside right-to-left feed names, pages back with Newer, and opens item pages', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, javaScriptEnabled: false });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));

    await page.goto(`${app.base}/?region=mena`);
    const entry = page.locator('li.entry', { hasText: 'سوق المدينة القديمة' });
    const time = entry.locator('time');
    expect(await time.textContent()).toBe('2024-05-01 10:15 UTC');
    // Where each part of the date is drawn, from the left: it must read "2024-05-01 10:15 UTC".
    const parts = (await page.evaluate(`(() => {
      const li = [...document.querySelectorAll('li.entry')].find((e) => e.textContent.includes('سوق المدينة القديمة'));
      const text = li.querySelector('time').firstChild;
      const x = (start, end) => { const r = document.createRange(); r.setStart(text, start); r.setEnd(text, end); return r.getBoundingClientRect().left; };
      const name = li.querySelector('.source').getBoundingClientRect();
      return { name: name.right, date: x(0, 10), clock: x(11, 16), zone: x(17, 20) };
    })()`)) as { name: number; date: number; clock: number; zone: number };
    expect(parts.date).toBeLessThan(parts.clock);
    expect(parts.clock).toBeLessThan(parts.zone);
    // The page is left to right: the feed name comes first, the date after it.
    expect(parts.name).toBeLessThan(parts.date);

    // Older, then Newer, gives back the first page.
    await page.goto(`${app.base}/`);
    const entries = page.locator('li.entry');
    const firstPage = await entries.locator('h2').allTextContents();
    expect(await page.locator('a[rel="prev"]').count()).toBe(0);
    await Promise.all([page.waitForURL(/cursor=/), page.locator('a[rel="next"]').click()]);
    expect(await entries.count()).toBe(13);
    await Promise.all([page.waitForURL(/newer=/), page.locator('a[rel="prev"]').click()]);
    expect(await entries.locator('h2').allTextContents()).toEqual(firstPage);
    expect(await page.locator('a[rel="prev"]').count()).toBe(0);

    // The date is the way to an entry's own page: content and every source as a link.
    await page.goto(`${app.base}/?region=mena`);
    await Promise.all([page.waitForURL(/\/items\/\d+$/), entry.locator('a.permalink').click()]);
    expect(await page.locator('article h2').textContent()).toBe('سوق المدينة القديمة');
    expect(await page.locator('article .content').textContent()).toBe('نص المقال كاملا المزيد');
    expect(await page.locator('article .content a').getAttribute('href')).toBe('https://sham.example/more');
    const sources = page.locator('.item-sources li a');
    expect(await sources.allTextContents()).toEqual(['شام نيوز']);
    expect(await sources.first().getAttribute('href')).toBe('https://sham.example/souq');
    expect(await page.evaluate('getComputedStyle(document.body).maxWidth')).not.toBe('none');

    const missing = await page.goto(`${app.base}/items/987654321`);
    expect(missing?.status()).toBe(404);
    expect(await page.locator('main').textContent()).toContain('No such entry');

    // The 404 above is the only console error allowed.
    expect(problems.filter((p) => !/404/.test(p))).toEqual([]);
    await context.close();
  });
});
