import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, openEmbedded, type Db } from '../../src/store/db.ts';
import { createTestDb, onServer } from '../helpers/db.ts';
import { EMBEDDED_TEMPLATE } from '../helpers/paths.ts';

/**
 * The owner's PGlite has one backend shared by its own queries and every socket client: whole
 * transactions must take turns, never interleave (issue 8, one owner for the embedded data).
 */
describe.skipIf(onServer)('embedded owner and socket clients share one backend safely (embedded)', { timeout: 120_000 }, () => {
  let dir: string;
  let owner: Db;
  let client: Db;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-lane-'));
    const seed = await openEmbedded(dir, new Blob([readFileSync(EMBEDDED_TEMPLATE)]));
    await seed.close();
    owner = await openDb({ dataDir: dir });
    // A second open of the same directory reaches the owner (here from the same process, over the socket).
    client = await openDb({ dataDir: dir });
    await owner.exec('create table lane_probe (who text not null, step int not null)');
  });
  afterAll(async () => {
    await client?.close();
    await owner?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the client sees what the owner wrote and the owner sees what the client wrote', async () => {
    await owner.query(`insert into lane_probe values ('owner', 0)`);
    await client.query(`insert into lane_probe values ('client', 0)`);
    const seen = async (db: Db) => (await db.query<{ who: string }>('select who from lane_probe order by who')).rows.map((r) => r.who);
    expect(await seen(client)).toEqual(['client', 'owner']);
    expect(await seen(owner)).toEqual(['client', 'owner']);
    await owner.exec('delete from lane_probe');
  });

  it('transactions of the owner and of clients run whole, one at a time, with a failed one rolled back', async () => {
    const pause = () => new Promise((r) => setTimeout(r, 2));
    const txn = (db: Db, who: string) =>
      db.transaction(async (tx) => {
        const inside = await tx.query<{ n: number }>('select count(*)::int as n from lane_probe');
        await pause();
        await tx.query('insert into lane_probe values ($1, 1)', [who]);
        await pause();
        // Nobody else's rows may appear between our two reads.
        const after = await tx.query<{ n: number }>('select count(*)::int as n from lane_probe');
        if (after.rows[0]!.n !== inside.rows[0]!.n + 1) throw new Error(`interleaved: ${inside.rows[0]!.n} then ${after.rows[0]!.n}`);
        await tx.query('insert into lane_probe values ($1, 2)', [who]);
      });
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 15; i++) {
      work.push(txn(owner, `o${i}`), txn(client, `c${i}`), owner.query('select count(*) from lane_probe'), client.query('select $1::int', [i]));
    }
    const failing = client.transaction(async (tx) => {
      await tx.query(`insert into lane_probe values ('bad', 1)`);
      await tx.query('select 1/0');
    });
    await expect(failing).rejects.toThrow(/division by zero/);
    await Promise.all(work);
    const rows = (await owner.query<{ who: string; n: number }>('select who, count(*)::int as n from lane_probe group by who')).rows;
    expect(rows).toHaveLength(30);
    expect(rows.every((r) => r.n === 2)).toBe(true);
    await owner.exec('delete from lane_probe');
  });

  it('a client that vanishes inside a transaction is rolled back and the owner carries on', async () => {
    const raw = new pg.Client({ host: dir, database: 'postgres', user: 'postgres' });
    await raw.connect();
    raw.on('error', () => undefined);
    await raw.query('begin');
    await raw.query(`insert into lane_probe values ('vanished', 1)`);
    // Its transaction holds the backend: the owner's statement waits for it.
    const waiting = owner.query<{ n: number }>('select count(*)::int as n from lane_probe');
    (raw as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await waiting).rows[0]!.n).toBe(0);
    expect((await client.query<{ n: number }>('select count(*)::int as n from lane_probe')).rows[0]!.n).toBe(0);
  });
});

describe.runIf(onServer)('with DATABASE_URL the data directory is not locked (postgres)', () => {
  it('two processes worth of openDb on one DATA_DIR both use the server and leave no lock or socket', async () => {
    const t = await createTestDb();
    const dir = mkdtempSync(join(tmpdir(), 'tributary-nolock-'));
    const a = await openDb({ databaseUrl: t.url!, dataDir: dir });
    const b = await openDb({ databaseUrl: t.url!, dataDir: dir });
    try {
      expect(a.kind).toBe('postgres');
      await a.exec('create table nolock_probe (v int); insert into nolock_probe values (1)');
      expect((await b.query<{ n: number }>('select count(*)::int as n from nolock_probe')).rows[0]!.n).toBe(1);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
      await t.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
