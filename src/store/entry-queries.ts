import type { Db, Queryable } from './db.ts';
import type { Enclosure } from '../parse/types.ts';

/** Read-side filters shared by the merged feeds, /api/items and the reader page. */
export interface EntryFilter {
  feedIds?: number[] | undefined;
  region?: string | undefined;
  /** Full-text query in websearch syntax. */
  q?: string | undefined;
  /** Primary language subtag, lower case ('it' matches 'it', 'it-IT', 'it_CH'). */
  lang?: string | undefined;
  /** Inclusive lower bound on sort_at. */
  since?: Date | undefined;
  /** Exclusive upper bound on sort_at. */
  until?: Date | undefined;
  /** Entries of these stories; a merged story's id stands for the story it was merged into. */
  storyIds?: number[] | undefined;
  /**
   * 'story': one entry per story, its earliest report among those the other filters keep
   * (`?collapse=story`). Not a filter on entries' own fields, so the story list ignores it.
   */
  collapse?: 'story' | undefined;
}

/** Keyset position: the exact (sort_at, id) of the last row of a page; sort_at as text keeps microseconds. */
export interface EntryKey {
  sortAt: string;
  id: number;
}

/** Which side of a keyset position a page lies on: older (the next page) or newer (the page before). */
export type PageSide = 'older' | 'newer';

export interface EntrySource {
  feed_id: number;
  feed_title: string | null;
  /** The article URL as this feed gave it. */
  url: string | null;
  feed_url: string;
  site_url: string | null;
}

export interface EntryRow {
  id: number;
  url: string | null;
  canonical_url: string | null;
  title: string | null;
  author: string | null;
  summary: string | null;
  content_html: string | null;
  published_at: Date | null;
  updated_at: Date | null;
  first_seen_at: Date;
  sort_at: Date;
  categories: string[];
  enclosures: Enclosure[];
  language: string | null;
  /** sort_at rendered with microseconds in UTC: the cursor's source of truth. */
  sort_key: string;
  /** The story the entry belongs to (sql/005); its own id for an entry stored without one. */
  story_id: number;
}

export interface EntryWithSources extends EntryRow {
  sources: EntrySource[];
}

const ENTRY_COLUMNS = `e.id, e.url, e.canonical_url, e.title, e.author, e.summary, e.content_html,
  e.published_at, e.updated_at, e.first_seen_at, e.sort_at, e.categories, e.enclosures, e.language,
  to_char(e.sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_key,
  coalesce((select m.story_id from story_members m where m.entry_id = e.id), e.id) as story_id`;

/**
 * Every configuration tributary_ts_config() (sql/001_init.sql) can give an entry; keep in sync.
 * An entry's search vector is built with its language's configuration (sql/003), so a query is
 * parsed with each to reach entries of every language.
 */
const SEARCH_CONFIGS = [
  'simple', 'english', 'italian', 'french', 'arabic', 'german', 'spanish', 'portuguese', 'dutch', 'russian',
  'turkish', 'greek', 'swedish', 'danish', 'finnish', 'hungarian', 'norwegian', 'romanian',
] as const;

/** websearch_to_tsquery syntax: "-word" (or "-\"a phrase\"") excludes. */
function hasNegation(q: string): boolean {
  return /(^|\s)-\S/.test(q);
}

/** Rows beyond the keyset position `after` on `side`: a range of index entries_newest. */
function keysetConditions(after: EntryKey | undefined, side: PageSide, params: unknown[]): string[] {
  if (!after) return [];
  params.push(after.sortAt, after.id);
  return [`(e.sort_at, e.id) ${side === 'older' ? '<' : '>'} ($${params.length - 1}::timestamptz, $${params.length}::bigint)`];
}

/** Which entries the filter keeps, on entries aliased `e`: entryConditions, and the story collapse. */
function filterConditions(filter: EntryFilter, params: unknown[]): string[] {
  const conds = entryConditions(filter, params);
  if (filter.collapse === 'story') conds.push(earliestOfStory(filter, params));
  return conds;
}

