import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from './helpers/db.ts';
import { migrate } from '../src/store/migrate.ts';

describe(`database (${backendName})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('is migrated, and migrating again applies nothing', async () => {
    const again = await migrate(t.db);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toContain('001_init.sql');
  });

  it('returns int8 as numbers, arrays and jsonb parsed, on both back ends', async () => {
    const r = await t.db.query<{ n: number; a: string[]; j: unknown }>(
      `select 9007199254740::int8 as n, $1::text[] as a, $2::jsonb as j`,
      [['x', 'y'], JSON.stringify([{ k: 1 }])],
    );
    expect(r.rows[0]).toEqual({ n: 9007199254740, a: ['x', 'y'], j: [{ k: 1 }] });
  });

  it('rolls a failed transaction back', async () => {
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query(`insert into feeds (url, host) values ('http://a.example/f', 'a.example')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const r = await t.db.query('select count(*)::int as c from feeds');
    expect(r.rows[0]).toEqual({ c: 0 });
  });

  it('maps languages to text-search configurations (Arabic, Italian stems)', async () => {
    const r = await t.db.query<{ ar: boolean; it: boolean }>(
      `select to_tsvector(tributary_ts_config('ar'), 'دير الزور') @@ websearch_to_tsquery('arabic', 'الزور') as ar,
              to_tsvector(tributary_ts_config('it-IT'), 'nuova sconfitta') @@ websearch_to_tsquery('italian', 'sconfitte') as it`,
    );
    expect(r.rows[0]).toEqual({ ar: true, it: true });
  });
});
