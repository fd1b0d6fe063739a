import { retryWhileUnavailable, type Db, type Queryable } from './db.ts';
import { bumpChangeSeq } from './entries.ts';

/** How long the after-commit bump may wait for a database that went away right after the commit. */
const BUMP_RETRY_MS = 2000;

/**
 * Runs `fn` in one transaction and, once it has committed and `changed(result)`, moves
 * entries_change_seq on. The merged feeds' ETag is the sequence's last value: a value taken inside
 * the transaction can be seen by a reader before the rows commit, who would cache the old rows
 * under it, so every change bumps once more after commit. The one place that does so.
 * The bump is best effort: the change itself is committed, and the next change bumps again.
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
