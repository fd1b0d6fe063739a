import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../src/worker/group-commit.ts';

describe('groupCommit', () => {
  it('writes what arrives together as one batch, and what arrives during a flush as the next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const add = groupCommit(async (items: number[]) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((i) => i * 10);
    }, 100);
    const first = [add(1), add(2), add(3)];
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1, 2, 3]]);
    const second = [add(4), add(5)]; // arrive while the first batch is in flight
    release();
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('splits batches at the maximum size', async () => {
    const batches: string[][] = [];
    const add = groupCommit(async (items: string[]) => {
      batches.push(items);
      return items;
    }, 2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map(add));
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('fails every item of a batch whose write failed, and keeps writing later ones', async () => {
    let fail = true;
    const add = groupCommit(async (items: number[]) => {
      if (fail) throw new Error('database went away');
      return items;
    }, 10);
    const failed = await Promise.allSettled([add(1), add(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await add(3)).toBe(3);
  });
});

describe('groupCommit with two flushes in flight', () => {
  it('starts a second batch while the first is running, never a third', async () => {
    const running: number[][] = [];
    let maxRunning = 0;
    const releases: Array<() => void> = [];
    const add = groupCommit(async (items: number[]) => {
      running.push(items);
      maxRunning = Math.max(maxRunning, running.length);
      await new Promise<void>((r) => releases.push(r));
      running.splice(running.indexOf(items), 1);
      return items;
    }, 2, 2);
    const all = [1, 2, 3, 4, 5, 6].map(add);
    await new Promise((r) => setImmediate(r));
    expect(running).toEqual([[1, 2], [3, 4]]);
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    while (releases.length > 0) releases.shift()!();
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(maxRunning).toBe(2);
  });
});

describe('groupCommit with keys (one story language per batch)', () => {
  it('never mixes keys in a batch, and starts a key no running flush holds first', async () => {
    const started: string[][] = [];
    const releases: Array<() => void> = [];
    const add = groupCommit(
      async (items: string[]) => {
        started.push(items);
        await new Promise<void>((r) => releases.push(r));
        return items;
      },
      8,
      2,
      (item) => item.split(':')[0]!,
    );
    const first = add('en:1');
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([['en:1']]);
    // While the English batch runs, more English arrives before Italian: Italian still goes next.
    const later = ['en:2', 'en:3', 'it:1', 'en:4', 'it:2'].map(add);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([['en:1'], ['it:1', 'it:2']]);
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(started[2]).toEqual(['en:2', 'en:3', 'en:4']);
    while (releases.length > 0) releases.shift()!();
    expect(await Promise.all([first, ...later])).toEqual(['en:1', 'en:2', 'en:3', 'it:1', 'en:4', 'it:2']);
  });
});
