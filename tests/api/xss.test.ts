import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Parser from 'rss-parser';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, startApp, type RunningApp } from './helpers.ts';
import { parseFeed } from '../../src/parse/index.ts';

const TITLE = `"><svg onload=alert(1)><script>alert('t')</script>`;
const CONTENT = `<p>Hello</p><script>alert('c')</script><img src=x onerror="alert('i')"><a href="javascript:alert('l')">click</a><iframe src="https://evil.example/"></iframe><a href="https://ok.example/">fine</a>`;
const SUMMARY = `<img src=x onerror=alert('s')> and <script>alert('s2')</script>`;

/** Markup that would run if a consumer rendered the text as HTML. */
const LIVE = [/<script/i, /<svg/i, /<iframe/i, /<[a-z][^>]*\son[a-z]+\s*=/i, /href\s*=\s*["']?\s*javascript:/i];

/** The reader page's own script (src/api/pages/live.js): the one script tag allowed, from our origin. */
const OWN_SCRIPT = '<script src="/assets/live.js" defer></script>';

function expectInert(text: string, where: string) {
  const rest = text.replace(OWN_SCRIPT, '');
  for (const pattern of LIVE) expect(rest, `${where} ${pattern}`).not.toMatch(pattern);
}

describe(`hostile content arriving through a feed (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
    const feed = await addFeed(t.db, { url: 'https://evil.example/feed', title: `<script>alert('feed')</script>`, region: `"><script>alert('r')</script>`, language: 'en' });
    // The payloads arrive the way a hostile publisher would send them: inside a feed document
    // (the title escaped twice, so after decoding it is text that looks like markup).
    const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    const xml = `<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
      <title>evil</title><link>https://evil.example/</link>
      <item><title>${esc(esc(TITLE))}</title><link>${esc('https://evil.example/a?x="><script>alert(1)</script>')}</link>
        <guid>evil-1</guid><author>${esc('<b onmouseover=alert(1)>me</b>')}</author><category>${esc('<script>cat</script>')}</category>
        <description>${esc(SUMMARY)}</description><content:encoded><![CDATA[${CONTENT}]]></content:encoded></item>
      <item><title>javascript link</title><link>javascript:alert(document.cookie)</link><guid>js-link</guid></item>
    </channel></rss>`;
    const parsed = await parseFeed(xml, { baseUrl: 'https://evil.example/feed' });
    await ingest(t.db, feed, parsed.items);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('is escaped in RSS and Atom: raw text carries no markup, and the HTML inside decodes to inert markup', async () => {
    const parser = new Parser();
    for (const path of ['/feed.xml', '/feed.atom']) {
      const xml = await (await fetch(`${app.base}${path}`)).text();
      expectInert(xml, path);
      const feed = await parser.parseString(xml);
      expect(feed.items).toHaveLength(2);
      for (const i of feed.items) {
        // What a feed reader renders as HTML after XML decoding:
        expectInert(i.content ?? '', `${path} content`);
        expect(i.link ?? '').not.toMatch(/^javascript:/i);
      }
      expect(feed.items.map((i) => i.title)).toContain(TITLE);
    }
  });

  it('is sanitised in JSON Feed and /api/items content_html, and javascript: links are dropped', async () => {
    const feedText = await (await fetch(`${app.base}/feed.json`)).text();
    expectInert(feedText, 'feed.json raw');
    const feed = JSON.parse(feedText) as { items: Array<{ title: string; url?: string; content_html?: string }> };
    for (const i of feed.items) {
      expectInert(i.content_html ?? '', 'feed.json content_html');
      expect(i.url ?? '').not.toMatch(/^javascript:/i);
    }
    expect(feed.items.map((i) => i.title)).toContain(TITLE);

    // Titles are plain text and travel as JSON strings; the body is never sniffed as HTML.
    const apiRes = await fetch(`${app.base}/api/items`);
    expect(apiRes.headers.get('content-type')).toMatch(/^application\/json/);
    expect(apiRes.headers.get('x-content-type-options')).toBe('nosniff');
    const apiText = await apiRes.text();
    const api = JSON.parse(apiText) as {
      items: Array<{ title: string; url: string | null; content_html: string | null; author: string | null; categories: string[] }>;
    };
    const bad = api.items.find((i) => i.title === TITLE)!;
    // Authors and categories are plain text like titles: decoded and stripped, never markup.
    expect(bad.author).toBe('me');
    for (const c of bad.categories) expect(c).not.toMatch(/[<>]/);
    expect(bad.content_html).toContain('<p>Hello</p>');
    expect(bad.content_html).toContain('href="https://ok.example/"');
    expectInert(bad.content_html!, 'api content_html');
    expect(api.items.find((i) => i.title === 'javascript link')!.url).toBeNull();
  });

  it('is escaped on the reader page', async () => {
    const res = await fetch(`${app.base}/?q=${encodeURIComponent('"><script>alert(9)</script>')}`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expectInert(page, 'search echo');
    const full = await (await fetch(`${app.base}/`)).text();
    expectInert(full, 'reader page');
    expect(full).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(full).not.toContain('href="javascript:');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self';/); // our own /assets/live.js only: no inline script runs
  });

  it('is sanitised and escaped on item pages, whose source links are http(s) only', async () => {
    const api = (await (await fetch(`${app.base}/api/items`)).json()) as { items: Array<{ id: number; title: string }> };
    for (const { id, title } of api.items) {
      const res = await fetch(`${app.base}/items/${id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self';/); // our own /assets/live.js only: no inline script runs
      const page = await res.text();
      expectInert(page, `item page ${title}`);
      expect(page).not.toContain('href="javascript:');
    }
    const bad = api.items.find((i) => i.title === TITLE)!;
    const page = await (await fetch(`${app.base}/items/${bad.id}`)).text();
    expect(page).toContain('<p>Hello</p>');
    expect(page).toContain('href="https://ok.example/"');
    expect(page).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(page).toContain('<bdi>&lt;script&gt;alert(&#39;feed&#39;)&lt;/script&gt;</bdi>');
  });

  it('is escaped in collapsed stories: the other outlets listed under an entry, and the story page', async () => {
    // One event reported by two hostile outlets, their names and headlines carrying markup.
    const at = new Date(Date.now() - 3_600_000);
    const headline = (n: number) => `Explosion at BASF Ludwigshafen plant kills 2 workers <script>alert('h${n}')</script>`;
    const lead = 'An explosion killed 2 workers at the BASF chemical plant in Ludwigshafen on Monday, the company and the fire brigade said.';
    const storyIds = new Set<number>();
    for (const n of [1, 2]) {
      const feed = await addFeed(t.db, { url: `https://evil${n}.example/feed`, title: `<img src=x onerror=alert('o${n}')>`, language: 'en' });
      await ingest(t.db, feed, [{ guid: `s${n}`, url: `https://evil${n}.example/s?x="><script>alert(${n})</script>`, title: headline(n), summary: lead, published: new Date(at.getTime() + n * 60_000).toISOString(), updated: null, author: null, categories: [], enclosures: [], content_html: null }]);
      const api = (await (await fetch(`${app.base}/api/items?feed=${feed.id}`)).json()) as { items: Array<{ story_id: number }> };
      storyIds.add(api.items[0]!.story_id);
    }
    // The two reports are one story, so each collapsed output lists the other outlet.
    expect(storyIds.size).toBe(1);
    const [storyId] = [...storyIds];
    for (const path of ['/?collapse=story', `/stories/${storyId}`, '/feed.xml?collapse=story', '/feed.atom?collapse=story', '/feed.json?collapse=story']) {
      const res = await fetch(`${app.base}${path}`);
      expect(res.status, path).toBe(200);
      const body = await res.text();
      expectInert(body, path);
      expect(body, path).not.toContain('<img src=x');
      if (path.startsWith('/?') || path.startsWith('/stories')) {
        expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self';/); // our own /assets/live.js only: no inline script runs
        expect(body, path).toContain('&lt;img src=x onerror=alert(&#39;o');
      }
    }
    // What a feed reader renders from the RSS description is inert too.
    const rss = await new Parser().parseString(await (await fetch(`${app.base}/feed.xml?collapse=story`)).text());
    const item = rss.items.find((i) => i.title === headline(1))!;
    expect(item.content).toContain('Also reported by:');
    expectInert(item.content!.replace(/&[a-z#0-9]+;/gi, ''), 'RSS description as HTML');
  });
});
