import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { emptyItem } from '../helpers/items.ts';
import { addFeed, startApp, type RunningApp } from '../api/helpers.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { asFeedItem, loadLabelledSet, OUTLETS } from './labelled-set.ts';
import { BRIDGE } from './bridge.ts';

const set = loadLabelledSet();

interface StoryJson {
  id: number;
  title: string | null;
  first_published: string;
  last_updated: string;
  items: Array<{ id: number; url: string; title: string | null; story_id: number; sources: Array<{ feed_id: number }> }>;
  sources_count: number;
}

describe(`GET /api/stories (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  const feeds = new Map<string, number>();

  beforeAll(async () => {
    t = await createTestDb();
    for (const [outlet, meta] of Object.entries(OUTLETS)) {
      const f = await addFeed(t.db, { url: `https://${outlet}.example/feed`, region: outlet === 'ufuq' || outlet === 'mashriq' ? 'levant' : 'europe' });
      feeds.set(outlet, f.id);
      const items = set.filter((x) => x.outlet === outlet).map((x) => emptyItem(asFeedItem(x)));
      await t.db.transaction((tx) => ingestItems(tx, { id: f.id, language: meta.language }, items, { now: new Date('2026-12-01T00:00:00Z'), retentionDays: 0 }));
    }
    app = await startApp(t.db);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${app.base}${path}`);
    return { status: res.status, body: (await res.json()) as T };
  };

  it('walks every story once, newest activity first, each with all its items exactly as /api/items shows them', async () => {
    const seenStories = new Set<number>();
    const seenItems = new Set<number>();
    let cursor: string | null = null;
    let previous: [string, number] | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { stories: StoryJson[]; next_cursor: string | null } } = await get(`/api/stories?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      for (const s of page.body.stories) {
        expect(seenStories.has(s.id)).toBe(false);
        seenStories.add(s.id);
        const key: [string, number] = [s.last_updated, s.id];
        if (previous) expect(key[0] < previous[0] || (key[0] === previous[0] && key[1] < previous[1])).toBe(true);
        previous = key;
        expect(s.items.length).toBeGreaterThan(0);
        expect(s.title).toBe(s.items[0]!.title ?? null);
        expect(s.sources_count).toBe(new Set(s.items.flatMap((i) => i.sources.map((x) => x.feed_id))).size);
        for (const i of s.items) {
          expect(i.story_id).toBe(s.id);
          expect(seenItems.has(i.id)).toBe(false);
          seenItems.add(i.id);
        }
      }
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seenItems.size).toBe(set.length);

    // The items of one story are the ones /api/items returns for ?story=, field for field.
    const multi = [...seenStories][0]!;
    const story = await get<StoryJson>(`/api/stories/${multi}`);
    const items = await get<{ items: unknown[] }>(`/api/items?story=${multi}&limit=200`);
    expect([...items.body.items].sort((a, b) => (a as { id: number }).id - (b as { id: number }).id)).toEqual(
      [...story.body.items].sort((a, b) => a.id - b.id),
    );
  });

  it('filters stories by language and region, and refuses bad parameters with problem+json', async () => {
    const ar = await get<{ stories: StoryJson[] }>('/api/stories?lang=ar&limit=200');
    expect(ar.body.stories.length).toBeGreaterThan(0);
    // Stories never mix languages: the Arabic stories hold exactly the Arabic reports.
    const arUrls = set.filter((x) => x.language.startsWith('ar')).map((x) => asFeedItem(x).url).sort();
    expect(ar.body.stories.flatMap((s) => s.items.map((i) => i.url)).sort()).toEqual(arUrls);
    const levant = await get<{ stories: StoryJson[] }>('/api/stories?region=levant&limit=200');
    expect(levant.body.stories.map((s) => s.id).sort()).toEqual(ar.body.stories.map((s) => s.id).sort());
    for (const bad of ['limit=0', 'limit=201', 'cursor=nope', 'story=1', 'since=yesterday']) {
      const res = await fetch(`${app.base}/api/stories?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await fetch(`${app.base}/api/stories/999999`)).status).toBe(404);
    expect((await fetch(`${app.base}/api/items?story=abc`)).status).toBe(400);
  });

  it('resolves a merged story id to the story it was merged into', async () => {
    const feed = await addFeed(t.db, { url: 'https://bridge.example/feed' });
    const ids: number[] = [];
    for (const [i, e] of BRIDGE.entries()) {
      const it = emptyItem({ guid: `b${i}`, url: `https://bridge.example/${i}`, title: e.title, summary: e.summary, published: new Date(e.at).toISOString() });
      await t.db.transaction((tx) => ingestItems(tx, { id: feed.id, language: 'en' }, [it], { now: new Date(e.at + 60_000), retentionDays: 0 }));
      const r = await get<{ items: Array<{ id: number; url: string }> }>(`/api/items?feed=${feed.id}&limit=10`);
      ids.push(r.body.items.find((x) => x.url === it.url)!.id);
    }
    const older = await get<StoryJson>(`/api/stories/${ids[0]}`);
    const merged = await get<StoryJson>(`/api/stories/${ids[1]}`);
    expect(merged.status).toBe(200);
    expect(merged.body).toEqual(older.body);
    expect(merged.body.id).toBe(ids[0]);
    expect(merged.body.items.map((i) => i.id)).toEqual(ids);
    // ?story= with the merged id lists the surviving story's items too.
    const items = await get<{ items: Array<{ id: number }> }>(`/api/items?story=${ids[1]}`);
    expect(items.body.items.map((i) => i.id).sort((a, b) => a - b)).toEqual(ids);
  });
});
