import type { Db, Queryable } from './db.ts';
import { pageCtes, readPage, type EntryFilter, type EntryKey } from './entry-queries.ts';
import { MAX_ITEMS_PER_STORY } from './stories-read.ts';

/**
 * /api/items as JSON text built by PostgreSQL: one statement per page (json of each item with its
 * sources, aggregated), so Node passes the bytes on instead of parsing rows into objects and
 * serialising them again. The objects are the same as itemJson's were, field for field and in
 * the same order (tests/api/item-pages.test.ts compares them).
 */

/** ISO 8601 in UTC with milliseconds, as Date#toISOString writes it. */
const iso = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * An item's sources, oldest first: compact JSON (row_to_json), not json_agg, which puts a newline
 * between elements.
 */
const SOURCES_JSON = `(select coalesce('[' || string_agg(row_to_json(src)::text, ',' order by s.first_seen_at, s.feed_id) || ']', '[]')::json
  from entry_sources s join feeds f on f.id = s.feed_id
  cross join lateral (select s.feed_id, coalesce(f.title_override, f.title) as feed_title, s.url) src
  where s.entry_id = e.id)`;

/**
 * The fields of one item, in output order; one line per field. Stored URLs are already absolute
 * http(s) hrefs (src/parse/url.ts); the check keeps anything else out as the XML output does.
 */
const ITEM_FIELDS = [
  'e.id',
  `case when e.url ~* '^https?://' then e.url end as url`,
  'e.title',
  `${iso('e.published_at')} as published`,
  `${iso('e.updated_at')} as updated`,
  'e.author',
  'e.summary',
  'e.content_html',
  'e.categories',
  'e.enclosures',
  'e.language',
  // The story the entry belongs to (sql/005); its own id for an entry stored without one.
  'coalesce((select m.story_id from story_members m where m.entry_id = e.id), e.id) as story_id',
  `${SOURCES_JSON} as sources`,
];

/** One item as compact JSON text, for an `entries e` in scope (also the live stream's `data:`). */
export const ITEM_JSON = `(select row_to_json(x)::text from (select ${ITEM_FIELDS.join(', ')}) x)`;

/**
 * `?collapse=story`: the item stands for its story, and `story` lists the story's other reports,
 * one element per report and feed carrying it (an outlet each), earliest first, at most
 * MAX_ITEMS_PER_STORY reports. Whatever the filters: a reader filtering by region still learns
 * who else reported the event.
 */
const STORY_JSON = `(select row_to_json(st) from (select k.sid as id,
    (select coalesce('[' || string_agg(row_to_json(r)::text, ',' order by o.at, o.entry_id, s.first_seen_at, s.feed_id) || ']', '[]')::json
     from (select m.entry_id, m.at from story_members m where m.story_id = k.sid and m.entry_id <> e.id
           order by m.at, m.entry_id limit ${MAX_ITEMS_PER_STORY}) o
     join entries x on x.id = o.entry_id
     join entry_sources s on s.entry_id = x.id join feeds f on f.id = s.feed_id
     cross join lateral (select x.id as item_id, s.feed_id, coalesce(f.title_override, f.title) as feed_title, x.title,
       case when x.url ~* '^https?://' then x.url end as url, ${iso('x.published_at')} as published) r) as sources
  from (select coalesce((select m.story_id from story_members m where m.entry_id = e.id), e.id) as sid) k) st) as story`;

const COLLAPSED_ITEM_JSON = `(select row_to_json(x)::text from (select ${[...ITEM_FIELDS, STORY_JSON].join(', ')}) x)`;


export interface ItemsPageJson {
  /** The items as a JSON array. */
  itemsJson: string;
  /** Keyset position of the last item when another page follows, else null. */
  next: EntryKey | null;
}

/** The page of `filter` after `after` as JSON text: `limit` items, one more read to know if a next page exists. */
export async function itemsPageJson(db: Db, filter: EntryFilter, limit: number, after?: EntryKey): Promise<ItemsPageJson> {
  const { rows } = await readPage<{ items: string | null; n: number; last_sort_key: string | null; last_id: number | null }>(
    db,
    filter,
    (access) => {
      const params: unknown[] = [];
      const ctes = pageCtes(filter, limit + 1, after, 'older', access, params);
      params.push(limit);
      const lim = `$${params.length}`;
      const sql = `with ${ctes},
        ranked as (select id, sort_at, row_number() over (order by sort_at desc, id desc) as rn from page)
        select string_agg(j.item, ',' order by r.rn) filter (where r.rn <= ${lim}) as items,
               count(*)::int as n,
               max(to_char(r.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) filter (where r.rn = ${lim}) as last_sort_key,
               max(r.id) filter (where r.rn = ${lim}) as last_id
        from ranked r
        -- One index lookup per page row (never a join over the table); the extra row's JSON is not built.
        left join lateral (select ${filter.collapse === 'story' ? COLLAPSED_ITEM_JSON : ITEM_JSON} as item from entries e where e.id = r.id and r.rn <= ${lim}) j on true`;
      return { sql, params };
    },
    // limit + 1 rows asked: a full page tells whether another follows.
    (page) => Number(page[0]?.n ?? 0) > limit,
  );
  const row = rows[0];
  const more = row !== undefined && Number(row.n) > limit && row.last_sort_key !== null && row.last_id !== null;
  return {
    itemsJson: `[${row?.items ?? ''}]`,
    next: more ? { sortAt: row.last_sort_key!, id: Number(row.last_id) } : null,
  };
}

/** One item as JSON text, or null when there is none with this id. */
export async function itemJsonById(q: Queryable, id: number): Promise<string | null> {
  const r = await q.query<{ item: string }>(`select ${ITEM_JSON} as item from entries e where e.id = $1`, [id]);
  return r.rows[0]?.item ?? null;
}
