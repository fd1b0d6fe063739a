import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, item, series, startApp, type RunningApp } from './helpers.ts';
import { buildListQuery, explainPage, listEntries, type EntryWithSources } from '../../src/store/entry-queries.ts';
// The Node-built item object (/api/stories uses it): the reference PostgreSQL's JSON must equal, so the two stay in step.
import { itemJson as nodeItemJson } from '../../src/api/routes/items.ts';

describe(`/api/items JSON written by PostgreSQL (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  const now = new Date('2024-06-01T12:00:00Z');
  const get = (path: string, headers: Record<string, string> = {}) => request(`${app.base}${path}`, { headers });

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
    const en = await addFeed(t.db, { url: 'https://en.example/feed', title: 'English "quoted" \\ feed', region: 'europe', language: 'en' });
    const ar = await addFeed(t.db, { url: 'https://ar.example/feed', title: null as unknown as string, language: 'ar' });
    const it0 = await addFeed(t.db, { url: 'https://it.example/feed', title: 'Italiano', language: 'it-IT' });
    const shared = item({
      url: 'https://story.example/x?utm_source=rss&id=7',
      title: 'A shared story with “quotes”, a tab\there and a line\nbreak',
      published: '2024-06-01T09:00:00.123Z',
      updated: '2024-06-01T09:30:00Z',
      author: 'Reporter',
      summary: 'What happened </script> & more \u2028 separators',
      content_html: '<p>What <em>happened</em> \u0001</p>',
      categories: ['Politics', 'Élections', 'سياسة'],
      enclosures: [
        { url: 'https://story.example/x.jpg', type: 'image/jpeg', length: 1234 },
        { url: 'https://story.example/x.mp3', type: null, length: null },
      ],
    });
    await ingest(t.db, en, [shared, item({ url: 'https://en.example/bare' })], now);
    await ingest(t.db, ar, [{ ...shared, url: 'https://story.example/x?id=7&fbclid=zz' }, item({ url: 'https://ar.example/1', title: 'اشتباكات عنيفة في دير الزور', published: '1999-12-31T23:59:59.999Z' })], now);
    await ingest(t.db, it0, [item({ url: 'https://it.example/1', title: 'Nuova sconfitta', summary: 'Le elezioni regionali', published: '2024-05-30T09:00:00Z' }), ...series('it', 12, new Date('2024-05-01T00:00:00Z'))], now);
    // A stored URL that is not http(s) (written by an older version or by hand) is never served.
    await t.db.query(`update entries set url = 'javascript:alert(1)' where url = 'https://en.example/bare'`);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('serves the same objects, field order included, as the Node-built JSON did, for pages and single items', async () => {
    const reference = (await listEntries(t.db, {}, 200)).map(nodeItemJson);
    expect(reference.length).toBe(16);
    const res = await get('/api/items?limit=200');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = (await res.body.json()) as { items: unknown[]; next_cursor: string | null };
    expect(body.next_cursor).toBeNull();
    // Re-serialised, so only insignificant whitespace may differ.
    expect(body.items.map((i) => JSON.stringify(i))).toEqual(reference.map((i) => JSON.stringify(i)));

    for (const ref of reference) {
      const one = await get(`/api/items/${ref.id}`);
      expect(one.statusCode).toBe(200);
      expect(JSON.stringify(await one.body.json())).toBe(JSON.stringify(ref));
    }

    // Pages of 5: the same items in the same order, and the cursor ends exactly at the end.
    const walked: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await get(`/api/items?limit=5${cursor ? `&cursor=${cursor}` : ''}`)).body.json()) as { items: unknown[]; next_cursor: string | null };
      walked.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked.map((i) => JSON.stringify(i))).toEqual(reference.map((i) => JSON.stringify(i)));
  });

  it('answers If-None-Match with 304 until the entries change, for the cached first page and for filtered pages', async () => {
    for (const path of ['/api/items', '/api/items?limit=3', '/api/items?q=sconfitta', '/api/items?region=europe&limit=2']) {
      const first = await get(path);
      expect(first.statusCode, path).toBe(200);
      const body = await first.body.text();
      const etag = first.headers.etag as string;
      expect(etag, path).toMatch(/^"[\w-]+"$/);
      const again = await get(path);
      expect(await again.body.text(), path).toBe(body);
      expect(again.headers.etag).toBe(etag);
      const conditional = await get(path, { 'if-none-match': etag });
      expect(conditional.statusCode, path).toBe(304);
      await conditional.body.text();
      const other = await get(path, { 'if-none-match': '"something-else"' });
      expect(other.statusCode, path).toBe(200);
      await other.body.text();
    }
    const before = await get('/api/items?limit=3');
    const etag = before.headers.etag as string;
    const oldBody = await before.body.text();
    const feed = await addFeed(t.db, { url: 'https://new.example/feed', title: 'New', language: 'en' });
    await ingest(t.db, feed, [item({ url: 'https://new.example/1', title: 'Newest', published: '2024-06-01T11:00:00Z' })], now);
    const after = await get('/api/items?limit=3', { 'if-none-match': etag });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    const newBody = await after.body.text();
    expect(newBody).not.toBe(oldBody);
    expect((JSON.parse(newBody) as { items: { title: string }[] }).items.map((i) => i.title)).toContain('Newest');
  });

  it('finds the same entries whether a search reads the GIN index first or walks newest-first', async () => {
    for (const q of ['story', 'sconfitte', 'دير الزور', '"shared story" -nothing', 'absentword', '!!!']) {
      for (const after of [undefined, { sortAt: '2024-04-30T00:00:00.000000Z', id: 1_000_000 }]) {
        const ids = async (access: 'walk' | 'bitmap') => {
          const qy = buildListQuery({ q }, 4, after, 'older', access);
          return (await t.db.query<{ id: number }>(qy.sql, qy.params)).rows.map((r) => Number(r.id));
        };
        expect(await ids('bitmap'), q).toEqual(await ids('walk'));
      }
    }
  });

  it('answers a search through the full-text index, never by walking every entry', async () => {
    const feed = await addFeed(t.db, { url: 'https://bulk.example/feed', title: 'Bulk', language: 'en' });
    await ingest(t.db, feed, series('bulk', 2000, new Date('2024-03-01T00:00:00Z')), now);
    await t.db.exec('analyze entries; analyze entry_sources; analyze feeds');
    for (const q of ['absentword', 'sconfitta', 'story']) {
      const { access, plan } = await explainPage(t.db, { q }, 51);
      expect(access, q).toBe('bitmap');
      expect(plan, q).toContain('entries_search');
      expect(plan, q).not.toContain('entries_newest');
      expect(plan, q).not.toMatch(/Seq Scan on entries\b/);
    }
  });
});
