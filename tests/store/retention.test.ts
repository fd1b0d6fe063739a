import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import type { Db, Queryable } from '../../src/store/db.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { deleteExpiredEntries, deleteOrphanEntries } from '../../src/store/retention.ts';
import { assignItemKeys } from '../../src/dedupe/identity.ts';
import { insertTombstones } from '../../src/store/tombstones.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';
import { allEntries, count, createFeed, newsItem, NOW, resetTables } from './fixtures.ts';

const DAY = 86_400_000;

describe(`retention (${backendName})`, () => {
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

  const ingest = (feedId: number, items: NormalisedItem[], retentionDays = 3650) =>
    t.db.transaction((tx) => ingestItems(tx, { id: feedId, language: 'en' }, items, { now: NOW, retentionDays }));

  const seq = async () =>
    Number((await t.db.query<{ v: number }>(`select last_value as v from entries_change_seq`)).rows[0]!.v);

  /** The database with its transactions counted. */
  function countingTransactions(db: Db): { db: Db; transactions: () => number } {
    let n = 0;
    return {
      db: {
        ...db,
        query: db.query,
        exec: db.exec,
        transaction<T>(fn: (tx: Queryable) => Promise<T>) {
          n++;
          return db.transaction(fn);
        },
      },
      transactions: () => n,
    };
  }

  it('deletes expired entries in batches, tombstones every source, and they are not imported again', async () => {
    const wire = await createFeed(t.db, 'https://wire.example/feed');
    const paper = await createFeed(t.db, 'https://paper.example/feed');
    const oldItems = Array.from({ length: 25 }, (_, i) => newsItem(i, { published: new Date(NOW.getTime() - 40 * DAY - i * 60_000).toISOString() }));
    const recentItems = Array.from({ length: 5 }, (_, i) => newsItem(100 + i, { published: new Date(NOW.getTime() - DAY).toISOString() }));
    await ingest(wire, [...oldItems, ...recentItems]);
    // The paper carries 3 of the old stories too: their entries have two sources.
    const paperItems = oldItems.slice(0, 3).map((i) => ({ ...i, guid: `paper-${i.guid}` }));
    expect((await ingest(paper, paperItems)).linked).toBe(3);
    const seqBefore = await seq();

    const counted = countingTransactions(t.db);
    const deleted = await deleteExpiredEntries(counted.db, { olderThan: new Date(NOW.getTime() - 30 * DAY), batchSize: 10 });
    expect(deleted).toBe(25);
    // 10 + 10 + 5: the short batch ends the loop.
    expect(counted.transactions()).toBe(3);
    expect((await allEntries(t.db)).map((e) => e.title).sort()).toEqual(recentItems.map((i) => i.title).sort());
    expect(await count(t.db, 'entry_sources')).toBe(5);
    expect(await seq()).toBeGreaterThan(seqBefore);

    const tombs = await t.db.query<{ feed_id: number; item_key: string }>(`select feed_id, item_key from tombstones`);
    expect(tombs.rows).toHaveLength(28);
    const wireKeys = assignItemKeys([...oldItems, ...recentItems]).slice(0, 25);
    expect(tombs.rows.filter((r) => r.feed_id === wire).map((r) => r.item_key).sort()).toEqual([...wireKeys].sort());
    expect(tombs.rows.filter((r) => r.feed_id === paper)).toHaveLength(3);

    // Both feeds still list the deleted items: none comes back, even with a retention window that admits them.
    const again = await ingest(wire, [...oldItems, ...recentItems], 3650);
    expect(again).toMatchObject({ inserted: 0, linked: 0, tombstoned: 25, unchanged: 5 });
    expect((await ingest(paper, paperItems, 3650)).tombstoned).toBe(3);
    expect(await count(t.db, 'entries')).toBe(5);
  });

  it('deletes nothing and leaves the change sequence alone when nothing expired', async () => {
    const feed = await createFeed(t.db, 'https://wire.example/feed');
    await ingest(feed, [newsItem(1, { published: NOW.toISOString() })]);
    const before = await seq();
    expect(await deleteExpiredEntries(t.db, { olderThan: new Date(NOW.getTime() - DAY), batchSize: 10 })).toBe(0);
    expect(await seq()).toBe(before);
    expect(await count(t.db, 'entries')).toBe(1);
  });

  it('stops after an exactly full last batch', async () => {
    const feed = await createFeed(t.db, 'https://wire.example/feed');
    await ingest(feed, Array.from({ length: 4 }, (_, i) => newsItem(i)));
    const counted = countingTransactions(t.db);
    expect(await deleteExpiredEntries(counted.db, { olderThan: NOW, batchSize: 2 })).toBe(4);
    expect(counted.transactions()).toBe(3);
  });

  it('deletes the entries a deleted feed leaves without a source, and only those', async () => {
    const wire = await createFeed(t.db, 'https://wire.example/feed');
    const paper = await createFeed(t.db, 'https://paper.example/feed');
    await ingest(wire, [newsItem(1), newsItem(2)]);
    await ingest(paper, [newsItem(2, { guid: 'p2' }), newsItem(3)]);
    expect(await count(t.db, 'entries')).toBe(3);
    const before = await seq();

    const deleted = await t.db.transaction(async (tx) => {
      await tx.query(`delete from feeds where id = $1`, [paper]);
      return deleteOrphanEntries(tx);
    });
    expect(deleted).toBe(1);
    expect((await allEntries(t.db)).map((e) => e.title)).toEqual(['Story 1', 'Story 2']);
    expect(await seq()).toBeGreaterThan(before);
    expect(await t.db.transaction((tx) => deleteOrphanEntries(tx))).toBe(0);
  });

  describe('tombstones are pruned by the retention step', () => {
    const keyOf = (items: NormalisedItem[]) => assignItemKeys(items);
    const tombstones = async () =>
      (await t.db.query<{ feed_id: number; item_key: string }>(`select feed_id, item_key from tombstones order by feed_id, item_key`)).rows;
    const retention = (at: Date, retentionDays = 30) =>
      deleteExpiredEntries(t.db, { olderThan: new Date(at.getTime() - retentionDays * DAY), batchSize: 100 });

    it('forgets the tombstones of items their feed no longer lists; the listed ones stay and still block', async () => {
      const feed = await createFeed(t.db, 'https://wire.example/feed');
      const items = [1, 2, 3, 4].map((n) => newsItem(n, { published: null }));
      const keys = keyOf(items);
      // Items 1, 2 and 3 were deleted by an earlier retention run.
      await t.db.transaction((tx) => insertTombstones(tx, feed, keys.slice(0, 3), NOW));
      // The feed now lists items 2 and 4 only.
      expect(await ingest(feed, [items[1]!, items[3]!])).toMatchObject({ inserted: 1, tombstoned: 1 });

      await retention(NOW);
      expect(await tombstones()).toEqual([{ feed_id: feed, item_key: keys[1] }]);
      // Item 2, still listed, is still not imported again.
      expect(await ingest(feed, [items[1]!, items[3]!])).toMatchObject({ inserted: 0, tombstoned: 1, unchanged: 1 });
      expect((await allEntries(t.db)).map((e) => e.title)).toEqual(['Story 4']);
    });

    it('forgets tombstones last listed more than RETENTION_DAYS ago; a listing renews them', async () => {
      const quiet = await createFeed(t.db, 'https://quiet.example/feed');
      const active = await createFeed(t.db, 'https://active.example/feed');
      const [a, b, c] = [1, 2, 3].map((n) => newsItem(n, { published: null }));
      const [ka, kb, kc] = keyOf([a!, b!, c!]);
      // Tombstoned 31 days ago (item a) and 29 days ago (item b) on a feed not polled since;
      // item c 60 days ago on a feed whose document listed it again today.
      await t.db.transaction((tx) => insertTombstones(tx, quiet, [ka!], new Date(NOW.getTime() - 31 * DAY)));
      await t.db.transaction((tx) => insertTombstones(tx, quiet, [kb!], new Date(NOW.getTime() - 29 * DAY)));
      await t.db.transaction((tx) => insertTombstones(tx, active, [kc!], new Date(NOW.getTime() - 60 * DAY)));
      expect(await ingest(active, [c!])).toMatchObject({ tombstoned: 1 });

      await retention(NOW, 30);
      expect(await tombstones()).toEqual([
        { feed_id: quiet, item_key: kb },
        { feed_id: active, item_key: kc },
      ]);
      // Two days later item b passes its RETENTION_DAYS too.
      await retention(new Date(NOW.getTime() + 2 * DAY), 30);
      expect(await tombstones()).toEqual([{ feed_id: active, item_key: kc }]);
    });

    it('tombstones written by retention itself start as listed at their deletion, so a live feed keeps them', async () => {
      const feed = await createFeed(t.db, 'https://wire.example/feed');
      const items = Array.from({ length: 3 }, (_, i) => newsItem(i, { published: new Date(Date.now() - 40 * DAY).toISOString() }));
      await t.db.transaction((tx) => ingestItems(tx, { id: feed, language: 'en' }, items, { now: new Date(), retentionDays: 3650 }));
      expect(await deleteExpiredEntries(t.db, { olderThan: new Date(Date.now() - 30 * DAY), batchSize: 100 })).toBe(3);
      expect(await tombstones()).toHaveLength(3);
    });
  });
});
