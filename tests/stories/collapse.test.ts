import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Parser from 'rss-parser';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { emptyItem } from '../helpers/items.ts';
import { addFeed, startApp, type RunningApp } from '../api/helpers.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { asFeedItem, loadLabelledSet, OUTLETS } from './labelled-set.ts';

/**
 * `?collapse=story` on /api/items, the merged feeds and the reader page, and the story page, over
 * the labelled set ingested through the real ingest. The reference for "which stories, which
 * reports" is /api/stories, which lists every story with all its reports.
 */
const set = loadLabelledSet();
const LEVANT = new Set(['ufuq', 'mashriq']);

interface ItemJson {
  id: number;
  url: string;
  title: string | null;
  story_id: number;
  sources: Array<{ feed_id: number }>;
  story?: { id: number; sources: Array<{ item_id: number; feed_id: number; feed_title: string | null; title: string | null; url: string | null; published: string | null }> };
}
interface StoryJson {
  id: number;
  items: Array<{ id: number; title: string | null; url: string; sources: Array<{ feed_id: number }> }>;
}

/** .ci/run installs python3-feedparser; where it could not, the feedparser checks are skipped (rss-parser's still run). */
const HAS_FEEDPARSER = spawnSync('/usr/bin/python3', ['-c', 'import feedparser']).status === 0;

/** The served body as Python's feedparser reads it: one line of JSON per entry. */
function feedparser(body: string): Promise<{ bozo: boolean; version: string; entries: Array<{ id: string; link: string; related: string[]; source: string | null }> }> {
  const script = `
import sys, json, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({"bozo": bool(d.bozo), "version": d.version, "entries": [
  {"id": e.get("id"), "link": e.get("link"), "related": [l["href"] for l in e.get("links", []) if l.get("rel") == "related"],
   "source": (e.get("source") or {}).get("href")} for e in d.entries]}))`;
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`feedparser exited ${code}: ${err}`))));
    child.stdin.end(body, 'utf8');
  });
}

