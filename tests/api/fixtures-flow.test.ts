import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Parser from 'rss-parser';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { parseFeed } from '../../src/parse/index.ts';
import { addFeed, ingest, startApp, type RunningApp } from './helpers.ts';
import type { Queryable } from '../../src/store/db.ts';

/** Realistic fixtures through the real parser and ingest, out through the merged feeds. */
describe(`fixture feeds end to end (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let listingQueries = 0;

  beforeAll(async () => {
    t = await createTestDb();
    // Counts the merged-feed listing statements, to see the rendered-body cache at work.
    const counting: typeof t.db = {
      ...t.db,
      query: ((sql: string, params?: unknown[]) => {
        if (/from entries e/.test(sql) && /order by e\.sort_at desc/.test(sql)) listingQueries++;
        return t.db.query(sql, params);
      }) as Queryable['query'],
    };
    app = await startApp(counting);
    const now = new Date('2030-01-01T00:00:00Z');
    for (const [file, url, region, language] of [
      ['levant-wordpress.rss.xml', 'https://levant.example/feed/', 'mena', 'en'],
      ['mediterranean-wire.atom.xml', 'https://medwire.example/atom.xml', 'europe', 'en'],
      ['sham-arabic.rss.xml', 'https://sham.example/rss', 'mena', 'ar'],
      ['gulf-briefing.json', 'https://gulf.example/feed.json', 'mena', 'en'],
    ] as const) {
      const parsed = await parseFeed(readFileSync(new URL(`feeds/${file}`, FIXTURES), 'utf8'), { baseUrl: url });
      const feed = await addFeed(t.db, { url, title: parsed.feed.title ?? file, region, language: parsed.feed.language ?? language });
      await ingest(t.db, feed, parsed.items, now);
    }
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('lists the syndicated Deir Ezzor story once, naming both feeds, and finds it in Arabic and English', async () => {
    const all = (await (await fetch(`${app.base}/api/items?limit=200`)).json()) as { items: Array<{ id: number; url: string; sources: { feed_title: string }[] }> };
    const ids = all.items.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    const shared = all.items.filter((i) => i.sources.length > 1);
    expect(shared.length).toBeGreaterThanOrEqual(1);
    expect(shared[0]!.url).not.toMatch(/utm_/);

    const en = (await (await fetch(`${app.base}/api/items?q=${encodeURIComponent('Deir Ezzor')}`)).json()) as { items: { id: number }[] };
    expect(en.items.map((i) => i.id)).toContain(shared[0]!.id);
    const ar = (await (await fetch(`${app.base}/api/items?q=${encodeURIComponent('دير الزور')}`)).json()) as { items: unknown[] };
    expect(ar.items.length).toBeGreaterThanOrEqual(1);

    const rss = await new Parser().parseString(await (await fetch(`${app.base}/feed.xml?limit=200`)).text());
    expect(rss.items).toHaveLength(all.items.length);
    expect(rss.items.filter((i) => i.link === shared[0]!.url)).toHaveLength(1);
  });

  it('serves an unchanged feed from the rendered-body cache, without a listing query', async () => {
    const initial = listingQueries;
    const first = await fetch(`${app.base}/feed.atom?region=mena`);
    await first.text();
    const before = listingQueries;
    expect(before).toBe(initial + 1);
    for (let i = 0; i < 3; i++) {
      const again = await fetch(`${app.base}/feed.atom?region=mena`);
      expect(again.status).toBe(200);
      expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
      await again.text();
    }
    expect(listingQueries).toBe(before);
  });
});
