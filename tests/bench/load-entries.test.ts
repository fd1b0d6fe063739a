import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { BENCH_FEEDS, loadEntries } from '../../bench/load-entries.ts';

// The serving bench's bulk loader: it must produce the shape the issue asks for (sizes, dates,
// sources, languages filling the search column), or the serving numbers describe another database.

let t: TestDb;
beforeEach(async () => {
  t = await createTestDb();
});
afterEach(async () => {
  await t.drop();
});

describe('bench bulk loader', () => {
  it('loads realistic entries with sources, dates over 90 days and a searchable common word', async () => {
    const r = await loadEntries(t.db, 1500);
    expect(r.entries).toBe(1500);
    // One source each, about 5% with a second.
    expect(r.sources).toBeGreaterThan(1500 + 1500 * 0.02);
    expect(r.sources).toBeLessThan(1500 + 1500 * 0.09);
    expect(r.searchShare).toBeGreaterThan(0.01);
    expect(r.searchShare).toBeLessThan(0.5);
    const shape = await t.db.query<{ html: number; summary: number; days: number; langs: number; feeds: number; empty_search: number; max_id: number }>(
      `select avg(length(content_html))::float8 as html, avg(length(summary))::float8 as summary,
              extract(epoch from max(sort_at) - min(sort_at))::float8 / 86400 as days,
              count(distinct language)::int as langs,
              (select count(*) from feeds)::int as feeds,
              count(*) filter (where search = ''::tsvector)::int as empty_search,
              max(id)::int as max_id
       from entries`,
    );
    const s = shape.rows[0]!;
    expect(s.html).toBeGreaterThan(1200);
    expect(s.html).toBeLessThan(1900);
    expect(s.summary).toBeGreaterThan(250);
    expect(s.summary).toBeLessThan(350);
    expect(s.days).toBeGreaterThan(80);
    expect(s.days).toBeLessThanOrEqual(90);
    expect(s.langs).toBe(4);
    expect(s.feeds).toBe(BENCH_FEEDS);
    expect(s.empty_search).toBe(0);
    // The identity sequence continues after the loaded ids, so later inserts do not collide.
    const next = await t.db.query<{ id: number }>(
      `insert into entries (dedupe_key, sort_at, content_hash) values ('x', now(), 'h') returning id`,
    );
    expect(next.rows[0]!.id).toBe(s.max_id + 1);
  }, 90_000);
});
