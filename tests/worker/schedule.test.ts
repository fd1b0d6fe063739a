import { describe, expect, it } from 'vitest';
import { errorBackoffSeconds, intervalFromPublishingRate, respectPublisherHints, withJitter } from '../../src/worker/schedule.ts';
import { HostGate } from '../../src/worker/host-gate.ts';
import { dispatch } from '../../src/worker/dispatcher.ts';

const bounds = { minSeconds: 300, maxSeconds: 6 * 3600 };
const now = new Date('2024-05-08T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3600_000).toISOString();

describe('poll interval from the publishing rate', () => {
  it('is 7 days / entries of the last week, clamped to [min, max]', () => {
    // 84 entries in a week: one every 2 hours.
    const busy = Array.from({ length: 84 }, (_, i) => hoursAgo(i * 2));
    expect(intervalFromPublishingRate(busy, now, bounds)).toBe(7200);
    // 10,000 entries a week would mean every minute: clamped to the 5 min minimum.
    expect(intervalFromPublishingRate(Array.from({ length: 10_000 }, () => hoursAgo(1)), now, bounds)).toBe(300);
    // One entry a week: clamped to the maximum.
    expect(intervalFromPublishingRate([hoursAgo(30)], now, bounds)).toBe(6 * 3600);
  });

  it('ignores old, undated and far-future entries', () => {
    expect(intervalFromPublishingRate([null, hoursAgo(24 * 30), hoursAgo(-48)], now, bounds)).toBe(6 * 3600);
  });

  it('is never sooner than the publisher asks, but capped by the maximum', () => {
    expect(respectPublisherHints(600, [3600, null], bounds)).toBe(3600);
    expect(respectPublisherHints(600, [86400 * 7], bounds)).toBe(6 * 3600);
    expect(respectPublisherHints(7200, [60], bounds)).toBe(7200);
  });

  it('adds up to 10% jitter, never less', () => {
    expect(withJitter(1000, () => 0)).toBe(1000);
    expect(withJitter(1000, () => 0.999)).toBe(1100);
  });
});

describe('error backoff', () => {
  it('doubles from the minimum up to the maximum, and keeps retrying there', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => errorBackoffSeconds(n, bounds, mid))).toEqual([
      300, 600, 1200, 2400, 4800, 9600, 19200, 21600, 21600,
    ]);
  });

  it('jitters ±10% within the maximum', () => {
    expect(errorBackoffSeconds(1, bounds, () => 0)).toBe(270);
    expect(errorBackoffSeconds(1, bounds, () => 1)).toBe(330);
    expect(errorBackoffSeconds(20, bounds, () => 1)).toBe(21600);
  });
});

