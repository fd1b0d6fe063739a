import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, item, series, startApp, type RunningApp } from './helpers.ts';
import { encodeCursor } from '../../src/api/cursor.ts';
import { buildListQuery } from '../../src/store/entry-queries.ts';

/** The reader's links and entries, read from the page's HTML. */
interface Page {
  titles: string[];
  newer: string | null;
  older: string | null;
  newest: boolean;
}

function readPage(body: string): Page {
  const href = (rel: string) => {
    const m = new RegExp(`<a rel="${rel}" href="([^"]+)">`).exec(body);
    return m ? m[1]!.replace(/&amp;/g, '&') : null;
  };
  return {
    titles: [...body.matchAll(/<h2 dir="auto"><a [^>]*>([^<]*)<\/a><\/h2>/g)].map((m) => m[1]!),
    newer: href('prev'),
    older: href('next'),
    newest: />Newest<\/a>/.test(body),
  };
}

describe(`reader pages: Newer/Older paging, item pages, bidi-safe meta lines (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let wireEntryId: number;

  const get = async (path: string) => {
    const res = await fetch(`${app.base}${path}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };
  const page = async (path: string) => {
    const r = await get(path);
    expect(r.status, path).toBe(200);
    return readPage(r.body);
  };

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
    const now = new Date('2024-06-01T00:00:00Z');
    const eu = await addFeed(t.db, { url: 'https://eu.example/feed', title: 'Euro Wire', region: 'europe', language: 'en' });
    const other = await addFeed(t.db, { url: 'https://other.example/feed', title: 'Other', region: 'asia', language: 'en' });
    // 120 entries of one region, and others interleaved that the region filter must keep out.
    await ingest(t.db, eu, series('eu', 120, new Date('2024-05-20T12:00:00Z')), now);
    await ingest(t.db, other, series('asia', 30, new Date('2024-05-20T11:59:30Z')), now);

    const sham = await addFeed(t.db, { url: 'https://sham.example/feed', title: 'شام نيوز', region: 'mena', language: 'ar' });
    const wire = await addFeed(t.db, { url: 'https://wire.example/rss', title: 'Wire <Service>', region: 'mena', language: 'en' });
    const story = {
      title: 'اشتباكات في دير الزور',
      published: '2026-11-30T19:11:00Z',
      summary: 'ملخص',
      content_html: '<p>نص المقال <a href="https://sham.example/more" rel="noopener noreferrer">المزيد</a></p>',
    };
    await ingest(t.db, sham, [item({ url: 'https://sham.example/deir?utm_source=rss', ...story })], now);
    await ingest(t.db, wire, [item({ url: 'https://sham.example/deir', ...story })], now);
    const r = await t.db.query<{ id: number }>(`select id from entries where title = $1`, [story.title]);
    expect(r.rows).toHaveLength(1);
    wireEntryId = Number(r.rows[0]!.id);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('walks Older to the end and Newer back to the top, each page the same both ways, filters kept', async () => {
    const first = await page('/?region=europe');
    expect(first.titles).toHaveLength(50);
    expect(first.titles[0]).toBe('eu story 0');
    expect(first.newer).toBeNull();
    expect(first.newest).toBe(false);

    const down: Page[] = [first];
    let p = first;
    while (p.older) {
      expect(p.older).toMatch(/^\/\?region=europe&cursor=/);
      p = await page(p.older);
      down.push(p);
    }
    expect(down.map((x) => x.titles.length)).toEqual([50, 50, 20]);
    expect(down.flatMap((x) => x.titles)).toEqual(Array.from({ length: 120 }, (_, i) => `eu story ${i}`));

    // Back up with "Newer" from the last page: the same pages in reverse.
    const up: Page[] = [p];
    while (p.newer) {
      expect(p.newer).toMatch(/^\/\?region=europe&newer=/);
      expect(p.newest).toBe(true);
      p = await page(p.newer);
      up.push(p);
    }
    expect(up.map((x) => x.titles)).toEqual(down.map((x) => x.titles).reverse());
    // The top reached through "Newer" is the first page itself: no Newer, an Older link.
    expect(p.newer).toBeNull();
    expect(p.older).toBe(first.older);
    // A middle page reached through "Newer" links both ways.
    expect(up[1]!.newer).not.toBeNull();
    expect(up[1]!.older).toBe(down[1]!.older);
  });

  it('refuses a malformed newer token and newer together with cursor, as 400 problems', async () => {
    const bad = Buffer.from('["2026-02-30T10:00:00.000000Z",1]').toString('base64url');
    const ok = encodeCursor({ sortAt: '2024-05-20T00:00:00.000000Z', id: 5 });
    for (const [qs, parameter] of [[`newer=${bad}`, 'newer'], [`newer=${ok}&cursor=${ok}`, 'newer']] as const) {
      const res = await fetch(`${app.base}/?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { errors: { parameter: string }[] }).errors.map((e) => e.parameter)).toEqual([parameter]);
    }
  });

  it('isolates feed names and dates in the meta line so right-to-left names cannot reorder the date', async () => {
    const { body } = await get('/?region=mena');
    const meta = /<p class="meta">[\s\S]*?<\/p>/.exec(body)![0];
    expect(meta).toContain('<bdi class="source">شام نيوز</bdi>');
    expect(meta).toContain('<bdi class="source">Wire &lt;Service&gt;</bdi>');
    expect(meta).toMatch(/<time dir="ltr" datetime="2026-11-30T19:11:00.000Z">2026-11-30 19:11 UTC<\/time>/);
    // The date links to the entry's own page.
    expect(meta).toContain(`<a class="permalink" href="/items/${wireEntryId}">`);
  });

  it('shows an item page with the sanitised content and every source as a link', async () => {
    const r = await get(`/items/${wireEntryId}`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/html/);
    expect(r.body).toContain('<title>اشتباكات في دير الزور — Tributary</title>');
    expect(r.body).toContain('<div class="content" dir="auto"><p>نص المقال <a href="https://sham.example/more" rel="noopener noreferrer">المزيد</a></p></div>');
    const sources = /<section class="item-sources">([\s\S]*?)<\/section>/.exec(r.body)![1]!;
    const links = [...sources.matchAll(/<li><a href="([^"]+)"[^>]*><bdi>([^<]+)<\/bdi><\/a><\/li>/g)].map((m) => [m[1], m[2]]);
    expect(links).toEqual([
      ['https://sham.example/deir?utm_source=rss', 'شام نيوز'],
      ['https://sham.example/deir', 'Wire &lt;Service&gt;'],
    ]);
    expect(r.body).toMatch(/<time dir="ltr" datetime="2026-11-30T19:11:00.000Z">/);
    expect(r.body).not.toMatch(/<script/i);
  });

  it('answers unknown and malformed item ids with a 404 page', async () => {
    for (const id of ['999999', '0', 'abc', '1e3', '-1', '99999999999999999999', `${wireEntryId}x`]) {
      const r = await get(`/items/${id}`);
      expect(r.status, id).toBe(404);
      expect(r.type, id).toMatch(/^text\/html/);
      expect(r.body, id).toContain('No such entry');
      expect(r.body, id).toContain('<a href="/">All entries</a>');
    }
  });

  // Last: it adds 3,000 entries, and in-process PGlite blocks the event loop long enough for the
  // server to drop idle keep-alive sockets under a following request.
  it('reads the newer side through the entries_newest index too (backwards), without sorting the table', async () => {
    const feed = await addFeed(t.db, { url: 'https://plan.example/feed', title: 'Plan', region: 'plan', language: 'en' });
    await ingest(t.db, feed, series('plan', 3000, new Date('2024-03-01T00:00:00Z')), new Date('2024-06-01T00:00:00Z'));
    await t.db.exec('analyze entries; analyze entry_sources; analyze feeds');
    const q = buildListQuery({}, 51, { sortAt: '2024-02-28T12:00:00.000000Z', id: 1500 }, 'newer');
    const plan = (await t.db.query<Record<string, string>>(`explain ${q.sql}`, q.params)).rows.map((r) => Object.values(r)[0]).join('\n');
    expect(plan).toContain('entries_newest');
    expect(plan).not.toMatch(/\bSort\b/);
  });
});
