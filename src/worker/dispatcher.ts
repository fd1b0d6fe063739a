import type { HostGate } from './host-gate.ts';

/**
 * Runs claimed work with a global concurrency bound and the per-host gate. Unlike a plain pool, it
 * starts the first queued item whose host is free, so one slow or crowded host never holds every
 * slot while others wait. When every queued item waits for its host (spacing, per-host limit), it
 * claims further ahead, up to `maxQueued`, so free slots find work on other hosts.
 */
export interface DispatchOptions<T> {
  concurrency: number;
  gate: HostGate;
  hostOf(item: T): string;
  work(item: T): Promise<void>;
  /** Asked for more items when the queue runs low; an empty answer means there are no more. */
  refill(): Promise<T[]>;
  /** How far ahead to claim while every queued item waits for its host. */
  maxQueued: number;
  /** Items queued longer than this are handed back (their lease would run out while they wait). */
  maxQueuedMs: number;
  /** Items whose host is paused for longer than `maxWaitMs` are handed back instead of waited for. */
  maxWaitMs: number;
  /** Hands items back, to be polled again from `untilMs` on. */
  defer(items: T[], untilMs: number): Promise<void>;
  /** Checked between starts: when true, nothing new starts and queued items are handed to `abandon`. */
  shouldStop(): boolean;
  abandon(items: T[]): Promise<void>;
}

interface Queued<T> {
  item: T;
  host: string;
  since: number;
}

export async function dispatch<T>(o: DispatchOptions<T>): Promise<void> {
  let queue: Queued<T>[] = [];
  const running = new Set<Promise<void>>();
  let exhausted = false;
  let wake: () => void = () => undefined;

  const refill = async () => {
    const more = await o.refill();
    if (more.length === 0) exhausted = true;
    const now = Date.now();
    for (const item of more) queue.push({ item, host: o.hostOf(item), since: now });
  };
  const handBack = async (leaving: Queued<T>[], untilMs: number) => {
    if (leaving.length === 0) return;
    const gone = new Set(leaving);
    queue = queue.filter((q) => !gone.has(q));
    await o.defer(leaving.map((q) => q.item), untilMs);
  };
  const start = (q: Queued<T>) => {
    o.gate.start(q.host);
    const p: Promise<void> = o
      .work(q.item)
      .catch(() => undefined)
      .finally(() => {
        o.gate.finish(q.host);
        running.delete(p);
        wake();
      });
    running.add(p);
  };

  for (;;) {
    if (o.shouldStop()) {
      if (queue.length > 0) await o.abandon(queue.splice(0).map((q) => q.item));
      break;
    }
    if (!exhausted && queue.length < o.concurrency) await refill();

    const now = Date.now();
    await handBack(queue.filter((q) => now - q.since > o.maxQueuedMs), now);

    let started = false;
    let minWait = Number.POSITIVE_INFINITY;
    const paused = new Map<string, number>();
    for (let i = 0; i < queue.length && running.size < o.concurrency; ) {
      const q = queue[i] as Queued<T>;
      const wait = o.gate.waitFor(q.host);
      if (wait === 0) {
        queue.splice(i, 1);
        start(q);
        started = true;
        continue;
      }
      const pausedUntil = o.gate.pausedUntil(q.host);
      if (Number.isFinite(wait) && wait > o.maxWaitMs && pausedUntil > now) paused.set(q.host, pausedUntil);
      minWait = Math.min(minWait, wait);
      i++;
    }
    for (const [host, until] of paused) await handBack(queue.filter((q) => q.host === host), until);

    if (queue.length === 0 && exhausted && running.size === 0) break;
    if (started && running.size < o.concurrency) continue;
    // Free slots, but every queued item waits for its host: look further ahead for other hosts.
    if (!started && running.size < o.concurrency && !exhausted && queue.length < o.maxQueued) {
      await refill();
      continue;
    }
    // Wait for a slot to free up or for the earliest host spacing to pass; the timer also covers
    // hosts kept busy by work outside this dispatch (a refresh from the API shares the gate).
    let oldest = Number.POSITIVE_INFINITY;
    for (const q of queue) oldest = Math.min(oldest, q.since);
    const waitMs = Math.min(Number.isFinite(minWait) ? minWait : 250, oldest + o.maxQueuedMs - Date.now() + 1);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, Math.max(1, waitMs)).unref();
    });
    wake = () => undefined;
  }
  await Promise.all(running);
}
