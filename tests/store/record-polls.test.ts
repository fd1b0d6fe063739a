import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { newsItem, NOW } from './fixtures.ts';
import { insertFeeds, type FeedRow } from '../../src/store/feeds.ts';
import { claimDueFeeds } from '../../src/store/feed-polling.ts';
import { recordPolls, type PolledItems } from '../../src/store/record-poll.ts';

/** One claim batch's documents written in one transaction, set-based across feeds. */
describe(`recordPolls (${backendName})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  const polled = (feed: FeedRow, items: PolledItems['items'], owner = 'worker-a'): PolledItems => ({
    feed: { id: feed.id, language: 'en' },
    items,
    ingest: { now: NOW, retentionDays: 0 },
    poll: {
      id: feed.id, owner, status: 200, etag: `"v-${feed.id}"`, lastModified: null, bodyHash: `h${feed.id}`, title: `Feed ${feed.id}`,
      siteUrl: null, language: 'en', intervalSeconds: 600, nextPollAt: new Date(Date.now() + 600_000), movedTo: null, movedSeen: 0, newUrl: null,
    },
  });

  it('two feeds of one batch carrying one article make one entry with two sources; a lost lease stores nothing of its feed', async () => {
    const [wire, paper, lost] = await insertFeeds(t.db, [
      { url: 'https://wire.example/feed' },
      { url: 'https://paper.example/feed' },
      { url: 'https://lost.example/feed' },
    ]);
    expect(await claimDueFeeds(t.db, { owner: 'worker-a', limit: 10, leaseSeconds: 60, notFetchedSince: null })).toHaveLength(3);
    await t.db.query(`update feeds set lease_owner = 'worker-b' where id = $1`, [lost!.id]);

    const shared = newsItem(1);
    const copy = { ...shared, guid: 'paper-1', url: `${shared.url}?utm_source=paper` };
    const results = await recordPolls(t.db, [
      polled(wire!, [shared, newsItem(2)]),
      polled(paper!, [copy, newsItem(3)]),
      polled(lost!, [newsItem(4)]),
    ]);
    expect(results).toEqual([
      { inserted: 2, linked: 0, updated: 0, unchanged: 0, skippedOld: 0, tombstoned: 0 },
      { inserted: 1, linked: 1, updated: 0, unchanged: 0, skippedOld: 0, tombstoned: 0 },
      null,
    ]);

    const sources = await t.db.query<{ feed_id: number; entry_id: number; item_key: string }>(
      `select s.feed_id, s.entry_id, s.item_key from entry_sources s join entries e on e.id = s.entry_id where e.canonical_url like '%story-1'`,
    );
    expect(sources.rows).toHaveLength(2);
    expect(new Set(sources.rows.map((r) => Number(r.entry_id))).size).toBe(1);
    expect(new Set(sources.rows.map((r) => Number(r.feed_id)))).toEqual(new Set([wire!.id, paper!.id]));
    expect((await t.db.query(`select count(*)::int as n from entries`)).rows[0]).toEqual({ n: 3 });
    expect((await t.db.query(`select count(*)::int as n from entry_sources where feed_id = $1`, [lost!.id])).rows[0]).toEqual({ n: 0 });
    // Every new entry joined a story in the same transaction.
    expect((await t.db.query(`select count(*)::int as n from story_members`)).rows[0]).toEqual({ n: 3 });

    const feeds = await t.db.query<{ id: number; etag: string | null; lease_owner: string | null; last_status: number | null }>(
      `select id, etag, lease_owner, last_status from feeds order by id`,
    );
    expect(feeds.rows.map((f) => [f.etag, f.lease_owner, f.last_status])).toEqual([
      [`"v-${wire!.id}"`, null, 200],
      [`"v-${paper!.id}"`, null, 200],
      [null, 'worker-b', null],
    ]);

    // Polled again (same documents, leases claimed again): nothing new, and the known copies are unchanged.
    await t.db.query(`update feeds set lease_owner = 'worker-a' where id = any($1::int[])`, [[wire!.id, paper!.id]]);
    const again = await recordPolls(t.db, [polled(wire!, [shared, newsItem(2)]), polled(paper!, [copy, newsItem(3)])]);
    expect(again.map((r) => (r instanceof Error || r === null ? r : r.unchanged))).toEqual([2, 2]);
  });

  it('a batch one feed makes fail is written again feed by feed: that feed fails alone', async () => {
    const [good, bad] = await insertFeeds(t.db, [{ url: 'https://good.example/feed' }, { url: 'https://bad.example/feed' }]);
    await t.db.query(`update feeds set lease_owner = 'worker-a' where id = any($1::int[])`, [[good!.id, bad!.id]]);
    const broken = polled(bad!, [newsItem(21)]);
    broken.poll.intervalSeconds = Number.NaN; // not an integer: the feeds statement fails
    const results = await recordPolls(t.db, [polled(good!, [newsItem(20)]), broken]);
    expect(results[0]).toEqual({ inserted: 1, linked: 0, updated: 0, unchanged: 0, skippedOld: 0, tombstoned: 0 });
    expect(results[1]).toBeInstanceOf(Error);
    const stored = await t.db.query<{ feed_id: number }>(`select feed_id from entry_sources where feed_id = any($1::int[])`, [[good!.id, bad!.id]]);
    expect(stored.rows.map((r) => Number(r.feed_id))).toEqual([good!.id]);
  });

  it('moves the change sequence once per committed batch with new entries', async () => {
    const [a, b] = await insertFeeds(t.db, [{ url: 'https://seq-a.example/feed' }, { url: 'https://seq-b.example/feed' }]);
    await t.db.query(`update feeds set lease_owner = 'worker-a' where id = any($1::int[])`, [[a!.id, b!.id]]);
    const seq = async () => Number((await t.db.query<{ v: string }>(`select last_value as v from entries_change_seq`)).rows[0]!.v);
    const before = await seq();
    await recordPolls(t.db, [polled(a!, [newsItem(10)]), polled(b!, [newsItem(11)])]);
    // Each inserted row takes one value; the after-commit bump takes one more.
    expect((await seq()) - before).toBe(3);
  });
});
