/**
 * Group commit: callers hand in one write each and wait for its result; the writes are flushed
 * together, one set-based call for all of them. While `maxInFlight` flushes are running the next
 * writes gather, and go as one call when one returns, so under load a batch is whatever arrived
 * during a round trip, and an idle poller adds no delay (a lone write goes at the end of the
 * current turn).
 */
export type GroupCommit<I, R> = (item: I) => Promise<R>;

/** `flush` answers one result per item, in order; if it throws, every item of that batch fails with it. */
export function groupCommit<I, R>(flush: (items: I[]) => Promise<R[]>, maxBatch: number, maxInFlight = 1): GroupCommit<I, R> {
  let pending: Array<{ item: I; resolve(r: R): void; reject(e: unknown): void }> = [];
  const inFlight = new Set<Promise<void>>();
  let scheduled = false;

  const run = (): void => {
    scheduled = false;
    while (inFlight.size < maxInFlight && pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      const p: Promise<void> = flush(batch.map((b) => b.item))
        .then(
          (results) => batch.forEach((b, i) => b.resolve(results[i] as R)),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          inFlight.delete(p);
          run();
        });
      inFlight.add(p);
    }
  };

  return (item: I) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (inFlight.size < maxInFlight && !scheduled) {
        scheduled = true;
        setImmediate(run);
      }
    });
}
