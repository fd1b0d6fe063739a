/**
 * Group commit: callers hand in one write each and wait for its result; the writes are flushed
 * together, one set-based call for all of them. While a flush is in flight the next writes gather,
 * and go as one call when it returns, so under load a batch is whatever arrived during one round
 * trip, and an idle poller adds no delay (a lone write goes at the end of the current turn).
 */
export interface GroupCommit<I, R> {
  (item: I): Promise<R>;
  /** Resolves once everything handed in so far has been written (or failed). */
  drain(): Promise<void>;
}

/** `flush` answers one result per item, in order; if it throws, every item of that batch fails with it. */
export function groupCommit<I, R>(flush: (items: I[]) => Promise<R[]>, maxBatch: number): GroupCommit<I, R> {
  let pending: Array<{ item: I; resolve(r: R): void; reject(e: unknown): void }> = [];
  let inFlight: Promise<void> | null = null;
  let scheduled = false;

  const run = (): void => {
    scheduled = false;
    if (inFlight || pending.length === 0) return;
    const batch = pending.slice(0, maxBatch);
    pending = pending.slice(batch.length);
    inFlight = flush(batch.map((b) => b.item))
      .then(
        (results) => batch.forEach((b, i) => b.resolve(results[i] as R)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        inFlight = null;
        run();
      });
  };

  const add = ((item: I) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (!inFlight && !scheduled) {
        scheduled = true;
        setImmediate(run);
      }
    })) as GroupCommit<I, R>;
  add.drain = async () => {
    while (inFlight || pending.length > 0 || scheduled) await (inFlight ?? new Promise((r) => setImmediate(r)));
  };
  return add;
}
