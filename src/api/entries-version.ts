import type { Queryable } from '../store/db.ts';
import { entriesVersion } from '../store/entry-queries.ts';
import { localChangeCount } from '../store/change-seq.ts';

/**
 * How old a version read may be and still answer a hot read (recentEntriesVersion). The strict
 * read shares one round trip between the requests that queue during the previous one, but under
 * load that is still one database round trip per handful of requests: measured, the largest part
 * of a 304's or a cached body's cost (README, Performance, Serving). 10 ms was tried first: on a
 * loaded machine a round trip itself takes longer than that, so almost no read was reused. A read
 * reused for 100 ms costs one round trip per tenth of a second whatever the request rate.
 * What it gives up: a change committed by another process (a separate worker, a CLI command) may
 * show up to 100 ms later; the merged feeds tell caches to keep them 60 s anyway. This process's
 * own changes are seen at once (localChangeCount).
 */
export const RECENT_VERSION_MS = 100;

/**
 * The entries version for conditional and cached responses, read at most once at a time per
 * database. Every caller gets a value read by a query that started after the caller asked, so a
 * client that wrote and then reads always sees its write; callers that arrive while a read is in
 * flight share the next read. Under load one round trip answers every request that queued during
 * the previous one, instead of one round trip per request.
 */
class VersionReader {
  private inFlight: Promise<string> | null = null;
  private next: Promise<string> | null = null;
  /** The newest completed read: its value, when it started, and this process's change count then. */
  private last: { value: string; startedAt: number; changes: number } | null = null;

  constructor(private readonly db: Queryable) {}

  /** A read that started at most `maxAgeMs` ago with no local change since, else read(). */
  recent(maxAgeMs: number): Promise<string> | string {
    const l = this.last;
    if (l && performance.now() - l.startedAt <= maxAgeMs && l.changes === localChangeCount()) return l.value;
    return this.read();
  }

  read(): Promise<string> {
    if (!this.inFlight) return this.start();
    // A read is running but started before this call: wait for it, then share the one after it.
    if (!this.next) {
      this.next = this.inFlight.then(
        () => this.start(),
        () => this.start(),
      );
      // Awaited by its callers; this only keeps a rejection from being reported as unhandled.
      this.next.catch(() => undefined);
    }
    return this.next;
  }

  private start(): Promise<string> {
    this.next = null;
    const startedAt = performance.now();
    const changes = localChangeCount();
    const p = entriesVersion(this.db).finally(() => {
      if (this.inFlight === p) this.inFlight = null;
    });
    p.then(
      (value) => {
        if (!this.last || this.last.startedAt < startedAt) this.last = { value, startedAt, changes };
      },
      () => undefined,
    );
    this.inFlight = p;
    return p;
  }
}

const readers = new WeakMap<Queryable, VersionReader>();

function readerFor(db: Queryable): VersionReader {
  let r = readers.get(db);
  if (!r) {
    r = new VersionReader(db);
    readers.set(db, r);
  }
  return r;
}

/** The current entries version, sharing reads between concurrent callers (see VersionReader). */
export function currentEntriesVersion(db: Queryable): Promise<string> {
  return readerFor(db).read();
}

/**
 * The entries version as of at most RECENT_VERSION_MS ago (or this process's last change), for the
 * hot conditional and cached reads: the merged feeds and /api/items. A value when one is at hand,
 * so a hit costs no promise.
 */
export function recentEntriesVersion(db: Queryable, maxAgeMs = RECENT_VERSION_MS): Promise<string> | string {
  return readerFor(db).recent(maxAgeMs);
}
