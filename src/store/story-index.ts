import { decodeFeatureVector } from '../stories/features.ts';
import { WindowIndex, type Interval } from '../stories/window-index.ts';
import type { Db, Queryable, TransactionSession } from './db.ts';
import { readStoryIndexRows, type IndexInterval } from './stories.ts';

/**
 * Each process keeps, per database (per Db object) and language, the story members of a time
 * interval in memory (src/stories/window-index.ts), so finding a new entry's candidates costs no
 * statement. It is kept in step with story_members through PostgreSQL alone, whatever the number
 * of processes (sql/013):
 *  - every write of language L's members happens under L's transaction advisory lock, held to
 *    commit, and takes a seq from one sequence; so once a transaction holds L's lock, every member
 *    of L is committed and a later writer's seqs are higher. Under the lock, the sync reads L's
 *    members with seq above what the index has read (other processes' work since), and loads by
 *    (language, at) the part of each new entry's window it does not hold;
 *  - this batch's own members are added as they are assigned, and the watermark moves past their
 *    seqs without reading them back; if the transaction does not commit, the languages it touched
 *    are dropped (the session's afterEnd), so no member that never existed stays;
 *  - a truncate of story_members bumps a counter read with every sync: a change drops the whole
 *    index (tests truncate with `restart identity`, so entry ids come back with other texts).
 * Within one process, transactions of one language take turns in memory too (taken before the
 * advisory lock, released once the transaction's end is known): the database's lock is released at
 * commit, and the next holder must not read the index before the previous one has said whether its
 * additions are real.
 * Members deleted later (retention, a feed removed) stay until found: the story-id read of the
 * matches leaves them out and kills them in the index. Until then such a member can take one of a
 * key's NEAREST_PER_SIDE places, as its bucket rows did before (they had no foreign key).
 */

/** Members held per language before the index shrinks around the latest batch. */
const MAX_MEMBERS = 250_000;
/** What a shrink keeps, so the next ones are far off. */
const KEEP_MEMBERS = 200_000;
/**
 * Members older than a batch's earliest window by this many windows are dropped once they are a
 * quarter of the index (and at least MIN_TRIM): a worker running for weeks holds its recent windows,
 * not every day since it started. A late report of such a time loads its window again.
 */
const KEEP_WINDOWS_BEFORE = 2;
const MIN_TRIM = 10_000;

interface LanguageIndex {
  index: WindowIndex;
  /** Highest seq of the language read or written; null until the index holds anything. */
  watermark: number | null;
}

/** One database's indexes in this process. */
class DatabaseIndexes {
  truncations: number | null = null;
  languages = new Map<string, LanguageIndex>();
  private turns = new Map<string, { holder: TransactionSession; waiting: Array<() => void> }>();
  private held = new WeakMap<TransactionSession, Set<string>>();

  language(lang: string): LanguageIndex {
    let l = this.languages.get(lang);
    if (!l) this.languages.set(lang, (l = { index: new WindowIndex(lang), watermark: null }));
    return l;
  }

  /** Waits for the languages (sorted, as the advisory locks are taken) until the session ends. */
  async take(session: TransactionSession, langs: readonly string[]): Promise<void> {
    let mine = this.held.get(session);
    if (!mine) {
      this.held.set(session, (mine = new Set()));
      session.afterEnd((committed) => this.end(session, committed));
    }
    for (const lang of langs) {
      if (mine.has(lang)) continue;
      const turn = this.turns.get(lang);
      if (!turn) this.turns.set(lang, { holder: session, waiting: [] });
      else {
        await new Promise<void>((resume) => turn.waiting.push(resume));
        turn.holder = session;
      }
      mine.add(lang);
    }
  }

  private end(session: TransactionSession, committed: boolean): void {
    for (const lang of this.held.get(session) ?? []) {
      // Members of an uncommitted batch may be in it: read the language again next time.
      if (!committed) this.languages.delete(lang);
      const turn = this.turns.get(lang)!;
      const next = turn.waiting.shift();
      if (next) next();
      else this.turns.delete(lang);
    }
    this.held.delete(session);
  }
}

const indexes = new WeakMap<Db, DatabaseIndexes>();

