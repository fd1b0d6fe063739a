import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { emptyItem } from '../helpers/items.ts';
import { addFeed, startApp, type RunningApp } from '../api/helpers.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { CHAIN } from './bridge.ts';
import { NEAREST_PER_SIDE, storyProbe, type NewStoryEntry } from '../../src/stories/assign.ts';
import { lockStoryLanguages } from '../../src/store/stories.ts';
import { syncStoryIndex } from '../../src/store/story-index.ts';

/** Merges that chain (R into Q, then Q into P) through the real ingest, and what readers then see. */
describe(`a chain of story merges (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const asItem = (prefix: string, e: NewStoryEntry, i: number) =>
    emptyItem({ guid: `${prefix}${i}`, url: `https://${prefix}.example/${i}`, title: e.title, summary: e.summary, published: new Date(e.at).toISOString() });

  async function storyRows(feedId: number): Promise<Array<[number, number | null]>> {
    const r = await t.db.query<{ id: number; merged_into: number | null }>(
      `select s.id, s.merged_into from stories s where s.id in
         (select e.id from entries e join entry_sources es on es.entry_id = e.id where es.feed_id = $1) order by s.id`,
      [feedId],
    );
    return r.rows.map((s) => [Number(s.id), s.merged_into === null ? null : Number(s.merged_into)]);
  }

  async function membership(feedId: number): Promise<number[]> {
    const r = await t.db.query<{ story_id: number }>(
      `select m.story_id from story_members m join entry_sources es on es.entry_id = m.entry_id where es.feed_id = $1 order by m.entry_id`,
      [feedId],
    );
    return r.rows.map((m) => Number(m.story_id));
  }

  it('keeps the oldest id through a chain of bridges, every redirect one hop to the survivor', async () => {
    const feed = await addFeed(t.db, { url: 'https://one.example/feed', region: 'chain' });
    const ids: number[] = [];
    for (const [i, e] of CHAIN.entries()) {
      const item = asItem('one', e, i);
      await t.db.transaction((tx) => ingestItems(tx, { id: feed.id, language: 'en' }, [item], { now: new Date(e.at + 60_000), retentionDays: 0 }));
      ids.push(Number((await t.db.query<{ id: number }>(`select id from entries where url = $1`, [item.url])).rows[0]!.id));
      const [p, q, r] = ids;
      // P, Q, R: three stories. S bridges Q and R: R redirects to Q. The last bridges P and Q.
      if (i === 2) expect(await storyRows(feed.id)).toEqual([[p, null], [q, null], [r, null]]);
      if (i === 3) expect(await storyRows(feed.id)).toEqual([[p, null], [q, null], [r, q]]);
    }
    const [p, q, r] = ids as [number, number, number];
    expect(await storyRows(feed.id)).toEqual([[p, null], [q, p], [r, p]]);
    expect(await membership(feed.id)).toEqual(ids.map(() => p));

    // Readers: both merged ids answer with the survivor; the story page redirects; one story, once.
    for (const merged of [q, r]) {
      const story = (await (await fetch(`${app.base}/api/stories/${merged}`)).json()) as { id: number; items: Array<{ id: number }> };
      expect(story.id).toBe(p);
      expect(story.items.map((x) => x.id)).toEqual(ids);
      const page = await fetch(`${app.base}/stories/${merged}`, { redirect: 'manual' });
      expect(page.status).toBe(301);
      expect(page.headers.get('location')).toBe(`/stories/${p}`);
    }
    const listed = (await (await fetch(`${app.base}/api/stories?region=chain`)).json()) as { stories: Array<{ id: number; items: unknown[] }> };
    expect(listed.stories.map((s) => [s.id, s.items.length])).toEqual([[p, ids.length]]);
    const collapsed = (await (await fetch(`${app.base}/api/items?region=chain&collapse=story`)).json()) as { items: Array<{ id: number; story: { sources: Array<{ item_id: number }> } }> };
    expect(collapsed.items.map((x) => x.id)).toEqual([p]);
    expect(collapsed.items[0]!.story.sources.map((s) => s.item_id)).toEqual(ids.slice(1));
  });

  it('is deterministic for an arrival order: one batch or one by one, the same stories', async () => {
    const feed = await addFeed(t.db, { url: 'https://two.example/feed', region: 'chain-batch' });
    // Times shifted past the first test's window, so the two feeds' reports never meet.
    const later = CHAIN.map((e) => ({ ...e, at: e.at + 30 * 86_400_000 }));
    const items = later.map((e, i) => asItem('two', e, i));
    await t.db.transaction((tx) => ingestItems(tx, { id: feed.id, language: 'en' }, items, { now: new Date(later[4]!.at + 60_000), retentionDays: 0 }));
    const ids = (await t.db.query<{ id: number }>(`select e.id from entries e join entry_sources es on es.entry_id = e.id where es.feed_id = $1 order by e.id`, [feed.id])).rows.map((x) => Number(x.id));
    expect(await membership(feed.id)).toEqual(ids.map(() => ids[0]));
    // In one batch the bridge is decided before any story is stored: Q and R are merged away in it.
    const rows = await storyRows(feed.id);
    expect(rows.filter(([, into]) => into === null)).toEqual([[ids[0], null]]);
    for (const [, into] of rows.filter(([id]) => id !== ids[0])) expect(into).toBe(ids[0]);
  });

  it('reads back at most NEAREST_PER_SIDE entries per band key and side, the nearest in time', async () => {
    // Recurring items share every band key: without the cap each new one would read all earlier ones.
    const feed = await addFeed(t.db, { url: 'https://three.example/feed', region: 'recurring' });
    const base = Date.parse('2026-06-01T00:00:00Z');
    const n = NEAREST_PER_SIDE * 10;
    const items = Array.from({ length: n }, (_, i) =>
      emptyItem({ guid: `r${i}`, url: `https://three.example/${i}`, title: `Harbour update ${i}`, summary: `Harbour update ${i}`, published: new Date(base + i * 60_000).toISOString() }),
    );
    await t.db.transaction((tx) => ingestItems(tx, { id: feed.id, language: 'en' }, items, { now: new Date(base + n * 60_000), retentionDays: 0 }));
    const ids = (await t.db.query<{ id: number }>(`select e.id from entries e join entry_sources es on es.entry_id = e.id where es.feed_id = $1 order by e.sort_at`, [feed.id])).rows.map((r) => Number(r.id));
    // What the rule reads: per probe key, the stored entries carrying it within the window, the
    // NEAREST_PER_SIDE at or before the probe's time and the NEAREST_PER_SIDE after it.
    const stored = items.map((it, i) => ({ id: ids[i]!, at: Date.parse(it.published!), keys: storyProbe({ entryId: 0, at: 0, title: it.title, summary: it.summary, language: 'en' }).bandKeys }));
    const expected = (at: number, keys: readonly number[]) => {
      const out = new Set<number>();
      for (const k of new Set(keys)) {
        const bucket = stored.filter((e) => e.keys.includes(k));
        for (const e of bucket.filter((e) => e.at <= at).slice(-NEAREST_PER_SIDE)) out.add(e.id);
        for (const e of bucket.filter((e) => e.at > at).slice(0, NEAREST_PER_SIDE)) out.add(e.id);
      }
      return [...out].sort((a, b) => a - b);
    };
    // The candidates the index of the store gives a probe (synced as ingest syncs it).
    const find = async (at: number, keys: readonly number[]) => {
      const windowMs = 72 * 3_600_000;
      const index = (await t.db.transaction((tx) => syncStoryIndex(tx, [{ lang: 'en', at }], windowMs, (langs) => lockStoryLanguages(tx, langs)))).indexOf('en');
      const slots: number[] = [];
      for (const k of keys) index.nearest(k, at, windowMs, NEAREST_PER_SIDE, slots);
      return [...new Set(slots.map((s) => index.entryId(s)))].sort((a, b) => a - b);
    };
    for (const at of [base + n * 60_000, base + (n / 2) * 60_000 + 30_000, base + 90_000]) {
      const probe = storyProbe({ entryId: 1e9, at, title: `Harbour update ${n}`, summary: `Harbour update ${n}`, language: 'en' });
      const want = expected(at, probe.bandKeys);
      expect(await find(at, probe.bandKeys)).toEqual(want);
      expect(want.length).toBeLessThanOrEqual(new Set(probe.bandKeys).size * 2 * NEAREST_PER_SIDE);
    }
    // In the middle of the window's entries the latest are never read: a cold round brings reports
    // of the last 72 h in any time order, and the window's newest are hours from most of them.
    const midProbe = storyProbe({ entryId: 1e9, at: base + (n / 2) * 60_000, title: `Harbour update ${n}`, summary: '', language: 'en' });
    expect(await find(base + (n / 2) * 60_000, midProbe.bandKeys)).not.toContain(ids[n - 1]);
    // Every item its own story (each headline has its own number).
    expect(new Set(await membership(feed.id)).size).toBe(n);
  });

  it('never matches an entry of the table before a truncate, whose id came back with another text', async () => {
    // The index belongs to the Db object; `truncate … restart identity` reuses entry ids, so an index
    // kept across it would offer entry 1's old text under entry 1's new story.
    const at = Date.parse('2026-07-01T12:00:00Z');
    const ingest = async (feedId: number, guid: string, title: string, summary: string) =>
      t.db.transaction((tx) => ingestItems(tx, { id: feedId, language: 'en' }, [emptyItem({ guid, url: `https://four.example/${guid}`, title, summary, published: new Date(at).toISOString() })], { now: new Date(at + 60_000), retentionDays: 0 }));
    const storm = ['Harbour of Valdera closed by storm', 'The Valdera harbour closed on Monday as the storm reached Corvo.'] as const;
    await t.db.exec('truncate feeds, entries, entry_sources, tombstones, stories restart identity cascade');
    let feed = await addFeed(t.db, { url: 'https://four.example/feed', region: 'truncate' });
    await ingest(feed.id, 'a', ...storm);
    await ingest(feed.id, 'b', 'Storm closes Valdera harbour', 'Valdera harbour closed on Monday, the storm reached Corvo.');
    expect(await membership(feed.id)).toEqual([1, 1]);

    await t.db.exec('truncate feeds, entries, entry_sources, tombstones, stories restart identity cascade');
    feed = await addFeed(t.db, { url: 'https://four.example/feed', region: 'truncate' });
    await ingest(feed.id, 'c', 'Dockers of Milvia strike', 'Work stopped on Tuesday at the port of Milvia.');
    await ingest(feed.id, 'd', ...storm);
    // Entry 1 is now the strike: the storm report is a story of its own.
    expect(await membership(feed.id)).toEqual([1, 2]);
  });
});
