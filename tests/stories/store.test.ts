import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { emptyItem } from '../helpers/items.ts';
import { createFeed, resetTables } from '../store/fixtures.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { deleteExpiredEntries } from '../../src/store/retention.ts';
import { DEFAULT_STORY_WINDOW_SECONDS } from '../../src/stories/assign.ts';
import { asFeedItem, loadLabelledSet, OUTLETS, scoreOf, type LabelledItem } from './labelled-set.ts';
import { formatQuality, quality } from './metrics.ts';
import { BRIDGE } from './bridge.ts';

const set = loadLabelledSet();
const POLL_HOURS = 6;

describe(`stories through ingest (${backendName})`, () => {
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

  /** Every outlet polled every six hours, each poll bringing what it published since the last. */
  async function ingestLabelledSet(): Promise<Map<string, number>> {
    const feeds = new Map<string, number>();
    for (const [outlet, meta] of Object.entries(OUTLETS)) feeds.set(outlet, await createFeed(t.db, `https://${outlet}.example/feed`, meta.language));
    const slots = new Map<number, LabelledItem[]>();
    for (const x of set) {
      const slot = Math.floor(x.published.getTime() / (POLL_HOURS * 3_600_000));
      slots.set(slot, [...(slots.get(slot) ?? []), x]);
    }
    for (const slot of [...slots.keys()].sort((a, b) => a - b)) {
      const now = new Date((slot + 1) * POLL_HOURS * 3_600_000);
      const items = slots.get(slot)!;
      for (const outlet of Object.keys(OUTLETS)) {
        const batch = items.filter((x) => x.outlet === outlet).map((x) => emptyItem(asFeedItem(x)));
        if (batch.length === 0) continue;
        await t.db.transaction((tx) =>
          ingestItems(tx, { id: feeds.get(outlet)!, language: OUTLETS[outlet]!.language }, batch, {
            now,
            retentionDays: 36500,
            storyWindowSeconds: DEFAULT_STORY_WINDOW_SECONDS,
          }),
        );
      }
    }
    const r = await t.db.query<{ url: string; story_id: number }>(
      `select e.url, m.story_id from entries e join story_members m on m.entry_id = e.id`,
    );
    return new Map(r.rows.map((row) => [row.url, Number(row.story_id)]));
  }

  it('clusters the labelled set at ingest within the quality targets, the same way twice', async () => {
    const stories = await ingestLabelledSet();
    expect(stories.size).toBe(set.length);
    const q = quality(scoreOf(set, (x) => stories.get(asFeedItem(x).url)!));
    console.log(`Story quality through ingest (${backendName}, polls every ${POLL_HOURS} h): ${formatQuality('all', q)}`);
    expect(q.pairwisePrecision).toBeGreaterThanOrEqual(0.95);
    expect(q.pairwiseRecall).toBeGreaterThanOrEqual(0.85);
    expect(q.hardNegativeMergeRate).toBeLessThan(0.03);

    // Every story's row spans its members; no surviving story is left without one.
    const spans = await t.db.query<{ bad: number }>(`
      select count(*)::int as bad from stories s
      join (select story_id, min(at) as first_at, max(at) as last_at from story_members group by story_id) m on m.story_id = s.id
      where s.merged_into is not null or s.first_at <> m.first_at or s.last_at <> m.last_at`);
    expect(spans.rows[0]!.bad).toBe(0);

    await resetTables(t.db);
    expect(await ingestLabelledSet()).toEqual(stories);
  }, 120_000);

  it('merges two stories when a later entry bridges them: the older id survives, the other redirects', async () => {
    const feed = await createFeed(t.db, 'https://wire.example/feed', 'en');
    const ids: number[] = [];
    for (const [i, e] of BRIDGE.entries()) {
      const item = emptyItem({ guid: `b${i}`, url: `https://wire.example/${i}`, title: e.title, summary: e.summary, published: new Date(e.at).toISOString() });
      await t.db.transaction((tx) => ingestItems(tx, { id: feed, language: 'en' }, [item], { now: new Date(e.at + 60_000), retentionDays: 36500 }));
      const r = await t.db.query<{ id: number }>(`select id from entries where url = $1`, [item.url]);
      ids.push(Number(r.rows[0]!.id));
      const members = await t.db.query<{ entry_id: number; story_id: number }>(`select entry_id, story_id from story_members order by entry_id`);
      if (i === 1) expect(members.rows.map((m) => Number(m.story_id))).toEqual([ids[0], ids[1]]);
      if (i === 2) expect(members.rows.map((m) => Number(m.story_id))).toEqual([ids[0], ids[0], ids[0]]);
    }
    const stories = await t.db.query<{ id: number; merged_into: number | null; first_at: Date; last_at: Date }>(
      `select id, merged_into, first_at, last_at from stories order by id`,
    );
    expect(stories.rows.map((s) => [Number(s.id), s.merged_into === null ? null : Number(s.merged_into)])).toEqual([
      [ids[0], null],
      [ids[1], ids[0]],
    ]);
    expect(new Date(stories.rows[0]!.first_at).getTime()).toBe(BRIDGE[0].at);
    expect(new Date(stories.rows[0]!.last_at).getTime()).toBe(BRIDGE[2].at);
  });

  it('forgets an entry’s story membership when the entry is deleted by retention', async () => {
    const feed = await createFeed(t.db, 'https://wire.example/feed', 'en');
    const e = BRIDGE[0];
    const item = emptyItem({ guid: 'x', url: 'https://wire.example/x', title: e.title, summary: e.summary, published: new Date(e.at).toISOString() });
    await t.db.transaction((tx) => ingestItems(tx, { id: feed, language: 'en' }, [item], { now: new Date(e.at), retentionDays: 36500 }));
    const members = async () => (await t.db.query<{ n: number }>(`select count(*)::int as n from story_members`)).rows[0]!.n;
    expect(await members()).toBe(1);
    await deleteExpiredEntries(t.db, { olderThan: new Date(e.at + 1), batchSize: 10 });
    expect(await members()).toBe(0);
  });

  it('writes each entry’s member with its time and a seq in insert order, an entry with no words too', async () => {
    const feed = await createFeed(t.db, 'https://wire.example/feed', 'en');
    const items = [
      { guid: 'a', url: 'https://wire.example/a', title: BRIDGE[0].title, summary: BRIDGE[0].summary, at: BRIDGE[0].at },
      // Nothing to tokenise: a story of its own, no band keys.
      { guid: 'b', url: 'https://wire.example/b', title: '—', summary: null, at: BRIDGE[0].at + 1_234 },
      { guid: 'c', url: 'https://wire.example/c', title: BRIDGE[1].title, summary: BRIDGE[1].summary, at: BRIDGE[1].at + 567 },
    ];
    await t.db.transaction((tx) =>
      ingestItems(
        tx,
        { id: feed, language: 'en' },
        items.map((x) => emptyItem({ guid: x.guid, url: x.url, title: x.title, summary: x.summary, published: new Date(x.at).toISOString() })),
        { now: new Date(BRIDGE[1].at + 60_000), retentionDays: 36500 },
      ),
    );
    const rows = await t.db.query<{ url: string; story_id: number; member_at: Date; seq: number; language: string }>(`
      select e.url, m.story_id, m.at as member_at, m.seq, m.language
      from entries e join story_members m on m.entry_id = e.id order by e.url`);
    expect(rows.rows.map((r) => [r.url, r.language])).toEqual([
      ['https://wire.example/a', 'en'],
      ['https://wire.example/b', 'en'],
      ['https://wire.example/c', 'en'],
    ]);
    const seqs = rows.rows.map((r) => Number(r.seq));
    expect(new Set(seqs).size).toBe(3);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(rows.rows.map((r) => new Date(r.member_at).getTime())).toEqual(items.map((x) => x.at));
    const stories = await t.db.query<{ id: number; first_at: Date }>(`select id, first_at from stories order by id`);
    expect(stories.rows.map((s) => new Date(s.first_at).getTime())).toEqual(
      [...new Set(rows.rows.map((r) => Number(r.story_id)))].map((id) => new Date(rows.rows.find((r) => Number(r.story_id) === id)!.member_at).getTime()),
    );
    // A truncate with restart identity leaves the sequence alone: later rows never look already read.
    await resetTables(t.db);
    const again = await createFeed(t.db, 'https://wire.example/feed', 'en');
    await t.db.transaction((tx) =>
      ingestItems(tx, { id: again, language: 'en' }, [emptyItem({ guid: 'a', url: 'https://wire.example/a', title: BRIDGE[0].title, summary: BRIDGE[0].summary, published: new Date(BRIDGE[0].at).toISOString() })], {
        now: new Date(BRIDGE[1].at + 60_000),
        retentionDays: 36500,
      }),
    );
    expect(Number((await t.db.query<{ seq: number }>(`select seq from story_members`)).rows[0]!.seq)).toBeGreaterThan(Math.max(...seqs));
  });
});