/** The story index for one batch of one transaction, holding the batch's languages. */
export interface BatchIndex {
  indexOf(lang: string): WindowIndex;
  /** After the batch's members are written under the locks: their seqs need not be read back. */
  written(seqs: ReadonlyMap<string, number>): void;
}

/**
 * Syncs the index of `tx`'s database for entries of these languages and times, taking the
 * languages' advisory locks (lock) once this process's other transactions of them have ended.
 * A handle without a session (a wrapper of a transaction) gets an index of its own for this batch.
 */
export async function syncStoryIndex(
  tx: Queryable,
  entries: ReadonlyArray<{ lang: string; at: number }>,
  windowMs: number,
  lock: (langs: readonly string[]) => Promise<void>,
): Promise<BatchIndex> {
  const langs = [...new Set(entries.map((e) => e.lang))].sort();
  const session = tx.session;
  let db: DatabaseIndexes;
  if (session) {
    db = indexes.get(session.db) ?? new DatabaseIndexes();
    indexes.set(session.db, db);
    await db.take(session, langs);
  } else db = new DatabaseIndexes();
  await lock(langs);

  for (;;) {
    const asked: Array<{ lang: string; watermark: number | null }> = [];
    const held: IndexInterval[] = [];
    const load: IndexInterval[] = [];
    for (const lang of langs) {
      const l = db.language(lang);
      asked.push({ lang, watermark: l.watermark });
      for (const iv of l.index.intervals) held.push({ lang, ...iv });
      for (const need of windows(entries.filter((e) => e.lang === lang).map((e) => e.at), windowMs)) {
        for (const m of l.index.missing(need.lo, need.hi)) load.push({ lang, ...m });
      }
    }
    const read = await readStoryIndexRows(tx, asked, held, load);
    if (db.truncations !== null && read.truncations !== db.truncations) {
      // Another table's contents: what was asked for was relative to an index of it. Start over.
      db.truncations = read.truncations;
      db.languages.clear();
      continue;
    }
    db.truncations = read.truncations;
    for (const row of read.rows) db.language(row.lang).index.add(row.entryId, row.at, decodeFeatureVector(row.features));
    for (const iv of load) db.language(iv.lang).index.cover(iv.lo, iv.hi);
    for (const lang of langs) {
      const l = db.language(lang);
      l.watermark = read.seqs.get(lang) ?? 0;
      const ats = entries.filter((e) => e.lang === lang).map((e) => e.at);
      if (l.index.size > MAX_MEMBERS) shrink(l.index, ats, windowMs);
      else trimOld(l.index, Math.min(...ats) - windowMs * (1 + KEEP_WINDOWS_BEFORE));
    }
    // This batch's languages as synced: a truncate seen meanwhile by a transaction of other
    // languages clears the map, and must not hand this batch an empty index.
    const mine = new Map(langs.map((lang) => [lang, db.language(lang)]));
    return {
      indexOf: (lang) => mine.get(lang)!.index,
      written(seqs) {
        for (const [lang, seq] of seqs) mine.get(lang)!.watermark = seq;
      },
    };
  }
}

/** The union of the entries' windows [at − window, at + window], as few [lo, hi) intervals. */
function windows(ats: readonly number[], windowMs: number): Interval[] {
  const out: Interval[] = [];
  for (const at of [...ats].sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && at - windowMs <= last.hi) last.hi = at + windowMs + 1;
    else out.push({ lo: at - windowMs, hi: at + windowMs + 1 });
  }
  return out;
}

/** Drops the members before `floor` when they are many (a rebuild: not for a few). */
function trimOld(index: WindowIndex, floor: number): void {
  const first = index.intervals[0];
  if (!first || first.lo >= floor) return;
  if (index.countBefore(floor) >= Math.max(MIN_TRIM, index.size / 4)) index.retain(floor, Infinity);
}

/** Keeps the KEEP_MEMBERS members nearest to the batch's windows (never fewer than those in them). */
function shrink(index: WindowIndex, ats: readonly number[], windowMs: number): void {
  const lo = Math.min(...ats) - windowMs;
  const hi = Math.max(...ats) + windowMs + 1;
  const distances = index.times().map((t) => (t < lo ? lo - t : t >= hi ? t - hi + 1 : 0)).sort();
  const radius = distances[Math.min(KEEP_MEMBERS, distances.length) - 1]!;
  index.retain(lo - radius, hi + radius);
}
