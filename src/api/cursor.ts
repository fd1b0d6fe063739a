import type { EntryKey } from '../store/entry-queries.ts';
import { isCalendarDate } from './calendar.ts';

/** The only sort-key spelling encodeCursor ever writes: UTC, microseconds, as entry-queries' to_char gives it. */
const SORT_KEY = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
/** Largest value of entries.id (bigint) that JSON numbers carry exactly. */
const MAX_ID = Number.MAX_SAFE_INTEGER;
const MAX_TOKEN = 200;

/** Opaque page token: base64url of the last row's exact (sort_at, id). */
export function encodeCursor(key: EntryKey): string {
  return Buffer.from(JSON.stringify([key.sortAt, key.id]), 'utf8').toString('base64url');
}

/**
 * The keyset position a token names, or null when it is not one of ours. Every part is checked
 * here, so nothing PostgreSQL would refuse (an impossible date such as 2026-02-30, hour 24, second
 * 60, year 0) ever reaches a query as a 500.
 */
export function decodeCursor(token: string): EntryKey | null {
  if (token.length > MAX_TOKEN || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const bytes = Buffer.from(token, 'base64url');
  // Node's decoder skips junk and stray bits; only the exact spelling encodeCursor writes is ours.
  if (bytes.toString('base64url') !== token) return null;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [sortAt, id] = value as unknown[];
  if (typeof sortAt !== 'string' || !isSortKey(sortAt)) return null;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_ID) return null;
  return { sortAt, id };
}

/** A real UTC instant from year 1 to 9999: every field in range, the day within its month. */
function isSortKey(s: string): boolean {
  const m = SORT_KEY.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return isCalendarDate(year, month, day) && hour <= 23 && minute <= 59 && second <= 59;
}
