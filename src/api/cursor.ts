import type { EntryKey } from '../store/entry-queries.ts';

const SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Opaque page token: base64url of the last row's exact (sort_at, id). */
export function encodeCursor(key: EntryKey): string {
  return Buffer.from(JSON.stringify([key.sortAt, key.id]), 'utf8').toString('base64url');
}

/** The keyset position a token names, or null when it is not one of ours. */
export function decodeCursor(token: string): EntryKey | null {
  if (token.length > 200 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [sortAt, id] = value as unknown[];
  if (typeof sortAt !== 'string' || !SORT_KEY.test(sortAt) || Number.isNaN(Date.parse(sortAt))) return null;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return null;
  return { sortAt, id };
}
