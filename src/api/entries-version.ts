import type { Queryable } from '../store/db.ts';
import { entriesVersion } from '../store/entry-queries.ts';

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

  constructor(private readonly db: Queryable) {}

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
    const p = entriesVersion(this.db).finally(() => {
      if (this.inFlight === p) this.inFlight = null;
    });
    this.inFlight = p;
    return p;
  }
}

const readers = new WeakMap<Queryable, VersionReader>();

/** The current entries version, sharing reads between concurrent callers (see VersionReader). */
export function currentEntriesVersion(db: Queryable): Promise<string> {
  let r = readers.get(db);
  if (!r) {
    r = new VersionReader(db);
    readers.set(db, r);
  }
  return r.read();
}
