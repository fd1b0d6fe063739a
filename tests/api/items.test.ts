import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, item, series, startApp, type RunningApp } from './helpers.ts';
import { buildListQuery } from '../../src/store/entry-queries.ts';

interface ApiItem {
  id: number;
  url: string | null;
  title: string | null;
  published: string | null;
  updated: string | null;
  sources: { feed_id: number; feed_title: string | null; url: string | null }[];
  [k: string]: unknown;
}
interface Page {
  items: ApiItem[];
  next_cursor: string | null;
}

describe(`GET /api/items (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  const now = new Date('2024-06-01T12:00:00Z');
  const get = async (path: string) => {
    const res = await fetch(`${app.base}${path}`);
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Page & ApiItem & { errors?: unknown } };
  };

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('returns items with the documented fields, sources fetched per page, and one item by id', async () => {
    const a = await addFeed(t.db, { url: 'https://one.example/feed', title: 'One', region: 'europe', language: 'en' });
    const b = await addFeed(t.db, { url: 'https://two.example/feed', title: 'Two', region: 'americas', language: 'en' });
    const shared = item({
      url: 'https://story.example/x?utm_source=rss&id=7',
      title: 'A shared story',
      published: '2024-06-01T09:00:00.000Z',
      updated: '2024-06-01T09:30:00.000Z',
      author: 'Reporter',
      summary: 'What happened',
      content_html: '<p>What <em>happened</em></p>',
      categories: ['Politics'],
      enclosures: [{ url: 'https://story.example/x.jpg', type: 'image/jpeg', length: null }],
    });
    await ingest(t.db, a, [shared], now);
    await ingest(t.db, b, [{ ...shared, url: 'https://story.example/x?id=7&fbclid=zz' }], now);

    const { status, body } = await get('/api/items');
    expect(status).toBe(200);
    expect(body.next_cursor).toBeNull();
    expect(body.items).toHaveLength(1);
    const it0 = body.items[0]!;
    expect(it0).toEqual({
      id: expect.any(Number),
      url: 'https://story.example/x?id=7',
      title: 'A shared story',
      published: '2024-06-01T09:00:00.000Z',
      updated: '2024-06-01T09:30:00.000Z',
      author: 'Reporter',
      summary: 'What happened',
      content_html: '<p>What <em>happened</em></p>',
      categories: ['Politics'],
      enclosures: [{ url: 'https://story.example/x.jpg', type: 'image/jpeg', length: null }],
      language: 'en',
      story_id: expect.any(Number),
      sources: [
        { feed_id: a.id, feed_title: 'One', url: 'https://story.example/x?utm_source=rss&id=7' },
        { feed_id: b.id, feed_title: 'Two', url: 'https://story.example/x?id=7&fbclid=zz' },
      ],
    });

    const one = await get(`/api/items/${it0.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(it0);

    const missing = await fetch(`${app.base}/api/items/99999999`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    for (const bad of ['0', '-1', 'abc', '1.5', '99999999999999999999']) {
      const r = await fetch(`${app.base}/api/items/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { errors: { parameter: string }[] }).errors[0]!.parameter).toBe('id');
    }

    const byRegion = await get('/api/items?region=americas');
    expect(byRegion.body.items.map((i) => i.id)).toEqual([it0.id]);
    const none = await get('/api/items?region=asia');
    expect(none.body.items).toEqual([]);
    const byFeed = await get(`/api/items?feed=${b.id}&feed=${a.id}`);
    expect(byFeed.body.items).toHaveLength(1);
    const byLang = await get('/api/items?lang=en-GB');
    expect(byLang.body.items).toHaveLength(1);
    expect((await get('/api/items?lang=it')).body.items).toEqual([]);
    expect((await get('/api/items?since=2024-06-01T09:00:00Z')).body.items).toHaveLength(1);
    expect((await get('/api/items?since=2024-06-01T09:00:01Z')).body.items).toHaveLength(0);
    expect((await get('/api/items?until=2024-06-01T09:00:00Z')).body.items).toHaveLength(0);
    expect((await get('/api/items?until=2024-06-02')).body.items).toHaveLength(1);
  });

  it('finds English, Italian (inflected) and Arabic text', async () => {
    const en = await addFeed(t.db, { url: 'https://en.example/feed', title: 'EN', language: 'en' });
    const itf = await addFeed(t.db, { url: 'https://it.example/feed', title: 'IT', language: 'it' });
    const ar = await addFeed(t.db, { url: 'https://ar.example/feed', title: 'AR', language: 'ar' });
    const fr = await addFeed(t.db, { url: 'https://fr.example/feed', title: 'FR', language: 'fr' });
    await ingest(t.db, en, [item({ url: 'https://en.example/1', title: 'Clashes reported in Deir Ezzor', summary: 'Fighting near the river', published: '2024-05-30T10:00:00Z' })], now);
    await ingest(t.db, itf, [item({ url: 'https://it.example/1', title: 'Nuova sconfitta per la squadra', summary: 'Le elezioni regionali', published: '2024-05-30T09:00:00Z' })], now);
    await ingest(t.db, ar, [item({ url: 'https://ar.example/1', title: 'اشتباكات عنيفة في دير الزور', summary: 'قتلى وجرحى في المدينة', published: '2024-05-30T08:00:00Z' })], now);
    await ingest(t.db, fr, [item({ url: 'https://fr.example/1', title: 'Les élections municipales approchent', published: '2024-05-30T07:00:00Z' })], now);

    const titles = async (q: string) => (await get(`/api/items?q=${encodeURIComponent(q)}`)).body.items.map((i) => i.url);
    expect(await titles('Deir Ezzor')).toEqual(['https://en.example/1']);
    expect(await titles('clash')).toEqual(['https://en.example/1']);
    expect(await titles('دير الزور')).toEqual(['https://ar.example/1']);
    expect(await titles('sconfitte')).toEqual(['https://it.example/1']);
    expect(await titles('elezione')).toEqual(['https://it.example/1']);
    expect(await titles('élection')).toEqual(['https://fr.example/1']);
    expect(await titles('"Deir Ezzor" -river')).toEqual([]);
    expect(await titles('squadra or clashes')).toEqual(['https://en.example/1', 'https://it.example/1']);
    // Punctuation only: an empty query matches nothing, and is no error.
    expect(await titles('!!!')).toEqual([]);
  });

  it('walks every entry exactly once with the cursor while new entries arrive between pages', async () => {
    const feed = await addFeed(t.db, { url: 'https://many.example/feed', title: 'Many', region: 'bulk', language: 'en' });
    // 90 items, three per minute (ties on published, broken by id).
    const base = new Date('2024-04-01T12:00:00Z');
    const items = Array.from({ length: 90 }, (_, i) =>
      item({ url: `https://many.example/${i}`, title: `Many ${i}`, published: new Date(base.getTime() - Math.floor(i / 3) * 60_000).toISOString() }),
    );
    await ingest(t.db, feed, items, now);
    // Sub-millisecond sort keys: a cursor that kept only milliseconds would skip or repeat these.
    await t.db.query(`update entries set sort_at = sort_at + (id % 5) * interval '1 microsecond' where dedupe_key like 'https://many.example/%'`);
    const initial = (await t.db.query<{ id: number }>(`select id from entries e where exists (select 1 from entry_sources s where s.entry_id = e.id and s.feed_id = $1)`, [feed.id])).rows.map((r) => Number(r.id));
    expect(initial).toHaveLength(90);

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: Page } = await get(`/api/items?region=bulk&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((i) => i.id));
      cursor = page.body.next_cursor;
      // Concurrent arrivals: one newer than everything, one in the middle of the range.
      await ingest(
        t.db,
        feed,
        [
          item({ url: `https://many.example/new-top-${pages}`, title: 'new top', published: '2024-04-02T00:00:00Z' }),
          item({ url: `https://many.example/new-mid-${pages}`, title: 'new mid', published: new Date(base.getTime() - 15 * 60_000).toISOString() }),
        ],
        now,
      );
      pages++;
    } while (cursor && pages < 100);

    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of initial) expect(seen).toContain(id);
    expect(pages).toBeGreaterThanOrEqual(13);
  });

  it('lists newest first through the entries_newest index, without sorting the table', async () => {
    const feed = await addFeed(t.db, { url: 'https://plan.example/feed', title: 'Plan', region: 'plan', language: 'en' });
    await ingest(t.db, feed, series('plan', 3000, new Date('2024-03-01T00:00:00Z')), now);
    await t.db.exec('analyze entries; analyze entry_sources; analyze feeds');
    const plan = async (q: ReturnType<typeof buildListQuery>) =>
      (await t.db.query<Record<string, string>>(`explain ${q.sql}`, q.params)).rows.map((r) => Object.values(r)[0]).join('\n');

    const plain = await plan(buildListQuery({}, 51));
    expect(plain).toContain('entries_newest');
    expect(plain).not.toMatch(/\bSort\b/);
    const paged = await plan(buildListQuery({}, 51, { sortAt: '2024-02-28T12:00:00.000000Z', id: 1500 }));
    expect(paged).toContain('entries_newest');
    expect(paged).not.toMatch(/\bSort\b/);
  });
});
