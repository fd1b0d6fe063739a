import type { Db, Queryable } from '../../src/store/db.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';

export async function createFeed(db: Queryable, url: string, language: string | null = null): Promise<number> {
  const host = new URL(url).host;
  const r = await db.query<{ id: number }>(`insert into feeds (url, host, language) values ($1, $2, $3) returning id`, [
    url,
    host,
    language,
  ]);
  return Number(r.rows[0]!.id);
}

/** An item of a news feed; `n` makes guid, link, title and date distinct. */
export function newsItem(n: number, over: Partial<NormalisedItem> = {}): NormalisedItem {
  return {
    guid: `https://news.example/?p=${n}`,
    url: `https://news.example/2024/story-${n}`,
    title: `Story ${n}`,
    published: new Date(Date.UTC(2024, 4, 1, 12, 0, 0) - n * 60_000).toISOString(),
    updated: null,
    author: 'Desk',
    categories: ['world', `tag${n % 3}`],
    enclosures: [],
    summary: `Summary of story ${n}.`,
    content_html: `<p>Story ${n} body.</p>`,
    ...over,
  };
}

export const NOW = new Date(Date.UTC(2024, 4, 2, 0, 0, 0));

/** A Queryable that counts the statements sent through it (database round trips). */
export function countingQueryable(tx: Queryable): { q: Queryable; count: () => number } {
  let n = 0;
  return {
    q: {
      query: (sql, params) => {
        n++;
        return tx.query(sql, params);
      },
      exec: (sql) => {
        n++;
        return tx.exec(sql);
      },
    },
    count: () => n,
  };
}

export interface EntryRow {
  id: number;
  dedupe_key: string;
  url: string | null;
  title: string | null;
  published_at: Date | null;
  updated_at: Date | null;
  first_seen_at: Date;
  sort_at: Date;
  change_seq: number;
  content_hash: string;
  language: string | null;
  categories: string[];
  xmin: string;
}

/** Every entry with xmin, so a test can tell whether a row was rewritten at all. */
export async function allEntries(db: Db): Promise<EntryRow[]> {
  const r = await db.query<EntryRow>(
    `select id, dedupe_key, url, title, published_at, updated_at, first_seen_at, sort_at, change_seq,
            content_hash, language, categories, xmin::text as xmin
     from entries order by id`,
  );
  return r.rows;
}

export async function allSources(db: Db): Promise<Array<Record<string, unknown>>> {
  const r = await db.query(
    `select feed_id, item_key, entry_id, guid, url, content_hash, xmin::text as xmin
     from entry_sources order by feed_id, item_key`,
  );
  return r.rows;
}

export async function count(db: Db, table: 'entries' | 'entry_sources' | 'tombstones'): Promise<number> {
  const r = await db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return r.rows[0]!.n;
}

/** Empties the tables this suite writes, so tests can share one database (a fresh one costs seconds). */
export async function resetTables(db: Db): Promise<void> {
  await db.exec('truncate feeds, entries, entry_sources, tombstones, stories restart identity cascade');
}
