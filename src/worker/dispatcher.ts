import type { HostGate } from './host-gate.ts';

/**
 * Runs claimed work with a global concurrency bound and the per-host gate. Unlike a plain pool, it
 * starts the first queued item whose host is free, so one slow or crowded host never holds every
 * slot while others wait. When every queued item waits for its host (spacing, per-host limit), it
 * claims further ahead, but never holds more than `maxClaimed` items (queued and running): a process
 * that dies (kill -9) orphans at most that many until their leases run out.
 */
export interface DispatchOptions<T> {
  concurrency: number;
  gate: HostGate;
  hostOf(item: T): string;
  /**
   * Polls one item. `release` (optional, once) frees its slot and its host before the promise ends:
   * for work whose network part is over and that holds nothing large while it records its outcome
   * (a 304 waiting for its group-committed write), so the next fetch need not wait for the database.
   */
  work(item: T, release: () => void): Promise<void>;
  /** Asked for at most `limit` more items when the queue runs low; an empty answer means there are no more. */
  refill(limit: number): Promise<T[]>;
  /** Most items held at once, queued plus running (at least `concurrency`). */
  maxClaimed: number;
  /** Items kept waiting for their host longer than this are handed back, so another process may take them. */
  maxQueuedMs: number;
  /** Items whose host is paused for longer than `maxWaitMs` are handed back instead of waited for. */
  maxWaitMs: number;
  /** Hands items back, to be polled again from `untilMs` on (their host is paused, or they waited too long). */
  defer(items: T[], untilMs: number, reason: 'host-paused' | 'waited-too-long'): Promise<void>;
  /**
   * Extends the leases of every held item (queued and running) every `renewEveryMs`; answers the
   * items still held, so a queued item whose lease was lost is dropped. Failures are ignored (the
   * leases then run out, and the finishing statements see it).
   */
  renew?(items: T[]): Promise<T[]>;
  renewEveryMs?: number;
  /** Checked between starts: when true, nothing new starts and queued items are handed to `abandon`. */
  shouldStop(): boolean;
  abandon(items: T[]): Promise<void>;
}

interface Queued<T> {
  item: T;
  host: string;
  since: number;
}

/** Resolves when every started item has finished; rejects (after they finished) if a refill failed. */
export async function dispatch<T>(o: DispatchOptions<T>): Promise<void> {
  let queue: Queued<T>[] = [];
  // Every started item until its work ends (leases are renewed, the run waits for them), and the
  // items holding a slot: started and not yet released.
  const running = new Map<Promise<void>, T>();
  let slotsTaken = 0;
  let exhausted = false;
  let wake: () => void = () => undefined;
  let lastRenew = Date.now();
  const renewEveryMs = o.renewEveryMs ?? Number.POSITIVE_INFINITY;

  const held = () => queue.length + running.size;
  const refill = async () => {
    const limit = o.maxClaimed - held();
    if (limit <= 0) return;
    const more = await o.refill(limit);
    if (more.length === 0) exhausted = true;
    const now = Date.now();
    for (const item of more) queue.push({ item, host: o.hostOf(item), since: now });
  };
  const handBack = async (leaving: Queued<T>[], untilMs: number, reason: 'host-paused' | 'waited-too-long') => {
    if (leaving.length === 0) return;
    const gone = new Set(leaving);
    queue = queue.filter((q) => !gone.has(q));
    await o.defer(leaving.map((q) => q.item), untilMs, reason);
  };
  const renew = async () => {
    lastRenew = Date.now();
    if (!o.renew || held() === 0) return;
    const still = await o.renew([...queue.map((q) => q.item), ...running.values()]).catch(() => null);
    if (still) {
      const keep = new Set(still);
      queue = queue.filter((q) => keep.has(q.item));
    }
  };
  const start = (q: Queued<T>) => {
    o.gate.start(q.host);
    slotsTaken++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      o.gate.finish(q.host);
      slotsTaken--;
      wake();
    };
    const p: Promise<void> = o
      .work(q.item, release)
      .catch(() => undefined)
      .finally(() => {
        release();
        running.delete(p);
        wake();
      });
    running.set(p, q.item);
  };

  try {
    for (;;) {
      if (o.shouldStop()) {
        if (queue.length > 0) await o.abandon(queue.splice(0).map((q) => q.item));
        break;
      }
      if (Date.now() - lastRenew >= renewEveryMs) await renew();
      if (!exhausted && queue.length < o.concurrency) await refill();

      const now = Date.now();
      let started = false;
      let minWait = Number.POSITIVE_INFINITY;
      let oldestWaiting = Number.POSITIVE_INFINITY; // of the items kept waiting for their host
      const paused = new Map<string, number>();
      const waitedTooLong: Queued<T>[] = [];
      for (let i = 0; i < queue.length && slotsTaken < o.concurrency; ) {
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
        else if (now - q.since > o.maxQueuedMs) waitedTooLong.push(q);
        else oldestWaiting = Math.min(oldestWaiting, q.since);
        minWait = Math.min(minWait, wait);
        i++;
      }
      for (const [host, until] of paused) await handBack(queue.filter((q) => q.host === host), until, 'host-paused');
      await handBack(waitedTooLong, now, 'waited-too-long');

      if (queue.length === 0 && exhausted && running.size === 0) break;
      if (started && slotsTaken < o.concurrency) continue;
      // Free slots, but every queued item waits for its host: look further ahead for other hosts.
      if (!started && slotsTaken < o.concurrency && !exhausted && held() < o.maxClaimed) {
        await refill();
        continue;
      }
      // Wait for a slot to free up, the earliest host spacing to pass, the next lease renewal, or an
      // item to wait too long; the timer also covers hosts kept busy by work outside this dispatch
      // (a refresh from the API shares the gate).
      const waitMs = Math.min(
        Number.isFinite(minWait) ? minWait : 250,
        oldestWaiting + o.maxQueuedMs - Date.now() + 1,
        lastRenew + renewEveryMs - Date.now(),
      );
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(1, waitMs)).unref();
      });
      wake = () => undefined;
    }
  } catch (err) {
    // A refill or hand-back failed (database unreachable): start nothing more, hand back what is
    // queued if possible (else its leases run out), and let running work finish before reporting.
    if (queue.length > 0) await o.abandon(queue.splice(0).map((q) => q.item)).catch(() => undefined);
    await settle(running, () => renew(), renewEveryMs);
    throw err;
  }
  await settle(running, () => renew(), renewEveryMs);
}

/** Waits for running work, still renewing its leases. */
async function settle<T>(running: Map<Promise<void>, T>, renew: () => Promise<void>, everyMs: number): Promise<void> {
  while (running.size > 0) {
    const tick = Number.isFinite(everyMs) ? new Promise((r) => setTimeout(r, everyMs).unref()) : new Promise(() => undefined);
    const ended = await Promise.race([Promise.all(running.keys()).then(() => true), tick.then(() => false)]);
    if (ended) return;
    await renew();
  }
}
