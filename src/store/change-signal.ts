import type { Db, Queryable } from './db.ts';
import { bumpChangeSeq } from './entries.ts';

/**
 * Telling readers that entries changed, and up to where they may safely read. Two halves:
 *
 * - After commit, commitChange (change-seq.ts) moves entries_change_seq on and announces the new
 *   value: `NOTIFY tributary_changes, '<seq>'` for other processes (an API process LISTENs,
 *   store/change-listener.ts), and an in-process call for listeners of the same Db (the embedded
 *   database has no other sessions to notify; a worker and API in one process skip the round trip).
 *   Anything that must react to "new entries committed" (the live stream, WebSub pings) subscribes
 *   here rather than adding a second after-commit path.
 *
 * - change_seq values are taken inside transactions, so they commit out of order: a reader that saw
 *   seq 105 committed may later see 103 appear. Every changing transaction therefore holds, until it
 *   ends, a shared advisory lock whose key is the sequence's value when it began: all the values it
 *   takes are above it. pg_locks shows the locks of transactions still running, so the smallest key
 *   is a horizon below which nothing more can appear (settledChangeSeq). Locks, unlike rows, are
 *   visible across sessions before commit, and a commit is visible before its locks are released.
 */

export const CHANGE_CHANNEL = 'tributary_changes';

/** First key of the two-key advisory lock ('TRIB'): our own space, apart from the migration lock's one-key form. */
const HORIZON_LOCK_CLASS = 0x54524942;

/** The sequence's last handed-out value; one less when nothing was handed out yet (is_called false). */
const LAST_SEQ = `case when is_called then last_value else last_value - 1 end`;

/**
 * Marks the calling transaction as one that may write change_seq values (call it first, inside the
 * transaction). Keys are int4: past 2^31 changes the key stops growing, and the horizon with it
 * while any writer runs, so the stream would only advance between transactions.
 */
export async function holdChangeHorizon(tx: Queryable): Promise<void> {
  await tx.query(`select pg_advisory_xact_lock_shared(${HORIZON_LOCK_CLASS}, least(${LAST_SEQ}, 2147483647)::int) from entries_change_seq`);
}

/**
 * The highest change_seq at or below which every committed row is visible now and no running
 * transaction can still add one; `last` is the sequence's current value (above the horizon while
 * a writer runs). Two statements, in this order: a writer that locks after the lock scan only takes
 * values above `last`, read before it; one that committed before the scan is visible to the
 * caller's next statement.
 */
export async function settledChangeSeq(q: Queryable): Promise<{ settled: number; last: number }> {
  const seq = await q.query<{ last: number }>(`select ${LAST_SEQ} as last from entries_change_seq`);
  const locks = await q.query<{ pinned: number | null }>(
    `select min(objid::text::bigint) as pinned from pg_locks
     where locktype = 'advisory' and classid = ${HORIZON_LOCK_CLASS} and objsubid = 2
       and database = (select oid from pg_database where datname = current_database())`,
  );
  const last = Number(seq.rows[0]?.last ?? 0);
  const pinned = locks.rows[0]?.pinned;
  return { settled: pinned === null || pinned === undefined ? last : Math.min(last, Number(pinned)), last };
}

type ChangeCallback = (seq: number) => void;
const localListeners = new WeakMap<Db, Set<ChangeCallback>>();

/** Calls `fn` with the new sequence value after each change committed through this Db in this process. */
export function onLocalChange(db: Db, fn: ChangeCallback): () => void {
  let set = localListeners.get(db);
  if (!set) localListeners.set(db, (set = new Set()));
  set.add(fn);
  return () => set.delete(fn);
}

/** After a committed change: moves the version on (bumpChangeSeq), notifies other sessions, then local listeners. */
export async function announceChange(db: Db): Promise<number> {
  const seq = await bumpChangeSeq(db);
  // Its own statement (autocommit): a NOTIFY is delivered when its transaction commits.
  await db.query(`select pg_notify('${CHANGE_CHANNEL}', $1)`, [String(seq)]);
  for (const fn of localListeners.get(db) ?? []) {
    try {
      fn(seq);
    } catch {
      // A listener's failure is its own; the change is committed either way.
    }
  }
  return seq;
}
