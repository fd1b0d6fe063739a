import type { Queryable } from './db.ts';
import { entryConditions, type EntryFilter } from './entry-queries.ts';
import { ITEM_JSON } from './item-pages.ts';

/** An entry as the live stream sends it: its change sequence and its /api/items JSON. */
export interface ChangedItem {
  seq: number;
  /** JSON text of the item, as /api/items writes it. */
  item: string;
}

export interface ChangedItemWithMatches extends ChangedItem {
  /** Whether the entry matches each of the filters asked about, in their order. */
  matches: boolean[];
}

/** One filter as a boolean SQL expression on `e` (true for an empty filter). */
function matchExpression(filter: EntryFilter, params: unknown[]): string {
  const conds = entryConditions(filter, params);
  return conds.length === 0 ? 'true' : `coalesce((${conds.join(' and ')}), false)`;
}

/**
 * Entries whose change_seq is in (after, upto], oldest change first, at most `limit`: each with its
 * item JSON and, in the same statement, whether it matches each filter. One read serves every
 * stream of a process, whatever their filters; the filters are the /api/items ones (entryConditions).
 */
export async function readChangedItems(
  q: Queryable,
  after: number,
  upto: number,
  limit: number,
  filters: readonly EntryFilter[],
): Promise<ChangedItemWithMatches[]> {
  const params: unknown[] = [after, upto, limit];
  const matches = filters.length === 0 ? `'{}'::boolean[]` : `array[${filters.map((f) => matchExpression(f, params)).join(', ')}]`;
  const r = await q.query<{ seq: number; item: string; matches: boolean[] }>(
    `select e.change_seq as seq, ${ITEM_JSON} as item, ${matches} as matches
     from entries e where e.change_seq > $1 and e.change_seq <= $2
     order by e.change_seq limit $3`,
    params,
  );
  return r.rows.map((row) => ({ seq: Number(row.seq), item: row.item, matches: row.matches }));
}

/** The entries of one filter changed in (after, upto], oldest change first (a resuming stream's catch-up). */
export async function readMatchingChanges(q: Queryable, after: number, upto: number, limit: number, filter: EntryFilter): Promise<ChangedItem[]> {
  const params: unknown[] = [after, upto, limit];
  const conds = entryConditions(filter, params);
  const r = await q.query<{ seq: number; item: string }>(
    `select e.change_seq as seq, ${ITEM_JSON} as item
     from entries e where e.change_seq > $1 and e.change_seq <= $2 ${conds.map((c) => `and ${c}`).join(' ')}
     order by e.change_seq limit $3`,
    params,
  );
  return r.rows.map((row) => ({ seq: Number(row.seq), item: row.item }));
}

export interface ResumeSpan {
  /** Entries changed in (after, upto], counted up to `cap` + 1 (enough to tell "more than cap"). */
  count: number;
  /** Whether any of those changes (their current change, changed_at) happened before `changedBefore`. */
  older: boolean;
}

/** What a resume from `after` up to `upto` would replay: how many changes, and whether any is too old. */
export async function resumeSpan(q: Queryable, after: number, upto: number, cap: number, changedBefore: Date): Promise<ResumeSpan> {
  const r = await q.query<{ n: number; older: boolean }>(
    `select count(*)::int as n, coalesce(bool_or(changed_at < $4::timestamptz), false) as older
     from (select changed_at from entries where change_seq > $1 and change_seq <= $2 limit $3) x`,
    [after, upto, cap + 1, changedBefore.toISOString()],
  );
  return { count: Number(r.rows[0]?.n ?? 0), older: Boolean(r.rows[0]?.older) };
}
