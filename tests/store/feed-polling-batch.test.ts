import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { insertFeeds, type FeedRow } from '../../src/store/feeds.ts';
import { claimDueFeeds, finishPollsUnchanged, type PollUnchanged } from '../../src/store/feed-polling.ts';

/** A warm round's 304s recorded in one statement, with each feed's lease still checked. */
describe(`finishPollsUnchanged (${backendName})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  const row = async (id: number) => (await t.db.query<FeedRow & { lease_owner: string | null }>(`select * from feeds where id = $1`, [id])).rows[0]!;
  const unchanged = (id: number, over: Partial<PollUnchanged> = {}): PollUnchanged => ({
    id, owner: 'worker-a', status: 304, etag: `"e${id}"`, lastModified: null, intervalSeconds: 900,
    nextPollAt: new Date(Date.now() + 900_000), movedTo: null, movedSeen: 0, newUrl: null, ...over,
  });

  it('records every held feed and leaves a feed whose lease another worker took as that worker has it', async () => {
    const feeds = await insertFeeds(t.db, [1, 2, 3].map((n) => ({ url: `https://batch${n}.example/feed.xml` })));
    const claimed = await claimDueFeeds(t.db, { owner: 'worker-a', limit: 10, leaseSeconds: 60, notFetchedSince: null });
    expect(claimed).toHaveLength(3);
    const [a, b, c] = feeds.map((f) => f.id) as [number, number, number];
    // b's lease ran out and worker-b took it.
    await t.db.query(`update feeds set lease_owner = 'worker-b' where id = $1`, [b]);
    await t.db.query(`update feeds set etag = '"kept"', last_modified = 'Mon, 01 Jan 2024 00:00:00 GMT' where id = $1`, [c]);

    const held = await finishPollsUnchanged(t.db, [
      unchanged(a, { movedTo: 'https://elsewhere.example/feed', movedSeen: 1 }),
      unchanged(b),
      unchanged(c, { etag: null, status: 200 }),
    ]);
    expect(held).toEqual([true, false, true]);

    const ra = await row(a);
    expect(ra.etag).toBe(`"e${a}"`);
    expect(ra.last_status).toBe(304);
    expect(ra.lease_owner).toBeNull();
    expect(ra.poll_interval_s).toBe(900);
    expect(ra.moved_to).toBe('https://elsewhere.example/feed');
    expect(ra.moved_seen).toBe(1);
    expect(ra.last_fetched_at).not.toBeNull();

    const rb = await row(b);
    expect(rb.lease_owner).toBe('worker-b');
    expect(rb.last_status).toBeNull();
    expect(rb.etag).toBeNull();

    // No new validator: the stored ones stay.
    const rc = await row(c);
    expect(rc.etag).toBe('"kept"');
    expect(rc.last_modified).toBe('Mon, 01 Jan 2024 00:00:00 GMT');
    expect(rc.last_status).toBe(200);
  });

  it('a confirmed move changes the URL, unless another feed has it', async () => {
    const [m, n, taken] = await insertFeeds(t.db, [
      { url: 'https://move1.example/feed.xml' },
      { url: 'https://move2.example/feed.xml' },
      { url: 'https://taken.example/feed.xml' },
    ]);
    await t.db.query(`update feeds set lease_owner = 'worker-a', lease_until = now() + interval '1 minute' where id = any($1::int[])`, [
      [m!.id, n!.id],
    ]);
    const held = await finishPollsUnchanged(t.db, [
      unchanged(m!.id, { newUrl: 'https://moved.example/feed.xml' }),
      unchanged(n!.id, { newUrl: taken!.url }),
    ]);
    expect(held).toEqual([true, true]);
    expect((await row(m!.id)).url).toBe('https://moved.example/feed.xml');
    expect((await row(m!.id)).host).toBe('moved.example');
    expect((await row(n!.id)).url).toBe('https://move2.example/feed.xml');
  });

  it('an empty batch writes nothing', async () => {
    expect(await finishPollsUnchanged(t.db, [])).toEqual([]);
  });
});
