import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/** The lock file in DATA_DIR that names the one process owning the embedded database. */
export const LOCK_FILE = 'tributary.lock';
/** The socket file name PostgreSQL clients look for in a socket directory (port 5432). */
export const SOCKET_FILE = '.s.PGSQL.5432';

export interface LockHolder {
  pid: number;
  host: string;
  /** Kernel start time of the process (Linux), so a recycled PID is not taken for the owner. */
  started: string | null;
  /** What the owner runs, for messages ("tributary start"). */
  command: string;
  /** Socket directory clients connect to; null while starting or when the owner could not serve one. */
  socket: string | null;
  state: 'starting' | 'serving' | 'not-serving';
}

export type LockResult = { kind: 'owned'; lock: OwnedLock } | { kind: 'held'; holder: LockHolder };

export interface OwnedLock {
  readonly holder: LockHolder;
  /** Rewrites the lock with the owner's serving state (atomically: temp file and rename). */
  update(patch: Partial<Pick<LockHolder, 'socket' | 'state'>>): void;
  /** Removes the lock if it is still ours. Synchronous so it can run from an 'exit' handler. */
  release(): void;
}

/**
 * Takes the lock atomically (a complete temp file hard-linked to the lock name, which fails if it
 * exists) or reports the live holder. A lock whose holder is gone is taken over.
 */
export async function acquireLock(dir: string, command: string): Promise<LockResult> {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), started: processStartTime(process.pid), command, socket: null, state: 'starting' };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createExclusive(path, `${JSON.stringify(me)}\n`)) return { kind: 'owned', lock: ownedLock(path, me) };
    const text = readText(path);
    if (text === null) continue; // released between our attempt and the read
    const holder = parseHolder(text);
    if (holder === null && attempt < 20 && isFresh(path)) {
      // Created with O_EXCL and not written yet (file systems without hard links): give it a moment.
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (holder && (await isAlive(holder))) return { kind: 'held', holder };
    takeOverStale(path, text);
  }
  throw new Error(`cannot take the lock ${path}: it keeps changing`);
}

/**
 * Creates the lock with its whole content or not at all: a complete temp file hard-linked to the
 * name (link fails if the name exists). Where the file system has no hard links, an O_EXCL create.
 */
function createExclusive(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, content);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  } finally {
    unlinkSync(tmp);
  }
  try {
    writeFileSync(path, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function isFresh(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 5000;
  } catch {
    return false;
  }
}

/**
 * Whether the process named in a lock still runs. On the same host: the PID exists and, where the
 * kernel tells, started at the recorded time (PIDs are reused). From another host (a data volume
 * shared with another container) the process is out of sight: alive if its socket answers.
 */
async function isAlive(holder: LockHolder): Promise<boolean> {
  if (holder.host !== hostname()) return holder.socket !== null && (await socketAnswers(holder.socket));
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.started === null) return true;
  return processStartTime(holder.pid) === holder.started;
}

/**
 * Moves a stale lock aside. Two processes may judge the same lock stale at once: the one that moves a
 * lock which is no longer the stale one (the other already replaced it) puts it back.
 */
function takeOverStale(path: string, staleText: string): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readText(aside) !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      // Somebody took the free name meanwhile; they hold the lock now.
    }
  }
  unlinkSync(aside);
}

/** Whether something accepts connections on the PostgreSQL socket in this directory. */
function socketAnswers(socketDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(join(socketDir, SOCKET_FILE));
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function ownedLock(path: string, initial: LockHolder): OwnedLock {
  let holder = initial;
  const text = () => `${JSON.stringify(holder)}\n`;
  const ours = () => {
    const current = readText(path);
    const parsed = current === null ? null : parseHolder(current);
    return parsed !== null && parsed.pid === holder.pid && parsed.started === holder.started && parsed.host === holder.host;
  };
  return {
    get holder() {
      return holder;
    },
    update(patch) {
      holder = { ...holder, ...patch };
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(tmp, text());
      renameSync(tmp, path);
    },
    release() {
      try {
        if (ours()) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return {
      pid: v.pid,
      host: typeof v.host === 'string' ? v.host : '',
      started: typeof v.started === 'string' ? v.started : null,
      command: typeof v.command === 'string' ? v.command : 'tributary',
      socket: typeof v.socket === 'string' ? v.socket : null,
      state: v.state === 'serving' || v.state === 'not-serving' ? v.state : 'starting',
    };
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null where there is no /proc. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}