describe(`?collapse=story: one entry per story (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let stories: StoryJson[] = [];
  /** Entry id → its story's id, and each story's reports earliest first (as /api/stories lists them). */
  const storyOf = new Map<number, number>();
  const byId = new Map<number, StoryJson>();

  beforeAll(async () => {
    t = await createTestDb();
    for (const [outlet, meta] of Object.entries(OUTLETS)) {
      // One outlet's name carries markup: it must come out inert everywhere it is listed.
      const title = outlet === 'mashriq' ? `${meta.name} <img src=x onerror=alert(1)>` : meta.name;
      const f = await addFeed(t.db, { url: `https://${outlet}.example/feed`, region: LEVANT.has(outlet) ? 'levant' : 'europe', title });
      const items = set.filter((x) => x.outlet === outlet).map((x) => emptyItem(asFeedItem(x)));
      await t.db.transaction((tx) => ingestItems(tx, { id: f.id, language: meta.language }, items, { now: new Date('2026-12-01T00:00:00Z'), retentionDays: 0 }));
    }
    app = await startApp(t.db);
    const all = (await (await fetch(`${app.base}/api/stories?limit=200`)).json()) as { stories: StoryJson[]; next_cursor: string | null };
    expect(all.next_cursor).toBeNull();
    stories = all.stories;
    for (const s of stories) {
      byId.set(s.id, s);
      for (const i of s.items) storyOf.set(i.id, s.id);
    }
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const multiOutlet = () => stories.filter((s) => s.items.length > 1);

  it('walks every story once on /api/items, each as its earliest report with the other reports listed', async () => {
    expect(multiOutlet().length).toBeGreaterThan(10);
    const seen = new Set<number>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await fetch(`${app.base}/api/items?collapse=story&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: ItemJson[]; next_cursor: string | null };
      for (const item of page.items) {
        expect(seen.has(item.story_id), `story ${item.story_id} twice`).toBe(false);
        seen.add(item.story_id);
        const story = byId.get(item.story_id)!;
        expect(item.story!.id).toBe(item.story_id);
        // The earliest report stands for the story; the others follow it, earliest first, one per outlet.
        expect(item.id).toBe(story.items[0]!.id);
        const others = story.items.slice(1).flatMap((i) => i.sources.map((s) => ({ item_id: i.id, feed_id: s.feed_id, title: i.title, url: i.url })));
        expect(item.story!.sources.map(({ item_id, feed_id, title, url }) => ({ item_id, feed_id, title, url }))).toEqual(others);
      }
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    expect([...seen].sort((a, b) => a - b)).toEqual(stories.map((s) => s.id).sort((a, b) => a - b));
  });

  it('collapses after filtering: a region keeps its own earliest report of each story', async () => {
    const res = await fetch(`${app.base}/api/items?collapse=story&region=levant&limit=200`);
    const page = (await res.json()) as { items: ItemJson[] };
    const levantStories = ((await (await fetch(`${app.base}/api/stories?region=levant&limit=200`)).json()) as { stories: StoryJson[] }).stories;
    expect(page.items.map((i) => i.story_id).sort((a, b) => a - b)).toEqual(levantStories.map((s) => s.id).sort((a, b) => a - b));
    // Without collapse the same filter lists every report; collapsed, one per story.
    const flat = (await (await fetch(`${app.base}/api/items?region=levant&limit=200`)).json()) as { items: ItemJson[] };
    expect(flat.items.length).toBeGreaterThan(page.items.length);
    expect(flat.items[0]!.story).toBeUndefined();
  });

  it('refuses an unknown collapse value as a 400 problem, and keeps collapse out of /api/stories', async () => {
    for (const path of ['/api/items?collapse=feed', '/api/items?collapse=story&collapse=story', '/api/stories?collapse=story']) {
      const res = await fetch(`${app.base}${path}`);
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('gives the collapsed feeds their own ETag and cache entry', async () => {
    for (const path of ['/api/items', '/feed.xml', '/feed.atom', '/feed.json']) {
      const plain = await fetch(`${app.base}${path}`);
      const collapsed = await fetch(`${app.base}${path}?collapse=story`);
      expect(collapsed.headers.get('etag'), path).not.toBe(plain.headers.get('etag'));
      // A conditional request with the other variant's ETag is not answered 304.
      const cross = await fetch(`${app.base}${path}?collapse=story`, { headers: { 'If-None-Match': plain.headers.get('etag')! } });
      expect(cross.status, path).toBe(200);
      // …and not from the plain variant's cache: the collapsed body names its stories.
      const marker = path === '/api/items' ? '"story":{' : 'collapse=story';
      expect(await cross.text(), path).toContain(marker);
      expect(await plain.text(), path).not.toContain(marker);
      await collapsed.arrayBuffer();
    }
  });

  it('serves RSS and Atom that feedparser and rss-parser read as one entry per story, the other outlets as related links', async () => {
    const expected = stories.map((s) => s.id);
    for (const path of ['/feed.xml', '/feed.atom']) {
      const body = await (await fetch(`${app.base}${path}?collapse=story&limit=200`)).text();
      const rss = await new Parser().parseString(body);
      expect(rss.items.length, path).toBe(expected.length);
      // The other reports are named in the description/content too, inert.
      const multi = multiOutlet()[0]!;
      const item = rss.items.find((i) => i.link === multi.items[0]!.url)!;
      expect(item.content).toContain('Also reported by:');
      for (const other of multi.items.slice(1)) expect(item.content).toContain(other.url);
      expect(body).not.toContain('<img src=x');
      if (!HAS_FEEDPARSER) continue;
      const parsed = await feedparser(body);
      expect(parsed.bozo, path).toBe(false);
      expect(parsed.entries.length, path).toBe(expected.length);
      const entryIds = parsed.entries.map((e) => Number(/entry\/(\d+)$/.exec(e.id)![1]));
      expect(entryIds.map((id) => storyOf.get(id)).sort((a, b) => a! - b!), path).toEqual([...expected].sort((a, b) => a - b));
      for (const [n, e] of parsed.entries.entries()) {
        const story = byId.get(storyOf.get(entryIds[n]!)!)!;
        expect(entryIds[n], path).toBe(story.items[0]!.id);
        expect(e.related, path).toEqual(story.items.slice(1).flatMap((i) => i.sources.map(() => i.url)));
        // RSS keeps one <source>, the item's own feed (feedparser would keep only the last of several).
        if (path === '/feed.xml') expect(e.source).toMatch(/^https:\/\/\w+\.example\/feed$/);
      }
    }
  });

  it('serves a JSON Feed with one item per story and a _tributary extension naming every outlet', async () => {
    const res = await fetch(`${app.base}/feed.json?collapse=story&limit=200`);
    const feed = (await res.json()) as {
      version: string;
      feed_url: string;
      items: Array<{ id: string; url: string; content_html?: string; content_text?: string; _tributary: { story_id: number; sources: Array<{ feed_id: number; url: string | null; item_id?: number }> } }>;
    };
    expect(feed.version).toBe('https://jsonfeed.org/version/1.1');
    expect(feed.feed_url).toContain('collapse=story');
    expect(feed.items.map((i) => i._tributary.story_id).sort((a, b) => a - b)).toEqual(stories.map((s) => s.id).sort((a, b) => a - b));
    for (const i of feed.items) {
      const story = byId.get(i._tributary.story_id)!;
      expect(i.url).toBe(story.items[0]!.url);
      expect(i.content_html ?? i.content_text).toBeDefined();
      const outlets = story.items.flatMap((r) => r.sources.map((s) => s.feed_id));
      expect(i._tributary.sources.map((s) => s.feed_id)).toEqual(outlets);
    }
  });

  it('collapses the per-region feeds too', async () => {
    const levantStories = ((await (await fetch(`${app.base}/api/stories?region=levant&limit=200`)).json()) as { stories: StoryJson[] }).stories;
    const body = await (await fetch(`${app.base}/regions/levant/feed.atom?collapse=story&limit=200`)).text();
    const plainBody = await (await fetch(`${app.base}/regions/levant/feed.atom?limit=200`)).text();
    const parsed = await new Parser().parseString(body);
    expect(parsed.items.length).toBe(levantStories.length);
    expect((await new Parser().parseString(plainBody)).items.length).toBeGreaterThan(parsed.items.length);
    if (!HAS_FEEDPARSER) return;
    const fp = await feedparser(body);
    expect(fp.bozo).toBe(false);
    expect(fp.entries.length).toBe(levantStories.length);
  });

  it('shows one entry per story on the reader page, linking every outlet and the story page', async () => {
    const page = await (await fetch(`${app.base}/?collapse=story`)).text();
    const multi = multiOutlet().find((s) => page.includes(`/stories/${s.id}"`))!;
    expect(multi).toBeDefined();
    for (const other of multi.items.slice(1)) expect(page).toContain(`href="${other.url}"`);
    expect(page).toMatch(/<input type="checkbox" name="collapse" value="story" checked>/);
    // Paging and the feed links keep the choice.
    expect(page).toContain('/feed.xml?collapse=story');
    expect(page).not.toContain('<img src=x');

    const storyPage = await fetch(`${app.base}/stories/${multi.id}`);
    expect(storyPage.status).toBe(200);
    expect(storyPage.headers.get('content-security-policy')).toBeTruthy();
    const html = await storyPage.text();
    for (const report of multi.items) {
      expect(html).toContain(`href="${report.url}"`);
      expect(html).toContain(`/items/${report.id}"`);
    }
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img src=x');
    for (const bad of ['/stories/999999999', '/stories/abc', '/stories/0']) expect((await fetch(`${app.base}${bad}`)).status, bad).toBe(404);
  });
});
