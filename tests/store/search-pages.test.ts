import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, onServer, type TestDb } from '../helpers/db.ts';
import { EMBEDDED_TEMPLATE } from '../helpers/paths.ts';
import { addFeed, ingest, item, series } from '../api/helpers.ts';
import { openDb, openEmbedded, openPostgres, type Db, type Queryable } from '../../src/store/db.ts';
import { buildListQuery, listEntries, SEARCH_BITMAP_MAX, SEARCH_WALK_ROWS_PER_ROW, type EntryFilter, type EntryKey, type PageSide } from '../../src/store/entry-queries.ts';
import { itemsPageJson } from '../../src/store/item-pages.ts';

/**
 * A search page is one script (plan settings + the statement, values written as literals) and its
 * match count is remembered: these check that this changes neither the rows nor the connection.
 */
describe(`search pages (${backendName})`, () => {
  let t: TestDb;
  const now = new Date('2024-06-01T12:00:00Z');
  let en: { id: number; language: string | null };
  let it0: { id: number; language: string | null };

  /** `db` seen through a new object (so with no remembered counts), counting round trips: a transaction's begin and commit too. */
  function counted(db: Db): { db: Db; statements: () => number } {
    let n = 0;
    const counting = <Q extends Queryable>(q: Q): Queryable => ({
      query: (sql, params) => {
        n++;
        return q.query(sql, params);
      },
      exec: (sql) => {
        n++;
        return q.exec(sql);
      },
    });
    return {
      db: {
        kind: db.kind,
        ...counting(db),
        transaction: (fn) => {
          n += 2;
          return db.transaction((tx) => fn(counting(tx)));
        },
        close: () => db.close(),
      },
      statements: () => n,
    };
  }

  beforeAll(async () => {
    t = await createTestDb();
    en = await addFeed(t.db, { url: 'https://en.example/feed', title: 'English', region: 'europe', language: 'en' });
    it0 = await addFeed(t.db, { url: 'https://it.example/feed', title: 'Italiano', region: 'mediterranean', language: 'it' });
    await ingest(t.db, en, series('harbour', 30, new Date('2024-06-01T10:00:00Z')), now);
    await ingest(
      t.db,
      it0,
      [
        ...series('porto', 20, new Date('2024-06-01T09:30:00Z')),
        item({ url: 'https://it.example/q', title: `Quote's "harbour" back\\slash $1 story`, published: '2024-05-31T08:00:00Z' }),
        item({ url: 'https://it.example/x', title: 'Nuova sconfitta al porto', published: '2024-05-30T08:00:00Z' }),
      ],
      now,
    );
  });
  afterAll(async () => {
    await t?.drop();
  });

  /** The page as the plain parametrised statement reads it (any plan gives the same rows). */
  async function reference(filter: EntryFilter, limit: number, after?: EntryKey, side: PageSide = 'older'): Promise<number[]> {
    const q = buildListQuery(filter, limit, after, side, 'walk');
    return (await t.db.query<{ id: number }>(q.sql, q.params)).rows.map((r) => Number(r.id));
  }

  it('reads the same rows as the parametrised statement, whatever the values the script spells out', async () => {
    const after: EntryKey = { sortAt: '2024-06-01T09:50:00.000000Z', id: 1_000_000 };
    const filters: EntryFilter[] = [
      { q: 'harbour' },
      { q: 'story' },
      { q: 'porto' },
      { q: `quote's` },
      { q: `"harbour" back\\slash` },
      { q: '$1 story' },
      { q: `story -"harbour"` },
      { q: `x'; drop table entries; --` },
      { q: `\\'; select 1; --` },
      { q: 'story', feedIds: [it0.id] },
      { q: 'story', feedIds: [en.id, it0.id], region: 'Europe' },
      { q: 'story', region: `o'brien` },
      { q: 'story', lang: 'it' },
      { q: 'story', since: new Date('2024-06-01T09:00:00Z'), until: new Date('2024-06-01T09:45:00Z') },
      { q: 'story', collapse: 'story' },
    ];
    for (const filter of filters) {
      for (const [key, side] of [[undefined, 'older'], [after, 'older'], [after, 'newer']] as const) {
        const got = (await listEntries(t.db, filter, 7, key, side)).map((e) => e.id);
        expect(got, JSON.stringify({ filter, key, side })).toEqual(await reference(filter, 7, key, side));
      }
    }
    const n = await t.db.query<{ n: number }>('select count(*)::int as n from entries');
    expect(Number(n.rows[0]!.n)).toBe(52);
  });

  it('asks one round trip of a repeated search, and answers a word no entry contains with its count alone', async () => {
    const c = counted(t.db);
    expect(await listEntries(c.db, { q: 'zzabsentword' }, 10)).toEqual([]);
    expect(c.statements()).toBe(1);
    expect(await listEntries(c.db, { q: 'zzabsentword' }, 10)).toEqual([]);
    expect(c.statements()).toBe(2);

    const first = (await listEntries(c.db, { q: 'harbour' }, 10)).map((e) => e.id);
    // The count, the page, the page's sources.
    expect(c.statements()).toBe(5);
    const again = (await listEntries(c.db, { q: 'harbour' }, 10)).map((e) => e.id);
    expect(c.statements()).toBe(7);
    expect(again).toEqual(first);
    expect(first).toEqual(await reference({ q: 'harbour' }, 10));

    const page = await itemsPageJson(c.db, { q: 'harbour' }, 5);
    expect(c.statements()).toBe(8);
    expect((JSON.parse(page.itemsJson) as { id: number }[]).map((i) => i.id)).toEqual(first.slice(0, 5));
    expect(page.next).not.toBeNull();
  });

  it('finds a new entry with the word at once, whatever count was remembered', async () => {
    const c = counted(t.db);
    const ids = async (q: string) => (await listEntries(c.db, { q }, 50)).map((e) => e.id);
    expect(await ids('lighthouse')).toEqual([]);
    expect(await ids('sconfitta')).toHaveLength(1);
    const feed = await addFeed(t.db, { url: 'https://late.example/feed', title: 'Late', language: 'en' });
    await ingest(
      t.db,
      feed,
      [
        item({ url: 'https://late.example/1', title: 'A lighthouse at the harbour', published: '2024-06-01T11:00:00Z' }),
        item({ url: 'https://late.example/2', title: 'Another sconfitta', published: '2024-06-01T11:01:00Z' }),
      ],
      now,
    );
    const found = await ids('lighthouse');
    expect(found).toHaveLength(1);
    expect(found).toEqual(await reference({ q: 'lighthouse' }, 50));
    expect(await ids('sconfitta')).toEqual(await reference({ q: 'sconfitta' }, 50));
    expect(await ids('sconfitta')).toHaveLength(2);
  });

  it('leaves no setting behind on the connection', async () => {
    // One connection, so the statement after the page runs where the page ran.
    const one = t.url ? openPostgres(t.url, 1) : t.db;
    try {
      const settings = async () =>
        (await one.query<{ s: string }>(`select current_setting('enable_seqscan') || current_setting('enable_indexscan') || current_setting('enable_bitmapscan') as s`)).rows[0]!.s;
      const before = await settings();
      for (const q of ['harbour', 'zzabsentword', 'harbour']) {
        await listEntries(one, { q }, 5);
        expect(await settings(), q).toBe(before);
      }
      expect(before).toBe('ononon');
    } finally {
      if (one !== t.db) await one.close();
    }
  });

  it('refuses a search text with a NUL character, as the server refuses such a parameter', async () => {
    await expect(listEntries(t.db, { q: 'harbour\u0000' }, 5)).rejects.toThrow();
    expect(await listEntries(t.db, { q: 'harbour' }, 1)).toHaveLength(1);
  });
});

