import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Parser from 'rss-parser';
import { XMLValidator } from 'fast-xml-parser';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, item, startApp, type RunningApp } from './helpers.ts';

const parser = new Parser();

describe(`merged feeds (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let feedA: { id: number; language: string | null };
  let feedB: { id: number; language: string | null };
  const now = new Date('2024-05-01T12:00:00Z');

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
    feedA = await addFeed(t.db, { url: 'https://a.example/rss', title: 'Alpha Wire', region: 'europe', language: 'en' });
    feedB = await addFeed(t.db, { url: 'https://b.example/rss', title: 'Beta Daily', region: 'mena', language: 'en' });
    await ingest(
      t.db,
      feedA,
      [
        item({ url: 'https://news.example/shared?utm_source=a', title: 'Shared story', published: '2024-05-01T10:00:00Z', categories: ['World'], author: 'Ann Writer', content_html: '<p>Shared <b>body</b></p>' }),
        item({ url: 'https://a.example/only-a', title: 'Only in A', published: '2024-05-01T09:00:00Z', summary: 'A summary', enclosures: [{ url: 'https://a.example/a.mp3', type: 'audio/mpeg', length: 1234 }] }),
        // Control characters and a lone surrogate must not make the XML invalid.
        item({ url: 'https://a.example/ctrl', title: 'Bad\u0001chars\u000B & <stuff>', published: '2024-05-01T08:00:00Z' }),
      ],
      now,
    );
    await ingest(
      t.db,
      feedB,
      [
        item({ url: 'https://news.example/shared?utm_medium=b', guid: 'b-1', title: 'Shared story', published: '2024-05-01T10:00:00Z' }),
        item({ url: 'https://b.example/only-b', title: 'Only in B', published: '2024-05-01T11:00:00Z' }),
        // Undated: sorted by first sight (now), so it is the newest.
        item({ url: 'https://b.example/undated', title: 'Undated B' }),
      ],
      now,
    );
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const expectedTitles = ['Undated B', 'Only in B', 'Shared story', 'Only in A', 'Badchars & <stuff>'];

  it('RSS 2.0 parses back with every entry once, newest first, naming both sources of a shared story', async () => {
    const res = await fetch(`${app.base}/feed.xml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/rss\+xml/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const xml = await res.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    const feed = await parser.parseString(xml);
    expect(feed.items.map((i) => i.title)).toEqual(expectedTitles);
    expect(xml).toContain(`<atom:link href="${app.base}/feed.xml" rel="self" type="application/rss+xml"/>`);
    const shared = feed.items.find((i) => i.title === 'Shared story')!;
    expect(shared.link).toBe('https://news.example/shared');
    expect(shared.guid).toMatch(/^tag:tributary,2024:entry\/\d+$/);
    expect(shared.pubDate).toBe('Wed, 01 May 2024 10:00:00 GMT');
    expect(shared.content).toContain('Alpha Wire');
    expect(shared.content).toContain('Beta Daily');
    expect(xml).toMatch(/<source url="https:\/\/a\.example\/rss">Alpha Wire<\/source>/);
    expect(xml).toContain('<enclosure url="https://a.example/a.mp3" length="1234" type="audio/mpeg"/>');
    expect(xml).not.toMatch(/[\u0001\u000B]/);
  });

  it('Atom 1.0 parses back with ids, dates, links, authors, categories and sources', async () => {
    const res = await fetch(`${app.base}/feed.atom`);
    expect(res.headers.get('content-type')).toMatch(/^application\/atom\+xml/);
    const xml = await res.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    const feed = await parser.parseString(xml);
    expect(feed.items.map((i) => i.title)).toEqual(expectedTitles);
    expect(new Set(feed.items.map((i) => i.id)).size).toBe(5);
    const shared = feed.items.find((i) => i.title === 'Shared story')!;
    expect(shared.link).toBe('https://news.example/shared');
    expect(shared.isoDate).toBe('2024-05-01T10:00:00.000Z');
    expect(shared.author).toBe('Ann Writer');
    expect(xml).toContain('<category term="World"/>');
    expect(xml).toContain(`<link rel="self" type="application/atom+xml" href="${app.base}/feed.atom"/>`);
    expect(xml).toMatch(/<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">\n<id>/);
    expect(xml).toMatch(/<source>\n<id>https:\/\/a.example\/rss<\/id>/);
    expect(xml).toContain('<content type="html">');
  });

  it('JSON Feed 1.1 has the required shape and the _tributary sources', async () => {
    const res = await fetch(`${app.base}/feed.json`);
    expect(res.headers.get('content-type')).toMatch(/^application\/feed\+json/);
    const feed = (await res.json()) as { version: string; home_page_url: string; feed_url: string; items: Array<Record<string, unknown>> };
    expect(feed.version).toBe('https://jsonfeed.org/version/1.1');
    expect(feed.feed_url).toBe(`${app.base}/feed.json`);
    expect(feed.home_page_url).toBe(`${app.base}/`);
    expect(feed.items.map((i) => i.title)).toEqual(expectedTitles);
    for (const i of feed.items) {
      expect(typeof i.id).toBe('string');
      expect(typeof i.content_html === 'string' || typeof i.content_text === 'string').toBe(true);
    }
    const shared = feed.items.find((i) => i.title === 'Shared story')!;
    expect(shared).toMatchObject({
      url: 'https://news.example/shared',
      date_published: '2024-05-01T10:00:00.000Z',
      authors: [{ name: 'Ann Writer' }],
      tags: ['World'],
      language: 'en',
    });
    const sources = (shared._tributary as { sources: Array<{ feed_id: number; url: string }> }).sources;
    expect(sources.map((s) => s.feed_id).sort()).toEqual([feedA.id, feedB.id].sort());
    expect(sources.map((s) => s.url).sort()).toEqual(['https://news.example/shared?utm_medium=b', 'https://news.example/shared?utm_source=a']);
    const onlyA = feed.items.find((i) => i.title === 'Only in A')!;
    expect(onlyA.attachments).toEqual([{ url: 'https://a.example/a.mp3', mime_type: 'audio/mpeg', size_in_bytes: 1234 }]);
  });

  it('filters by region (path and query), feed, limit, and uses PUBLIC_URL for self links', async () => {
    const region = await parser.parseString(await (await fetch(`${app.base}/regions/mena/feed.xml`)).text());
    expect(region.items.map((i) => i.title)).toEqual(['Undated B', 'Only in B', 'Shared story']);
    const byQuery = (await (await fetch(`${app.base}/feed.json?region=europe&limit=2`)).json()) as { items: { title: string }[]; feed_url: string };
    expect(byQuery.items.map((i) => i.title)).toEqual(['Shared story', 'Only in A']);
    expect(byQuery.feed_url).toBe(`${app.base}/feed.json?region=europe&limit=2`);
    const byFeed = await parser.parseString(await (await fetch(`${app.base}/feed.atom?feed=${feedA.id}`)).text());
    expect(byFeed.items.map((i) => i.title)).toEqual(['Shared story', 'Only in A', 'Badchars & <stuff>']);

    const pub = await startApp(t.db, { PUBLIC_URL: 'https://news.example.org/' });
    try {
      const xml = await (await fetch(`${pub.base}/feed.xml`)).text();
      expect(xml).toContain('<atom:link href="https://news.example.org/feed.xml" rel="self"');
    } finally {
      await pub.close();
    }
  });

  it('answers 304 to If-None-Match and If-Modified-Since, and changes the ETag after an ingest', async () => {
    const first = await fetch(`${app.base}/feed.xml?region=europe`);
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    await first.text();
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(Number.isNaN(Date.parse(lastModified))).toBe(false);

    const byEtag = await fetch(`${app.base}/feed.xml?region=europe`, { headers: { 'if-none-match': etag } });
    expect(byEtag.status).toBe(304);
    const byDate = await fetch(`${app.base}/feed.xml?region=europe`, { headers: { 'if-modified-since': lastModified } });
    expect(byDate.status).toBe(304);
    // Another format or other filters are other documents.
    const other = await fetch(`${app.base}/feed.atom?region=europe`, { headers: { 'if-none-match': etag } });
    expect(other.status).toBe(200);
    await other.text();

    await ingest(t.db, feedA, [item({ url: 'https://a.example/fresh', title: 'Fresh A', published: '2024-05-01T11:30:00Z' })], now);
    const after = await fetch(`${app.base}/feed.xml?region=europe`, { headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    const feed = await parser.parseString(await after.text());
    expect(feed.items[0]?.title).toBe('Fresh A');
  });
});
