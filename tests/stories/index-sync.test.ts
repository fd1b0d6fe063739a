import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, openEmbedded, openPostgres, type Db } from '../../src/store/db.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { createTestDb, backendName, onServer, type TestDb } from '../helpers/db.ts';
import { emptyItem } from '../helpers/items.ts';
import { EMBEDDED_TEMPLATE } from '../helpers/paths.ts';
import { createFeed, resetTables } from '../store/fixtures.ts';
import { BRIDGE } from './bridge.ts';

const HOUR = 3_600_000;
const FIRE = { title: BRIDGE[0].title, summary: BRIDGE[0].summary };
const FIRE_AGAIN = { title: BRIDGE[2].title, summary: BRIDGE[2].summary };
const STORM = { title: 'Harbour of Valdera closed by storm', summary: 'The Valdera harbour closed on Monday as the storm reached Corvo.' };
const STORM_AGAIN = { title: 'Storm closes Valdera harbour', summary: 'Valdera harbour closed on Monday, the storm reached Corvo.' };
const STRIKE = { title: 'Dockers of Milvia strike', summary: 'Work stopped on Tuesday at the port of Milvia.' };
const T = BRIDGE[0].at;

/**
 * Each process keeps its own index of the story window, synced from story_members
 * (src/store/story-index.ts). Two Db handles on one database are two such processes: on the server
 * two pools, embedded the directory's owner and a client reaching it through its socket.
 */
describe(`the story index of two processes on one database (${backendName})`, { timeout: 120_000 }, () => {
  let t: TestDb | undefined;
  let dir: string | undefined;
  let a: Db;
  let b: Db;
  let feed: number;

  beforeAll(async () => {
    if (onServer) {
      t = await createTestDb();
      a = t.db;
      b = openPostgres(t.url!, 4, () => undefined);
    } else {
      dir = mkdtempSync(join(tmpdir(), 'tributary-stindex-'));
      const seed = await openEmbedded(dir, new Blob([readFileSync(EMBEDDED_TEMPLATE)]));
      await seed.close();
      a = await openDb({ dataDir: dir });
      b = await openDb({ dataDir: dir });
    }
  });
  beforeEach(async () => {
    await resetTables(a);
    feed = await createFeed(a, 'https://wire.example/feed', 'en');
  });
  afterAll(async () => {
    await b?.close();
    if (t) await t.drop();
    else {
      await a?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  let n = 0;
  const ingest = async (db: Db, at: number, text: { title: string | null; summary: string | null }, now = at + 60_000): Promise<number> => {
    const url = `https://wire.example/${++n}`;
    await db.transaction((tx) =>
      ingestItems(tx, { id: feed, language: 'en' }, [emptyItem({ guid: url, url, ...text, published: new Date(at).toISOString() })], { now: new Date(now), retentionDays: 36500 }),
    );
    return storyOf(url);
  };
  const storyOf = async (url: string): Promise<number> =>
    Number((await a.query<{ story_id: number }>(`select m.story_id from story_members m join entries e on e.id = m.entry_id where e.url = $1`, [url])).rows[0]!.story_id);

  it('sees the other process’s entries: a report ingested through B joins a story ingested through A, and back', async () => {
    const fire = await ingest(a, T, FIRE);
    const storm = await ingest(b, T + HOUR, STORM);
    // A holds this time already: only the other process's new rows (by seq) tell it of the storm.
    expect(await ingest(a, T + 2 * HOUR, STORM_AGAIN)).toBe(storm);
    expect(await ingest(b, T + 3 * HOUR, FIRE_AGAIN)).toBe(fire);
    expect(fire).not.toBe(storm);
  });

  it('forgets what a truncate with restart identity removed, even when the other process truncated', async () => {
    await ingest(a, T, STORM);
    await b.exec('truncate feeds, entries, entry_sources, tombstones, stories restart identity cascade');
    feed = await createFeed(b, 'https://wire.example/feed', 'en');
    // Entry 1 again, with another text.
    expect(await ingest(b, T, STRIKE)).toBe(1);
    // A's index held entry 1 as the storm: it must not match the strike's entry 1 now.
    expect(await ingest(a, T + HOUR, STORM_AGAIN)).toBe(2);
  });

  it('keeps no member of a rolled-back ingest that would change a later decision', async () => {
    const first = await ingest(a, T, STORM);
    // Copies nearer in time than the first report fill every band key's NEAREST_PER_SIDE places
    // before the next one's time: kept after the rollback, they would hide the first report.
    const copies = Array.from({ length: 5 }, (_, i) => {
      const url = `https://wire.example/copy-${i}`;
      return emptyItem({ guid: url, url, ...STORM, published: new Date(T + (i + 1) * 60_000).toISOString() });
    });
    await expect(
      a.transaction(async (tx) => {
        await ingestItems(tx, { id: feed, language: 'en' }, copies, { now: new Date(T + HOUR), retentionDays: 36500 });
        throw new Error('the poll failed after its entries were assigned');
      }),
    ).rejects.toThrow('the poll failed');
    expect(await ingest(a, T + 10 * 60_000, STORM)).toBe(first);
  });

  it('finds old stories for a report published days before the window it holds', async () => {
    const old = await ingest(a, T - 10 * 24 * HOUR, STORM, T - 10 * 24 * HOUR + 60_000);
    // A and B now hold the window around T.
    const fire = await ingest(a, T, FIRE);
    await ingest(b, T + HOUR, STRIKE);
    // A report of the old storm, published 10 days ago, arriving now.
    expect(await ingest(b, T - 10 * 24 * HOUR + HOUR, STORM_AGAIN, T + 2 * HOUR)).toBe(old);
    expect(await ingest(a, T - 10 * 24 * HOUR + 2 * HOUR, STORM_AGAIN, T + 3 * HOUR)).toBe(old);
    expect(await ingest(a, T + 2 * HOUR, FIRE_AGAIN)).toBe(fire);
  });
});