/** Builds the WHERE clause; each value becomes a parameter, the SQL text only depends on which filters are set. */
function whereClause(filter: EntryFilter, after: EntryKey | undefined, side: PageSide, params: unknown[]): string {
  const conds = [...keysetConditions(after, side, params), ...filterConditions(filter, params)];
  return conds.length > 0 ? `where ${conds.join(' and ')}` : '';
}

/**
 * `e` is the earliest report of its story among the entries the filter keeps: no other member of
 * the story that the filter keeps comes before it in (at, entry_id). A function of the data alone,
 * so a keyset walk over the entries that pass meets every story exactly once, at the same entry
 * on every page. story_members(story_id, at, entry_id) finds the earlier members; without other
 * filters the first one found answers (one index probe per walked entry).
 */
function earliestOfStory(filter: EntryFilter, params: unknown[]): string {
  const others = entryConditions({ ...filter, collapse: undefined }, params, 'x');
  const join = others.length > 0 ? `join entries x on x.id = m2.entry_id and ${others.join(' and ')}` : '';
  return `not exists (select 1 from story_members me
    join story_members m2 on m2.story_id = me.story_id and (m2.at, m2.entry_id) < (me.at, me.entry_id)
    ${join}
    where me.entry_id = e.id)`;
}

/**
 * The filter as SQL conditions on entries aliased `e` (appending their values to params): for the
 * entry list, for the story list (a story matches when one of its entries does) and for the
 * earlier members of a story when collapsing.
 */