describe('host gate and dispatcher', () => {
  it('never runs more than perHost requests to one host, nor more than the global bound', async () => {
    const gate = new HostGate({ perHost: 2, spacingMs: 0 });
    const items = Array.from({ length: 40 }, (_, i) => ({ id: i, host: `h${i % 4}` }));
    let queue = [...items];
    const inFlight = new Map<string, number>();
    let total = 0;
    let maxTotal = 0;
    let maxPerHost = 0;
    const done: number[] = [];
    await dispatch({
      concurrency: 5,
      gate,
      hostOf: (x) => x.host,
      maxWaitMs: 5000,
      maxClaimed: 100,
      maxQueuedMs: 60_000,
      shouldStop: () => false,
      refill: async () => queue.splice(0, 7),
      defer: async () => undefined,
      abandon: async () => undefined,
      work: async (x) => {
        inFlight.set(x.host, (inFlight.get(x.host) ?? 0) + 1);
        total++;
        maxTotal = Math.max(maxTotal, total);
        maxPerHost = Math.max(maxPerHost, inFlight.get(x.host)!);
        await new Promise((r) => setTimeout(r, 5));
        inFlight.set(x.host, inFlight.get(x.host)! - 1);
        total--;
        done.push(x.id);
      },
    });
    expect(done.sort((a, b) => a - b)).toEqual(items.map((i) => i.id));
    expect(maxPerHost).toBe(2);
    expect(maxTotal).toBe(5);
    queue = [];
  });

  it('keeps the minimum spacing between request starts to one host', async () => {
    const gate = new HostGate({ perHost: 5, spacingMs: 40 });
    const starts: number[] = [];
    const queue = Array.from({ length: 5 }, (_, i) => i);
    await dispatch({
      concurrency: 5,
      gate,
      hostOf: () => 'one.example',
      maxWaitMs: 5000,
      maxClaimed: 100,
      maxQueuedMs: 60_000,
      shouldStop: () => false,
      refill: async () => queue.splice(0),
      defer: async () => undefined,
      abandon: async () => undefined,
      work: async () => {
        starts.push(Date.now());
      },
    });
    expect(starts).toHaveLength(5);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(38);
  });

  it('hands back the items of a paused host instead of waiting, and runs the others', async () => {
    const gate = new HostGate({ perHost: 2, spacingMs: 0 });
    gate.pause('slow.example', Date.now() + 60_000);
    const queue = [
      { id: 1, host: 'slow.example' },
      { id: 2, host: 'fast.example' },
      { id: 3, host: 'slow.example' },
    ];
    const ran: number[] = [];
    const deferred: number[] = [];
    await dispatch({
      concurrency: 2,
      gate,
      hostOf: (x) => x.host,
      maxWaitMs: 1000,
      maxClaimed: 100,
      maxQueuedMs: 60_000,
      shouldStop: () => false,
      refill: async () => queue.splice(0),
      defer: async (xs) => {
        deferred.push(...xs.map((x) => x.id));
      },
      abandon: async () => undefined,
      work: async (x) => {
        ran.push(x.id);
      },
    });
    expect(ran).toEqual([2]);
    expect(deferred.sort()).toEqual([1, 3]);
  });
});

describe('dispatcher look-ahead', () => {
  it('claims further ahead when every queued item waits for its host, so free slots find other hosts', async () => {
    const gate = new HostGate({ perHost: 1, spacingMs: 10_000 });
    // Batches of 4 on one crowded host, then items on other hosts.
    const batches = [
      Array.from({ length: 4 }, (_, i) => ({ id: i, host: 'crowded.example' })),
      Array.from({ length: 4 }, (_, i) => ({ id: 10 + i, host: `other${i}.example` })),
    ];
    const ran: number[] = [];
    const handedBack: number[] = [];
    await dispatch({
      concurrency: 4,
      gate,
      hostOf: (x) => x.host,
      maxWaitMs: 60_000,
      maxClaimed: 50,
      maxQueuedMs: 300,
      shouldStop: () => false,
      refill: async () => batches.shift() ?? [],
      defer: async (xs) => {
        handedBack.push(...xs.map((x) => x.id));
      },
      abandon: async () => undefined,
      work: async (x) => {
        ran.push(x.id);
      },
    });
    // One request to the crowded host (spacing 10 s), all four others, and the crowded host's
    // remaining items handed back once they had waited longer than maxQueuedMs.
    expect(ran.sort((a, b) => a - b)).toEqual([0, 10, 11, 12, 13]);
    expect(handedBack.sort((a, b) => a - b)).toEqual([1, 2, 3]);
  });
});