/**
 * A common word walks entries newest-first; where its matches are all old, the walk stops after
 * SEARCH_WALK_ROWS_PER_ROW rows per page row and the GIN index reads the page instead.
 */
describe(`a common word rare among the newest entries (${backendName})`, { timeout: 120_000 }, () => {
  let t: TestDb;
  const recent = 1200;
  const old = SEARCH_BITMAP_MAX + 100;

  beforeAll(async () => {
    t = await createTestDb();
    // Old entries with the word (enough for a walk), then newer ones without it.
    await t.db.query(
      `insert into entries (dedupe_key, title, sort_at, first_seen_at, content_hash, language)
       select 'old-' || g, 'commonword report ' || g, timestamptz '2000-01-01' + g * interval '1 minute', now(), md5(g::text), 'en'
       from generate_series(1, $1::int) g`,
      [old],
    );
    await t.db.query(
      `insert into entries (dedupe_key, title, sort_at, first_seen_at, content_hash, language)
       select 'new-' || g, 'other news ' || g, timestamptz '2024-01-01' + g * interval '1 minute', now(), md5(g::text), 'en'
       from generate_series(1, $1::int) g`,
      [recent],
    );
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function reference(filter: EntryFilter, limit: number, after?: EntryKey, side: PageSide = 'older'): Promise<number[]> {
    const q = buildListQuery({ ...filter, q: undefined }, 100_000, after, side, 'walk');
    const rows = (await t.db.query<{ id: number; title: string }>(q.sql, q.params)).rows;
    return rows.filter((r) => r.title.startsWith('commonword')).slice(0, limit).map((r) => Number(r.id));
  }

  it('reads the page through the GIN index when the walk meets too few matches, with the same rows', async () => {
    const limit = 5;
    expect(recent).toBeGreaterThan(limit * SEARCH_WALK_ROWS_PER_ROW);
    // The walk alone: the newest limit × 200 rows hold no match.
    const walk = buildListQuery({ q: 'commonword' }, limit, undefined, 'older', 'walk');
    expect((await t.db.query(walk.sql, walk.params)).rows).toEqual([]);

    const first = (await listEntries(t.db, { q: 'commonword' }, limit)).map((e) => e.id);
    expect(first).toHaveLength(limit);
    expect(first).toEqual(await reference({}, limit));
    // Further pages, the newer side, and the last page (short because it is the last).
    const key = async (id: number): Promise<EntryKey> => {
      const r = await t.db.query<{ k: string }>(`select to_char(sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as k from entries where id = $1`, [id]);
      return { sortAt: r.rows[0]!.k, id };
    };
    const after = await key(first.at(-1)!);
    expect((await listEntries(t.db, { q: 'commonword' }, limit, after)).map((e) => e.id)).toEqual(await reference({}, limit, after));
    expect((await listEntries(t.db, { q: 'commonword' }, limit, after, 'newer')).map((e) => e.id)).toEqual(await reference({}, limit, after, 'newer'));
    const nearEnd: EntryKey = { sortAt: '2000-01-01T00:03:00.000000Z', id: 0 };
    const last = (await listEntries(t.db, { q: 'commonword' }, limit, nearEnd)).map((e) => e.id);
    expect(last).toHaveLength(2);
    expect(last).toEqual(await reference({}, limit, nearEnd));
    // A time window and the story collapse on the same path.
    const window: EntryFilter = { since: new Date('2000-01-01T01:00:00Z'), until: new Date('2000-01-01T01:10:00Z') };
    expect((await listEntries(t.db, { q: 'commonword', ...window, collapse: 'story' }, limit)).map((e) => e.id)).toEqual(
      await reference(window, limit),
    );

    // A feed filter that keeps none of the word's matches: the walk comes back empty, so does the rest.
    expect(await listEntries(t.db, { q: 'commonword', feedIds: [1] }, limit)).toEqual([]);

    const page = await itemsPageJson(t.db, { q: 'commonword' }, limit);
    expect((JSON.parse(page.itemsJson) as { id: number }[]).map((i) => i.id)).toEqual(first);
    expect(page.next).toEqual(await key(first.at(-1)!));
  });
});

/** The embedded owner serves other processes on a socket with one shared session: a script must leave nothing on it. */
describe.skipIf(onServer)('search pages through the embedded owner\'s socket (embedded)', { timeout: 120_000 }, () => {
  let dir: string;
  let owner: Db;
  let client: Db;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-search-owner-'));
    const seed = await openEmbedded(dir, new Blob([readFileSync(EMBEDDED_TEMPLATE)]));
    await seed.close();
    owner = await openDb({ dataDir: dir });
    client = await openDb({ dataDir: dir });
  });
  afterAll(async () => {
    await client?.close();
    await owner?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the same page as the owner and leaves the shared session\'s settings alone', async () => {
    const feed = await addFeed(owner, { url: 'https://en.example/feed', title: 'English', language: 'en' });
    await ingest(owner, feed, series('harbour', 12, new Date('2024-06-01T10:00:00Z')), new Date('2024-06-01T12:00:00Z'));
    const ids = async (db: Db, q: string) => (await listEntries(db, { q }, 5)).map((e) => e.id);
    for (const q of ['harbour', 'zzabsentword', 'harbour -story']) {
      expect(await ids(client, q), q).toEqual(await ids(owner, q));
      expect(await ids(client, q), q).toEqual(await ids(owner, q));
    }
    expect(await ids(client, 'harbour')).toHaveLength(5);
    const s = await owner.query<{ s: string }>(`select current_setting('enable_seqscan') || current_setting('enable_indexscan') || current_setting('enable_bitmapscan') as s`);
    expect(s.rows[0]!.s).toBe('ononon');
  });
});