export function entryConditions(filter: EntryFilter, params: unknown[], e = 'e'): string[] {
  const conds: string[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (filter.storyIds && filter.storyIds.length > 0) {
    conds.push(`${e}.id in (select m.entry_id from story_members m where m.story_id in
      (select coalesce(s.merged_into, s.id) from stories s where s.id = any(${p(filter.storyIds)}::bigint[])))`);
  }
  conds.push(...timeConditions(filter, params, e));
  if (filter.lang) {
    const lang = p(filter.lang);
    conds.push(`lower(split_part(replace(${e}.language, '_', '-'), '-', 1)) = ${lang}`);
  }
  if (filter.q) {
    const q = p(filter.q);
    // The OR over all configurations folds to one constant tsquery the GIN index can answer, and
    // that the planner can estimate (common words: walk entries newest-first; rare ones: bitmap).
    const anyConfig = SEARCH_CONFIGS.map((c) => `websearch_to_tsquery('${c}', ${q})`).join(' || ');
    conds.push(`${e}.search @@ (${anyConfig})`);
    if (hasNegation(filter.q)) {
      // With "-word" an OR of whole queries would let a row through whenever one stemmer spells the
      // word differently: test the query parsed with the entry's own configuration, the one its
      // vector was built with. A CASE of constant branches, so nothing is parsed per row.
      const branches = SEARCH_CONFIGS.filter((c) => c !== 'simple')
        .map((c) => `when '${c}'::regconfig then websearch_to_tsquery('${c}', ${q})`)
        .join(' ');
      conds.push(`${e}.search @@ (case tributary_ts_config(${e}.language) ${branches} else websearch_to_tsquery('simple', ${q}) end)`);
    }
  }
  const sourceConds: string[] = [];
  if (filter.feedIds && filter.feedIds.length > 0) sourceConds.push(`s.feed_id = any(${p(filter.feedIds)}::int[])`);
  if (filter.region) sourceConds.push(`lower(f.region) = lower(${p(filter.region)})`);
  if (sourceConds.length > 0) {
    conds.push(`exists (select 1 from entry_sources s join feeds f on f.id = s.feed_id
      where s.entry_id = ${e}.id and ${sourceConds.join(' and ')})`);
  }
  return conds;
}

/** `since` and `until` as conditions on `${e}.sort_at`: a range of index entries_newest. */
function timeConditions(filter: EntryFilter, params: unknown[], e = 'e'): string[] {
  const conds: string[] = [];
  if (filter.since) {
    params.push(filter.since);
    conds.push(`${e}.sort_at >= $${params.length}::timestamptz`);
  }
  if (filter.until) {
    params.push(filter.until);
    conds.push(`${e}.sort_at < $${params.length}::timestamptz`);
  }
  return conds;
}

/**
 * How a page is read. 'walk': entries_newest newest-first, filtering each row; fast when the
 * filter is common (a search's walk stops after SEARCH_WALK_ROWS_PER_ROW rows per page row).
 * 'bitmap': the full-text (GIN) index first, then the matches sorted; bounded by the matches. A
 * search picks one by counting its matches through the GIN index (searchMatchCount); everything
 * else walks.
 */
export type PageAccess = 'walk' | 'bitmap';

/**
 * At most this many matches are sorted after a GIN lookup; above it a search walks newest-first,
 * where a word matching n entries fills a page of `limit` within about limit × table ÷ n rows.
 * Both costs are mostly heap pages visited (one per match, or one per row walked), measured at
 * similar cost per page in the plans of the search ladder (README "Performance"); they balance
 * at √(limit × table) matches: ≈ 2,300 at 100,000 entries, ≈ 7,000 at 1,000,000.
 */
export const SEARCH_BITMAP_MAX = 5000;

/**
 * A search's walk reads at most this many entries per row of its page: a page it has not filled
 * by then (the word is common, but rare in the entries the walk reached: a word of last year, a
 * narrow feed or region filter, the last pages) comes back short, and readPage reads it again
 * through the GIN index. So a walk costs at most limit × 200 rows (10,200 for a page of 51), never
 * the table; a page it fills meets a match density of at least 0.5 %.
 */
export const SEARCH_WALK_ROWS_PER_ROW = 200;

/**
 * `page(id, sort_at)` CTEs: the keyset page of the filter, newest first, at most `limit` rows.
 * Filters that tell which entries belong to the page live in whereClause, so a new filter is one
 * line there and reaches every reader of pages (items API, merged feeds, reader page).
 * A search's walk may stop short of `limit` rows before the last page (SEARCH_WALK_ROWS_PER_ROW):
 * read it through readPage, which completes such a page.
 */
export function pageCtes(
  filter: EntryFilter,
  limit: number,
  after: EntryKey | undefined,
  side: PageSide,
  access: PageAccess,
  params: unknown[],
): string {
  const order = side === 'older' ? 'desc' : 'asc';
  if (access === 'walk' && filter.q) {
    // The range (keyset position, since, until) bounds the scan of entries_newest; the filter is
    // computed per row read (since and until again: cheap, and the story collapse needs them), so
    // the walk's limit counts rows read, not rows kept.
    const range = [...keysetConditions(after, side, params), ...timeConditions(filter, params)];
    const hit = filterConditions(filter, params);
    params.push(limit);
    const lim = `$${params.length}`;
    params.push(limit * SEARCH_WALK_ROWS_PER_ROW);
    return `walked as (select e.id, e.sort_at, ${hit.join(' and ')} as hit from entries e
        ${range.length > 0 ? `where ${range.join(' and ')}` : ''}
        order by e.sort_at ${order}, e.id ${order} limit $${params.length}),
      page as (select id, sort_at from walked where hit order by sort_at ${order}, id ${order} limit ${lim})`;
  }
  const where = whereClause(filter, after, side, params);
  params.push(limit);
  const lim = `$${params.length}`;
  if (access === 'bitmap') {
    // Materialised: the matches are collected through the GIN index, then only they are sorted.
    return `hits as materialized (select e.id, e.sort_at from entries e ${where}),
      page as (select id, sort_at from hits order by sort_at ${order}, id ${order} limit ${lim})`;
  }
  return `page as (select e.id, e.sort_at from entries e ${where} order by e.sort_at ${order}, e.id ${order} limit ${lim})`;
}

/** The page's full rows, nearest the keyset position first (newest first on the older side). */
export function buildListQuery(
  filter: EntryFilter,
  limit: number,
  after?: EntryKey,
  side: PageSide = 'older',
  access: PageAccess = 'walk',
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const order = side === 'older' ? 'desc' : 'asc';
  if (access === 'walk' && !filter.q) {
    const where = whereClause(filter, after, side, params);
    params.push(limit);
    // Nearest the position first on (sort_at, id): a bounded scan of index entries_newest (backwards
    // for the newer side), never a sort of the table.
    const sql = `select ${ENTRY_COLUMNS} from entries e ${where}
      order by e.sort_at ${order}, e.id ${order} limit $${params.length}`;
    return { sql, params };
  }
  const ctes = pageCtes(filter, limit, after, side, access, params);
  // The page's rows by id, one index lookup each; the sort is of `limit` rows.
  const sql = `with ${ctes} select ${ENTRY_COLUMNS}
    from page p cross join lateral (select * from entries x where x.id = p.id) e
    order by p.sort_at ${order}, p.id ${order}`;
  return { sql, params };
}

/**
 * The settings that pin a page's plan, `set local`: they end with the statement's transaction, so
 * nothing is left on a pooled (or PgBouncer) connection. Statistics cannot estimate a query folded
 * over every text-search configuration (an absent word is estimated at ~4 % of the table, a 6 %
 * word at ~30 %), so left alone the planner walks the whole table for a rare word and scans it
 * sequentially to count a common one. Counting and the bitmap page use the GIN index only; the
 * walk uses entries_newest only. 'matches' reads all of a common word's matches after a walk came
 * back short: without an ORDER BY and LIMIT to serve, walking entries_newest never looks cheaper
 * than the GIN bitmap, and with index scans allowed a narrow feed or region filter can drive the
 * read from the feed's entries instead (`?q=workers&feed=…` at 1,000,000 entries: 66 ms through
 * entry_sources, where the GIN bitmap visits the heap page of each of 61,617 matches).
 * A disabled path adds a huge constant to plan costs, which would
 * trigger JIT compilation (100+ ms at 1,000,000 entries for a query that runs in 1 ms): JIT off.
 */
const PLAN_SETTINGS: Record<PageAccess | 'matches', string> = {
  bitmap: 'set local jit = off; set local enable_seqscan = off; set local enable_indexscan = off; set local enable_bitmapscan = on',
  walk: 'set local jit = off; set local enable_seqscan = off; set local enable_indexscan = on; set local enable_bitmapscan = off',
  matches: 'set local jit = off; set local enable_seqscan = off; set local enable_indexscan = on; set local enable_bitmapscan = on',
};

/**
 * A statement's parameter as an SQL literal of the same text, for a script (which takes no
 * parameters). Parameters are sent untyped, so a literal (also of unknown type) is resolved by the
 * same casts in the statement. Strings are E'' literals with backslashes and quotes doubled.
 */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  const text = (s: string) => {
    // A NUL ends the script's text on the wire; a parameter with one is refused by the server too.
    if (s.includes('\0')) throw new Error('a query value contains a NUL character');
    return `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  };
  if (typeof v === 'string') return text(v);
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return text(String(v));
  }
  if (typeof v === 'boolean') return text(String(v));
  if (v instanceof Date) return text(v.toISOString());
  if (Array.isArray(v)) {
    // An array literal's text, as pg writes an array parameter.
    const element = (x: unknown): string => {
      if (x === null || x === undefined) return 'NULL';
      const s = x instanceof Date ? x.toISOString() : String(x);
      return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    };
    return text(`{${v.map(element).join(',')}}`);
  }
  throw new Error(`no SQL literal for a ${typeof v}`);
}

/** The statement with its $n placeholders replaced by their values' literals (one pass: values are never rescanned). */
function inlineParams(sql: string, params: unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new Error(`no value for $${n}`);
    return sqlLiteral(params[i]);
  });
}

/** Runs a statement under `access`'s plan settings, both in one script: one round trip, one implicit transaction. */
async function runPinned<R>(db: Queryable, access: keyof typeof PLAN_SETTINGS, sql: string, params: unknown[]): Promise<R[]> {
  return (await db.exec(`${PLAN_SETTINGS[access]}; ${inlineParams(sql, params)}`)) as R[];
}

interface PlanNode {
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

function ginMatches(node: PlanNode): number | undefined {
  if (node['Index Name'] === 'entries_search') return node['Actual Rows'];
  for (const child of node.Plans ?? []) {
    const n = ginMatches(child);
    if (n !== undefined) return n;
  }
  return undefined;
}

/**
 * How many entries the search's full-text query matches, as the GIN index counts them: the bitmap
 * index scan of a one-row probe reports every matching row id it collected, while the heap is
 * visited once. This costs the index lookup alone, where counting rows would visit one heap page
 * per match. One round trip. Also the bench's ladder count.
 */
export async function searchMatchCount(db: Queryable, q: string): Promise<number> {
  const params: unknown[] = [];
  const where = whereClause({ q }, undefined, 'older', params);
  const [row] = await runPinned<{ 'QUERY PLAN': unknown }>(
    db,
    'bitmap',
    `explain (analyze, timing off, summary off, format json) select 1 from entries e ${where} limit 1`,
    params,
  );
  const raw = row?.['QUERY PLAN'];
  const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[] | undefined;
  // No GIN node (an empty query folds to a constant): nothing to walk for.
  return doc?.[0] ? (ginMatches(doc[0].Plan) ?? 0) : 0;
}

/**
 * Match counts remembered per search text, per database: a repeated search (a reader paging, a
 * dashboard polling) needs no count. A count only chooses the plan, never which rows a page holds,
 * so an old one costs time, not correctness: a new entry with the word is found at once. How much
 * time: the count moves by the entries added or deleted meanwhile, so it is kept MATCH_COUNT_TTL_MS
 * (far too short for a rare word to gather thousands of matches, the smallest change that
 * would turn its bitmap read into a slow one).
 */
export const MATCH_COUNT_TTL_MS = 30_000;
const MATCH_COUNTS_MAX = 1000;
const matchCounts = new WeakMap<Queryable, Map<string, { matches: number; at: number }>>();

function rememberedMatches(db: Queryable, q: string): number | undefined {
  const counts = matchCounts.get(db);
  const c = counts?.get(q);
  if (!c) return undefined;
  if (performance.now() - c.at > MATCH_COUNT_TTL_MS) {
    counts!.delete(q);
    return undefined;
  }
  return c.matches;
}

function rememberMatches(db: Queryable, q: string, matches: number): void {
  let counts = matchCounts.get(db);
  if (!counts) matchCounts.set(db, (counts = new Map()));
  counts.delete(q);
  // Oldest first in insertion order: past the bound, the oldest count goes.
  if (counts.size >= MATCH_COUNTS_MAX) counts.delete(counts.keys().next().value!);
  counts.set(q, { matches, at: performance.now() });
}

const accessFor = (matches: number): PageAccess => (matches > SEARCH_BITMAP_MAX ? 'walk' : 'bitmap');

/**
 * Runs the statement `build(access)` gives for the page of `filter`: a plain statement without a
 * search. A search's page is one script, its plan settings (chosen by the query's match count)
 * and the statement: one round trip when the count is remembered; else the count first (one
 * more), and a count of 0 is the empty page, with no page statement. A walk that comes back
 * short (`full` false: SEARCH_WALK_ROWS_PER_ROW) is read again through the GIN index.
 */
export async function readPage<R>(
  db: Db,
  filter: EntryFilter,
  build: (access: PageAccess) => { sql: string; params: unknown[] },
  full: (rows: R[]) => boolean,
): Promise<{ rows: R[]; access: PageAccess }> {
  if (!filter.q) {
    const { sql, params } = build('walk');
    return { rows: (await db.query<R>(sql, params)).rows, access: 'walk' };
  }
  let matches = rememberedMatches(db, filter.q);
  if (matches === undefined) {
    matches = await searchMatchCount(db, filter.q);
    rememberMatches(db, filter.q, matches);
    // Counted just now, so exact: every other filter narrows the search further.
    if (matches === 0) return { rows: [], access: 'bitmap' };
  }
  const access = accessFor(matches);
  const { sql, params } = build(access);
  const rows = await runPinned<R>(db, access, sql, params);
  if (access === 'bitmap' || full(rows)) return { rows, access };
  const again = build('bitmap');
  return { rows: await runPinned<R>(db, 'matches', again.sql, again.params), access: 'bitmap' };
}

/** The plan a page would use (with a fresh count), as EXPLAIN ANALYZE text, with the same settings (for the bench). */
export async function explainPage(db: Db, filter: EntryFilter, limit: number, after?: EntryKey): Promise<{ access: PageAccess; plan: string }> {
  const access: PageAccess = filter.q ? accessFor(await searchMatchCount(db, filter.q)) : 'walk';
  const q = buildListQuery(filter, limit, after, 'older', access);
  const sql = `explain (analyze, costs off, timing on) ${q.sql}`;
  const rows = filter.q ? await runPinned<Record<string, string>>(db, access, sql, q.params) : (await db.query<Record<string, string>>(sql, q.params)).rows;
  return { access, plan: rows.map((row) => Object.values(row)[0]).join('\n') };
}

/**
 * Entries matching the filter, each with its sources: the newest, or those on one side of a keyset
 * position, nearest to it first (so newest first on the older side, oldest first on the newer side).
 */
export async function listEntries(
  db: Db,
  filter: EntryFilter,
  limit: number,
  after?: EntryKey,
  side: PageSide = 'older',
): Promise<EntryWithSources[]> {
  const { rows } = await readPage<EntryRow>(
    db,
    filter,
    (access) => buildListQuery(filter, limit, after, side, access),
    (page) => page.length >= limit,
  );
  return attachSources(db, rows);
}

export async function getEntry(q: Queryable, id: number): Promise<EntryWithSources | null> {
  const rows = (await q.query<EntryRow>(`select ${ENTRY_COLUMNS} from entries e where e.id = $1`, [id])).rows;
  const [entry] = await attachSources(q, rows);
  return entry ?? null;
}

/** One query for the sources of a whole page. */
async function attachSources(q: Queryable, rows: EntryRow[]): Promise<EntryWithSources[]> {
  if (rows.length === 0) return [];
  const r = await q.query<EntrySource & { entry_id: number }>(
    `select s.entry_id, s.feed_id, coalesce(f.title_override, f.title) as feed_title, s.url,
            f.url as feed_url, f.site_url
     from entry_sources s join feeds f on f.id = s.feed_id
     where s.entry_id = any($1::bigint[])
     order by s.entry_id, s.first_seen_at, s.feed_id`,
    [rows.map((e) => e.id)],
  );
  const byEntry = new Map<number, EntrySource[]>();
  for (const { entry_id, ...source } of r.rows) {
    const list = byEntry.get(Number(entry_id)) ?? [];
    list.push(source);
    byEntry.set(Number(entry_id), list);
  }
  return rows.map((e) => ({ ...e, id: Number(e.id), sources: byEntry.get(Number(e.id)) ?? [] }));
}

/**
 * Version of the visible entry set, read without touching entries: every committed insert, update
 * and delete moves entries_version on (bumpChangeSeq). Exact on a read replica too (sql/009).
 */
export async function entriesVersion(q: Queryable): Promise<string> {
  const r = await q.query<{ seq: number }>('select seq from entries_version');
  return String(r.rows[0]?.seq ?? 0);
}

export interface FeedOption {
  id: number;
  title: string;
  region: string | null;
}

/** Feeds and regions for the reader page's filters. */
export async function listFeedOptions(q: Queryable): Promise<{ feeds: FeedOption[]; regions: string[] }> {
  const r = await q.query<FeedOption>(
    `select id, coalesce(title_override, title, url) as title, region from feeds order by lower(coalesce(title_override, title, url)), id`,
  );
  const regions = [...new Set(r.rows.map((f) => f.region).filter((x): x is string => Boolean(x)))].sort();
  return { feeds: r.rows, regions };
}