describe('dispatcher: bounded claims, lease renewal, a failing refill', () => {
  it('never holds more than maxClaimed items (queued and running), asking each refill for no more than the room left', async () => {
    const gate = new HostGate({ perHost: 10, spacingMs: 0 });
    const source = Array.from({ length: 40 }, (_, i) => ({ id: i, host: `h${i % 8}` }));
    let held = 0;
    let maxHeld = 0;
    const asked: number[] = [];
    await dispatch<{ id: number; host: string }>({
      concurrency: 3,
      gate,
      hostOf: (x) => x.host,
      maxWaitMs: 5000,
      maxClaimed: 6,
      maxQueuedMs: 60_000,
      shouldStop: () => false,
      refill: async (limit) => {
        asked.push(limit);
        const more = source.splice(0, Math.min(limit, 50));
        held += more.length;
        maxHeld = Math.max(maxHeld, held);
        return more;
      },
      defer: async () => undefined,
      abandon: async () => undefined,
      work: async () => {
        await new Promise((r) => setTimeout(r, 3));
        held--;
      },
    });
    expect(source).toHaveLength(0);
    expect(maxHeld).toBe(6);
    expect(Math.max(...asked)).toBeLessThanOrEqual(6);
  });

  it('a released item frees its slot and its host while it finishes; the run still waits for it', async () => {
    const gate = new HostGate({ perHost: 1, spacingMs: 0 });
    const source = [{ id: 0, host: 'h' }, { id: 1, host: 'h' }, { id: 2, host: 'h' }];
    const startedAt: number[] = [];
    const finished: number[] = [];
    const t0 = Date.now();
    await dispatch<{ id: number; host: string }>({
      concurrency: 1,
      gate,
      hostOf: (x) => x.host,
      maxWaitMs: 5000,
      maxClaimed: 10,
      maxQueuedMs: 60_000,
      shouldStop: () => false,
      refill: async () => source.splice(0),
      defer: async () => undefined,
      abandon: async () => undefined,
      work: async (item, release) => {
        startedAt.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 10)); // the fetch
        release();
        await new Promise((r) => setTimeout(r, 200)); // recording the outcome
        finished.push(item.id);
      },
    });
    // One slot and one request per host, yet each started once the previous fetch was over, not its write.
    expect(startedAt[2]!).toBeLessThan(150);
    expect(finished.sort()).toEqual([0, 1, 2]);
  });

  it('renews the leases of queued and running items, and drops a queued item whose lease was lost', async () => {
    const gate = new HostGate({ perHost: 1, spacingMs: 0 });
    const batch = [
      { id: 1, host: 'one.example' },
      { id: 2, host: 'one.example' },
      { id: 3, host: 'one.example' },
    ];
    const renewed: number[][] = [];
    const ran: number[] = [];
    await dispatch({
      concurrency: 1,
      gate,
      hostOf: (x) => x.host,
      maxWaitMs: 5000,
      maxClaimed: 10,
      maxQueuedMs: 60_000,
      renewEveryMs: 20,
      // Item 3's lease is gone (another process took it): it must not be polled here.
      renew: async (xs) => {
        renewed.push(xs.map((x) => x.id).sort());
        return xs.filter((x) => x.id !== 3);
      },
      shouldStop: () => false,
      refill: async () => batch.splice(0),
      defer: async () => undefined,
      abandon: async () => undefined,
      work: async (x) => {
        ran.push(x.id);
        await new Promise((r) => setTimeout(r, 80));
      },
    });
    expect(ran).toEqual([1, 2]);
    expect(renewed[0]).toEqual([1, 2, 3]); // the running item and both queued ones
  });

  it('a refill that fails (database gone) starts nothing more, lets running work finish, then rejects', async () => {
    const gate = new HostGate({ perHost: 5, spacingMs: 0 });
    let calls = 0;
    let finished = 0;
    const abandoned: number[] = [];
    const run = dispatch({
      concurrency: 2,
      gate,
      hostOf: () => 'h.example',
      maxWaitMs: 5000,
      maxClaimed: 4,
      maxQueuedMs: 60_000,
      shouldStop: () => false,
      refill: async () => {
        calls++;
        if (calls === 1) return [1, 2, 3];
        throw new Error('Connection terminated unexpectedly');
      },
      defer: async () => undefined,
      abandon: async (xs) => {
        abandoned.push(...xs);
      },
      work: async () => {
        await new Promise((r) => setTimeout(r, 50));
        finished++;
      },
    });
    await expect(run).rejects.toThrow(/Connection terminated/);
    // Two started before the failing refill and finished; the third was queued and handed back.
    expect(finished).toBe(2);
    expect(abandoned).toEqual([3]);
  });
});
