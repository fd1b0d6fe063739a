/**
 * WebSub publisher: after new entries are committed, tells WEBSUB_HUB which merged-feed topics
 * changed (`hub.mode=publish`, `hub.url=<topic>`).
 *
 * Debounced per topic across every process: a topic marked changed is pinged only when this
 * process wins its slot in websub_pings (a conditional upsert: at most one ping per topic per
 * WEBSUB_PING_INTERVAL). A topic that loses stays marked and is tried again when the interval has
 * passed, so the last change is always announced. A failed ping is retried with exponential
 * backoff. Nothing here ever blocks or fails a poll: `changed` only marks topics in memory.
 */
import type { Db } from '../store/db.ts';
import { claimPingSlots } from '../store/websub.ts';
import type { Logger } from '../observability/logger.ts';
import type { HubClient } from './hub-client.ts';
import { changedTopics } from './topics.ts';

export interface HubPublisher {
  /** Entries of feeds of these regions were committed (null: a feed without a region). */
  changed(regions: Iterable<string | null>): void;
  /** Pings what is due now; resolves when those pings (and their retries) are done. */
  flush(): Promise<void>;
  /** Announces what is still due (one attempt each), then stops. */
  close(): Promise<void>;
}

export interface PublisherOptions {
  db: Db;
  hub: string;
  publicUrl: string;
  client: Pick<HubClient, 'post'>;
  logger: Logger;
  intervalSeconds: number;
  /** First retry delay; doubled per attempt. */
  retryBaseMs?: number;
  maxAttempts?: number;
  now?: () => Date;
  /** false: no timers (tests drive flush() themselves). */
  autoFlush?: boolean;
}

export function createPublisher(o: PublisherOptions): HubPublisher {
  const now = o.now ?? (() => new Date());
  const retryBaseMs = o.retryBaseMs ?? 1000;
  const maxAttempts = o.maxAttempts ?? 5;
  const autoFlush = o.autoFlush ?? true;
  const dirty = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const schedule = (ms: number) => {
    if (!autoFlush || closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void claim();
    }, ms);
    timer.unref();
  };

  const ping = async (topic: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const answer = await o.client.post(o.hub, { 'hub.mode': 'publish', 'hub.url': topic });
      if (answer.ok) return;
      if (attempt >= maxAttempts || closed) {
        o.logger.warn({ hub: o.hub, topic, error: answer.error, attempts: attempt }, 'WebSub ping failed; giving up until the next change');
        return;
      }
      await new Promise((r) => setTimeout(r, retryBaseMs * 2 ** (attempt - 1)).unref());
    }
  };

  /** Claims the slots of the changed topics and starts their pings (not awaited). */
  const claimAndPing = async (): Promise<void> => {
    if (dirty.size === 0 || closed) return;
    const topics = [...dirty].sort();
    let won: string[];
    try {
      won = await claimPingSlots(o.db, topics, now(), o.intervalSeconds);
    } catch (err) {
      o.logger.warn({ err: (err as Error).message }, 'WebSub ping debounce unavailable; retrying');
      schedule(o.intervalSeconds * 1000);
      return;
    }
    for (const t of won) dirty.delete(t);
    // Topics another ping (here or in another process) announced recently: once its interval is over.
    if (dirty.size > 0) schedule(o.intervalSeconds * 1000);
    for (const topic of won) {
      const p = ping(topic).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  };

  // One claim at a time in this process; a change marked meanwhile is claimed right after.
  let claiming: Promise<void> | null = null;
  let again = false;
  const claim = (): Promise<void> => {
    if (claiming) {
      again = true;
      return claiming;
    }
    claiming = (async () => {
      do {
        again = false;
        await claimAndPing();
      } while (again && !closed);
    })().finally(() => (claiming = null));
    return claiming;
  };

  const flush = async (): Promise<void> => {
    await claim();
    await Promise.allSettled([...inFlight]);
  };

  return {
    changed(regions) {
      if (closed) return;
      for (const t of changedTopics(o.publicUrl, regions)) dirty.add(t);
      // Soon, not at once: a poll run commits many feeds in a burst; one flush announces them all.
      schedule(50);
    },
    flush,
    async close() {
      if (timer) clearTimeout(timer);
      timer = null;
      // A short-lived process (`poll --once`) still announces what it committed; failures are not retried.
      await claim().catch(() => undefined);
      closed = true;
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
