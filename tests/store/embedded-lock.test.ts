import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, LOCK_FILE } from '../../src/store/embedded-lock.ts';

/** The lock that gives a DATA_DIR its one owner (issue 8); file-level behaviour, no database. */
describe('embedded data directory lock', () => {
  let dir: string;
  const lockPath = () => join(dir, LOCK_FILE);
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;
  const writeLock = (holder: object) => writeFileSync(lockPath(), JSON.stringify({ host: hostname(), started: null, command: 'tributary serve', socket: null, state: 'serving', ...holder }));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the first taker owns it; a second sees the live holder; release frees it', async () => {
    const first = await acquireLock(dir, 'tributary start');
    expect(first.kind).toBe('owned');
    expect(JSON.parse(readFileSync(lockPath(), 'utf8'))).toMatchObject({ pid: process.pid, command: 'tributary start', state: 'starting' });
    const second = await acquireLock(dir, 'tributary feeds add');
    expect(second).toMatchObject({ kind: 'held', holder: { pid: process.pid, command: 'tributary start' } });
    if (first.kind !== 'owned') throw new Error('unreachable');
    first.lock.update({ socket: dir, state: 'serving' });
    expect(JSON.parse(readFileSync(lockPath(), 'utf8'))).toMatchObject({ socket: dir, state: 'serving' });
    first.lock.release();
    expect(existsSync(lockPath())).toBe(false);
    expect((await acquireLock(dir, 'x')).kind).toBe('owned');
  });

  it('a dead holder, a recycled PID and an unreadable old lock are all taken over', async () => {
    writeLock({ pid: deadPid() });
    expect((await acquireLock(dir, 'a')).kind).toBe('owned');
    rmSync(lockPath());
    writeLock({ pid: process.pid, started: '1' }); // our PID, another process's start time
    expect((await acquireLock(dir, 'b')).kind).toBe('owned');
    rmSync(lockPath());
    writeFileSync(lockPath(), 'garbage');
    utimesSync(lockPath(), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await acquireLock(dir, 'c')).kind).toBe('owned');
  });

  it('several takers racing for one stale lock: exactly one owns it', async () => {
    writeLock({ pid: deadPid() });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => acquireLock(dir, `taker ${i}`)));
    expect(results.filter((r) => r.kind === 'owned')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'held')).toHaveLength(5);
  });

  it('release leaves a lock that another process has taken since', async () => {
    const mine = await acquireLock(dir, 'mine');
    if (mine.kind !== 'owned') throw new Error('expected to own the lock');
    writeLock({ pid: 1, started: 'other' });
    mine.lock.release();
    expect(JSON.parse(readFileSync(lockPath(), 'utf8'))).toMatchObject({ pid: 1 });
  });
});
