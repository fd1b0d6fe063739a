import { retryWhileUnavailable, type Db, type Queryable } from './db.ts';
import { bumpChangeSeq } from './entries.ts';

/** How long the after-commit bump may wait for a database that went away right after the commit. */
const BUMP_RETRY_MS = 2000;

/**
 * Runs `fn` in one transaction and, once it has committed and `changed(result)`, moves the entries
 * version on (bumpChangeSeq: the entries_version row, sql/009). ETags are built from it, so it moves
 * after the rows commit: a reader never caches old rows under a new version. The one place that
 * does so. The bump is best effort: the change itself is committed, and the next change bumps again.
 */
export async function commitChange<T>(db: Db, fn: (tx: Queryable) => Promise<T>, changed: (result: T) => boolean): Promise<T> {
  const result = await db.transaction(fn);
  if (changed(result)) {
    await retryWhileUnavailable(() => bumpChangeSeq(db), { timeoutMs: BUMP_RETRY_MS }).catch(() => undefined);
    localChanges++;
  }
  return result;
}

let localChanges = 0;

/**
 * How many changes this process has committed (and bumped after): readers that reuse a recent
 * version read (src/api/entries-version.ts) compare it, so this process's own writes are seen at once.
 */
export function localChangeCount(): number {
  return localChanges;
}
