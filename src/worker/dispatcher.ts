import type { HostGate } from './host-gate.ts';

/**
 * Runs claimed work with a global concurrency bound and the per-host gate. Unlike a plain pool, it
 * starts the first queued item whose host is free, so one slow or crowded host never holds every
 * slot while others wait.
 */
export interface DispatchOptions<T> {
  concurrency: number;
  gate: HostGate;
  hostOf(item: T): string;
  work(item: T): Promise<void>;
  /** Asked for more items when the queue runs low; an empty answer means there are no more. */
  refill(): Promise<T[]>;
  /** Items whose host is paused for longer than `maxWaitMs` are handed back instead of waited for. */
  maxWaitMs: number;
  defer(items: T[], untilMs: number): Promise<void>;
  /** Checked between starts: when true, nothing new starts and queued items are handed to `abandon`. */
  shouldStop(): boolean;
  abandon(items: T[]): Promise<void>;
}

export async function dispatch<T>(o: DispatchOptions<T>): Promise<void> {
  const queue: T[] = [];
  const running = new Set<Promise<void>>();
  let exhausted = false;
  let wake: () => void = () => undefined;

  for (;;) {
    if (o.shouldStop()) {
      if (queue.length > 0) await o.abandon(queue.splice(0));
      break;
    }
    if (!exhausted && queue.length < o.concurrency) {
      const more = await o.refill();
      if (more.length === 0) exhausted = true;
      else queue.push(...more);
    }
    let started = false;
    let minWait = Number.POSITIVE_INFINITY;
    for (let i = 0; i < queue.length && running.size < o.concurrency; ) {
      const item = queue[i] as T;
      const host = o.hostOf(item);
      const wait = o.gate.waitFor(host);
      if (wait === 0) {
        queue.splice(i, 1);
        o.gate.start(host);
        const p: Promise<void> = o
          .work(item)
          .catch(() => undefined)
          .finally(() => {
            o.gate.finish(host);
            running.delete(p);
            wake();
          });
        running.add(p);
        started = true;
        continue;
      }
      const paused = o.gate.pausedUntil(host);
      if (Number.isFinite(wait) && wait > o.maxWaitMs && paused > Date.now()) {
        const sameHost = queue.filter((q) => o.hostOf(q) === host);
        for (let j = queue.length - 1; j >= 0; j--) if (o.hostOf(queue[j] as T) === host) queue.splice(j, 1);
        await o.defer(sameHost, paused);
        continue;
      }
      minWait = Math.min(minWait, wait);
      i++;
    }
    if (queue.length === 0 && exhausted && running.size === 0) break;
    if (started && running.size < o.concurrency) continue;
    // Wait for a slot to free up or for the earliest host spacing to pass; the timer also covers
    // hosts kept busy by work outside this dispatch (a refresh from the API shares the gate).
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, Number.isFinite(minWait) ? Math.max(1, minWait) : 250).unref();
    });
    wake = () => undefined;
  }
  await Promise.all(running);
}
