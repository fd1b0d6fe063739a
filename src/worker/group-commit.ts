/**
 * Group commit: callers hand in one write each and wait for its result; the writes are flushed
 * together, one set-based call for all of them. While `maxInFlight` flushes are running the next
 * writes gather, and go as one call when one returns, so under load a batch is whatever arrived
 * during a round trip, and an idle poller adds no delay (a lone write goes at the end of the
 * current turn).
 *
 * With `keyOf`, a batch holds items of one key only, and a key that no running flush holds goes
 * first: writes that serialise on a per-key lock in the database (stories, per language) then run
 * side by side instead of queueing behind each other.
 */
export type GroupCommit<I, R> = (item: I) => Promise<R>;

/** `flush` answers one result per item, in order; if it throws, every item of that batch fails with it. */
export function groupCommit<I, R>(
  flush: (items: I[]) => Promise<R[]>,
  maxBatch: number,
  maxInFlight = 1,
  keyOf?: (item: I) => string,
): GroupCommit<I, R> {
  type Pending = { item: I; key: string; resolve(r: R): void; reject(e: unknown): void };
  let pending: Pending[] = [];
  const inFlight = new Map<Promise<void>, string>();
  let scheduled = false;

  const nextBatch = (): Pending[] => {
    if (!keyOf) return pending.splice(0, maxBatch);
    const busy = new Set(inFlight.values());
    const key = (pending.find((p) => !busy.has(p.key)) ?? pending[0]!).key;
    const batch: Pending[] = [];
    pending = pending.filter((p) => {
      if (p.key !== key || batch.length >= maxBatch) return true;
      batch.push(p);
      return false;
    });
    return batch;
  };

  const run = (): void => {
    scheduled = false;
    while (inFlight.size < maxInFlight && pending.length > 0) {
      const batch = nextBatch();
      const p: Promise<void> = flush(batch.map((b) => b.item))
        .then(
          (results) => batch.forEach((b, i) => b.resolve(results[i] as R)),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          inFlight.delete(p);
          run();
        });
      inFlight.set(p, batch[0]!.key);
    }
  };

  return (item: I) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, key: keyOf ? keyOf(item) : '', resolve, reject });
      if (inFlight.size < maxInFlight && !scheduled) {
        scheduled = true;
        setImmediate(run);
      }
    });
}
