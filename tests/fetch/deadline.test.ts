import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startDeadline } from '../../src/fetch/deadline.ts';

describe('startDeadline', () => {
  it('aborts at the deadline and says it timed out', async () => {
    const d = startDeadline(50);
    expect(d.signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(true);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
    d.dispose();
  });

  it('passes on the caller abort with its reason, not as a timeout', () => {
    const caller = new AbortController();
    const d = startDeadline(10_000, caller.signal);
    const reason = new Error('shutdown');
    caller.abort(reason);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(reason);
    expect(d.timedOut).toBe(false);
    d.dispose();
  });

  it('leaves nothing attached to a long-lived caller signal once disposed', async () => {
    const caller = new AbortController();
    for (let i = 0; i < 100; i++) startDeadline(10_000, caller.signal).dispose();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    const d = startDeadline(30, caller.signal);
    d.dispose();
    await new Promise((r) => setTimeout(r, 80));
    expect(d.signal.aborted).toBe(false); // the timer was cleared
  });
});
