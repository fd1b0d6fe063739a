import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { ingestItems, type IngestResult } from '../../src/store/ingest.ts';
import { insertTombstones } from '../../src/store/tombstones.ts';
import { assignItemKeys } from '../../src/dedupe/identity.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';
import { allEntries, allSources, count, countingQueryable, createFeed, newsItem, NOW, resetTables } from './fixtures.ts';

const ZERO: IngestResult = { inserted: 0, linked: 0, updated: 0, unchanged: 0, skippedOld: 0, tombstoned: 0 };
const OPTS = { now: NOW, retentionDays: 3650 };

describe(`ingestItems (${backendName})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  beforeEach(async () => {
    await resetTables(t.db);
  });
  afterAll(async () => {
    await t?.drop();
  });

  const ingest = (feedId: number, items: NormalisedItem[], opts = OPTS, language: string | null = 'en') =>
    t.db.transaction((tx) => ingestItems(tx, { id: feedId, language }, items, opts));

  it('inserts new items as entries with one source each', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed', 'it-IT');
    const items = [1, 2, 3].map((n) => newsItem(n, { url: `https://News.example/2024/story-${n}?utm_source=rss&id=${n}` }));
    const r = await ingest(feed, items, OPTS, 'it-IT');
    expect(r).toEqual({ ...ZERO, inserted: 3 });

    const entries = await allEntries(t.db);
    expect(entries).toHaveLength(3);
    const first = entries.find((e) => e.title === 'Story 1')!;
    expect(first.url).toBe('https://news.example/2024/story-1?id=1');
    expect(first.dedupe_key).toBe('https://news.example/2024/story-1?id=1');
    expect(first.language).toBe('it-it');
    expect(first.categories).toEqual(['world', 'tag1']);
    expect(new Date(first.published_at!).toISOString()).toBe(items[0]!.published);
    expect(new Date(first.sort_at).toISOString()).toBe(items[0]!.published);
    expect(new Date(first.first_seen_at).toISOString()).toBe(NOW.toISOString());

    const sources = await allSources(t.db);
    expect(sources).toHaveLength(3);
    const keys = assignItemKeys(items);
    expect(sources.map((s) => s.item_key).sort()).toEqual([...keys].sort());
    const s1 = sources.find((s) => s.guid === items[0]!.guid)!;
    expect(s1.url).toBe(items[0]!.url);
    expect(s1.entry_id).toBe(first.id);
  });

  it('clamps a future publication date to first sight for sorting', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const future = new Date(NOW.getTime() + 86_400_000 * 30).toISOString();
    await ingest(feed, [newsItem(1, { published: future })]);
    const [e] = await allEntries(t.db);
    expect(new Date(e!.published_at!).toISOString()).toBe(future);
    expect(new Date(e!.sort_at).toISOString()).toBe(NOW.toISOString());
  });

  it('changes no row at all when the same items are ingested again', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const items = Array.from({ length: 20 }, (_, i) => newsItem(i));
    await ingest(feed, items);
    const entriesBefore = await allEntries(t.db);
    const sourcesBefore = await allSources(t.db);
    const seqBefore = await t.db.query(`select last_value from entries_change_seq`);

    const later = new Date(NOW.getTime() + 3_600_000);
    const r = await ingest(feed, items.map((i) => ({ ...i })), { now: later, retentionDays: 3650 });
    expect(r).toEqual({ ...ZERO, unchanged: 20 });
    // xmin changes on every rewrite of a row, even one writing identical values.
    expect(await allEntries(t.db)).toEqual(entriesBefore);
    expect(await allSources(t.db)).toEqual(sourcesBefore);
    expect((await t.db.query(`select last_value from entries_change_seq`)).rows).toEqual(seqBefore.rows);
  });

  it('updates an edited item in place, keeping its id, publication date and sort position', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const items = [newsItem(1), newsItem(2)];
    await ingest(feed, items);
    const [before1, before2] = await allEntries(t.db);

    const edited = { ...items[0]!, title: 'Story 1 (corrected)', summary: 'Now with a correction.', categories: ['world'] };
    const later = new Date(NOW.getTime() + 3_600_000);
    const r = await ingest(feed, [edited, items[1]!], { now: later, retentionDays: 3650 });
    expect(r).toEqual({ ...ZERO, updated: 1, unchanged: 1 });

    const [after1, after2] = await allEntries(t.db);
    expect(await count(t.db, 'entries')).toBe(2);
    expect(after1!.id).toBe(before1!.id);
    expect(after1!.title).toBe('Story 1 (corrected)');
    expect(after1!.categories).toEqual(['world']);
    expect(new Date(after1!.updated_at!).toISOString()).toBe(later.toISOString());
    expect(after1!.published_at).toEqual(before1!.published_at);
    expect(after1!.sort_at).toEqual(before1!.sort_at);
    expect(after1!.first_seen_at).toEqual(before1!.first_seen_at);
    expect(after1!.change_seq).toBeGreaterThan(before2!.change_seq);
    expect(after1!.content_hash).not.toBe(before1!.content_hash);
    expect(after2).toEqual(before2);

    // The edit is now the known version: polling again changes nothing.
    expect(await ingest(feed, [edited, items[1]!])).toEqual({ ...ZERO, unchanged: 2 });
  });

  it("uses the item's own updated date when it gives one", async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    await ingest(feed, [newsItem(1)]);
    const updated = '2024-05-01T18:30:00.000Z';
    await ingest(feed, [newsItem(1, { title: 'New title', updated })]);
    const [e] = await allEntries(t.db);
    expect(new Date(e!.updated_at!).toISOString()).toBe(updated);
  });

  it('links a syndicated copy in another feed to the same entry, keeping each feed its guid and url', async () => {
    const wire = await createFeed(t.db, 'https://wire.example/feed');
    const paper = await createFeed(t.db, 'https://paper.example/rss');
    const original = newsItem(1, { guid: 'wire-1', url: 'https://news.example/2024/story-1' });
    const copy = newsItem(1, {
      guid: 'paper-guid-778',
      url: 'https://NEWS.example/2024/story-1?utm_source=paper&utm_medium=rss#main',
      summary: 'A shorter summary from the paper.',
    });
    expect(await ingest(wire, [original])).toEqual({ ...ZERO, inserted: 1 });
    expect(await ingest(paper, [copy])).toEqual({ ...ZERO, linked: 1 });

    const entries = await allEntries(t.db);
    expect(entries).toHaveLength(1);
    const sources = await allSources(t.db);
    expect(sources.map((s) => [s.feed_id, s.guid, s.url, s.entry_id])).toEqual([
      [wire, 'wire-1', 'https://news.example/2024/story-1', entries[0]!.id],
      [paper, 'paper-guid-778', copy.url, entries[0]!.id],
    ]);

    // Both feeds keep carrying their own version: polling either again rewrites nothing.
    const before = await allEntries(t.db);
    expect(await ingest(wire, [original])).toEqual({ ...ZERO, unchanged: 1 });
    expect(await ingest(paper, [copy])).toEqual({ ...ZERO, unchanged: 1 });
    expect(await allEntries(t.db)).toEqual(before);
  });

  it('does not merge link-less items of different feeds, even with the same title', async () => {
    const a = await createFeed(t.db, 'https://a.example/feed');
    const b = await createFeed(t.db, 'https://b.example/feed');
    const item = newsItem(1, { guid: null, url: null, title: 'Weather update' });
    expect(await ingest(a, [item])).toEqual({ ...ZERO, inserted: 1 });
    expect(await ingest(b, [item])).toEqual({ ...ZERO, inserted: 1 });
    const keys = (await allEntries(t.db)).map((e) => e.dedupe_key);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(new RegExp(`^urn:tributary:${a}:[0-9a-f]{64}$`));
    expect(keys[1]).toMatch(new RegExp(`^urn:tributary:${b}:`));
  });

  it('keeps items that repeat a guid in one document apart, and stays stable on the next poll', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const items = [
      newsItem(1, { guid: 'same' }),
      newsItem(2, { guid: 'same' }),
      // Same guid and same article link: a second source of one entry.
      newsItem(3, { guid: 'same', url: 'https://news.example/2024/story-1' }),
    ];
    expect(await ingest(feed, items)).toEqual({ ...ZERO, inserted: 2, linked: 1 });
    expect(await count(t.db, 'entries')).toBe(2);
    expect(await count(t.db, 'entry_sources')).toBe(3);
    expect(await ingest(feed, items)).toEqual({ ...ZERO, unchanged: 3 });
  });

  it('does not re-import a tombstoned item', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const items = [newsItem(1), newsItem(2)];
    await t.db.transaction((tx) => insertTombstones(tx, feed, [assignItemKeys(items)[0]!], NOW));
    expect(await ingest(feed, items)).toEqual({ ...ZERO, inserted: 1, tombstoned: 1 });
    expect((await allEntries(t.db)).map((e) => e.title)).toEqual(['Story 2']);
  });

  it('skips items published before the retention window, keeps undated ones', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const old = newsItem(1, { published: new Date(NOW.getTime() - 31 * 86_400_000).toISOString() });
    const recent = newsItem(2, { published: new Date(NOW.getTime() - 29 * 86_400_000).toISOString() });
    const undated = newsItem(3, { published: null });
    const r = await ingest(feed, [old, recent, undated], { now: NOW, retentionDays: 30 });
    expect(r).toEqual({ ...ZERO, inserted: 2, skippedOld: 1 });
    const undatedRow = (await allEntries(t.db)).find((e) => e.title === 'Story 3')!;
    expect(new Date(undatedRow.sort_at).toISOString()).toBe(NOW.toISOString());
  });

  it('stores text containing NUL characters and odd dates instead of failing the feed', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const r = await ingest(feed, [
      newsItem(1, { title: 'Bad\u0000title', categories: ['a\u0000b'], published: 'not a date' }),
    ]);
    expect(r).toEqual({ ...ZERO, inserted: 1 });
    const [e] = await allEntries(t.db);
    expect(e!.title).toBe('Badtitle');
    expect(e!.categories).toEqual(['ab']);
    expect(e!.published_at).toBeNull();
  });

  it('sends the same number of statements for 10 items as for 200', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    const other = await createFeed(t.db, 'https://other.example/feed');
    const run = async (feedId: number, items: NormalisedItem[]) =>
      t.db.transaction(async (tx) => {
        const c = countingQueryable(tx);
        await ingestItems(c.q, { id: feedId, language: 'en' }, items, OPTS);
        return c.count();
      });
    const small = Array.from({ length: 10 }, (_, i) => newsItem(i));
    const big = Array.from({ length: 200 }, (_, i) => newsItem(1000 + i));

    // All new.
    const newSmall = await run(feed, small);
    const newBig = await run(feed, big);
    expect(newBig).toBe(newSmall);
    // Five for the entries, three for their stories (lock, candidates, members with stories and buckets).
    expect(newSmall).toBeLessThanOrEqual(8);
    // All unchanged.
    expect(await run(feed, big)).toBe(await run(feed, small));
    // All edited.
    const edit = (items: NormalisedItem[]) => items.map((i) => ({ ...i, title: `${i.title}!` }));
    expect(await run(feed, edit(big))).toBe(await run(feed, edit(small)));
    // All carried by another feed already (insert conflicts, then a look-up).
    const linkedSmall = await run(other, small.map((i) => ({ ...i, guid: `o${i.guid}` })));
    const linkedBig = await run(other, big.map((i) => ({ ...i, guid: `o${i.guid}` })));
    expect(linkedBig).toBe(linkedSmall);
    expect(linkedSmall).toBeLessThanOrEqual(6); // linked copies join their entry's story: no story statements
    expect(await count(t.db, 'entries')).toBe(210);
    expect(await count(t.db, 'entry_sources')).toBe(420);
  });

  it('rolls back with the transaction: nothing is half-stored', async () => {
    const feed = await createFeed(t.db, 'https://news.example/feed');
    await expect(
      t.db.transaction(async (tx) => {
        await ingestItems(tx, { id: feed, language: null }, [newsItem(1)], OPTS);
        throw new Error('feed state update failed');
      }),
    ).rejects.toThrow('feed state update failed');
    expect(await count(t.db, 'entries')).toBe(0);
    expect(await ingest(feed, [newsItem(1)])).toEqual({ ...ZERO, inserted: 1 });
  });
});
