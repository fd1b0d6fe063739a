import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, onServer, backendName, type TestDb } from '../helpers/db.ts';
import { ingestItems, type IngestResult } from '../../src/store/ingest.ts';
import { count, createFeed, newsItem, NOW, resetTables } from './fixtures.ts';

const OPTS = { now: NOW, retentionDays: 3650 };

/** PGlite has one backend and serialises transactions: overlap can only be exercised on the server. */
describe(`ingestItems under concurrency (${backendName})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    if (onServer) t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  const sum = (rs: IngestResult[], k: keyof IngestResult) => rs.reduce((a, r) => a + r[k], 0);

  it.skipIf(!onServer)('links to an entry that another transaction committed while this one waited', async () => {
    await resetTables(t.db);
    const wire = await createFeed(t.db, 'https://wire.example/feed');
    const paper = await createFeed(t.db, 'https://paper.example/feed');
    const items = Array.from({ length: 50 }, (_, i) => newsItem(i));
    const copies = items.map((i) => ({ ...i, guid: `paper-${i.guid}`, url: `${i.url}?utm_source=paper` }));

    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstIngested!: () => void;
    const firstHasIngested = new Promise<void>((resolve) => (firstIngested = resolve));

    const first = t.db.transaction(async (tx) => {
      const r = await ingestItems(tx, { id: wire, language: 'en' }, items, OPTS);
      firstIngested();
      await firstMayCommit;
      return r;
    });
    await firstHasIngested;
    let secondDone = false;
    const second = t.db
      .transaction((tx) => ingestItems(tx, { id: paper, language: 'en' }, copies, OPTS))
      .finally(() => (secondDone = true));
    // The second insert must be blocked on the first's uncommitted keys.
    await new Promise((r) => setTimeout(r, 300));
    expect(secondDone).toBe(false);
    releaseFirst();

    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ inserted: 50, linked: 0 });
    expect(b).toMatchObject({ inserted: 0, linked: 50 });
    expect(await count(t.db, 'entries')).toBe(50);
    expect(await count(t.db, 'entry_sources')).toBe(100);
  });

  it.skipIf(!onServer)('never duplicates nor fails when many feeds carrying one story set commit at once', async () => {
    const feedUrls = Array.from({ length: 6 }, (_, i) => `https://f${i}.example/feed`);
    const stories = Array.from({ length: 80 }, (_, i) => newsItem(i));
    for (let round = 0; round < 3; round++) {
      await resetTables(t.db);
      const ids = await Promise.all(feedUrls.map((url) => createFeed(t.db, url)));
      // Each feed lists the stories in its own order (some reversed) with its own guids and tracking tags.
      const results = await Promise.all(
        ids.map((feedId, i) => {
          const own = stories.map((s) => ({ ...s, guid: `f${i}-${s.guid}`, url: `${s.url}?utm_campaign=f${i}` }));
          const ordered = i % 2 === 0 ? own : [...own].reverse();
          return t.db.transaction((tx) => ingestItems(tx, { id: feedId, language: 'en' }, ordered, OPTS));
        }),
      );
      expect(sum(results, 'inserted')).toBe(80);
      expect(sum(results, 'linked')).toBe(80 * 5);
      expect(await count(t.db, 'entries')).toBe(80);
      expect(await count(t.db, 'entry_sources')).toBe(80 * 6);
    }
  });
});
