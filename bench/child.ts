import { appendFileSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { projectFile } from '../src/paths.ts';

// The rule of which code runs, shared with bin/tributary.js; loaded by project path because this
// module also runs compiled from dist/bench/, where '../bin/' does not exist.
const { compiledEntry } = (await import(projectFile('bin/compiled.js').href)) as typeof import('../bin/compiled.js');

/** CPU and memory of one child process, from its own process.resourceUsage(). */
export interface ChildUsage {
  /** CPU seconds (user + system) spent in the measured part. */
  cpuSeconds: number;
  /** Peak resident set size of the whole child process, MB. */
  peakRssMb: number;
}

/**
 * Peak RSS of this process in KB. On Linux getrusage's maxRSS survives execve, so a child forked
 * from the bench parent (which holds the whole farm in memory) would report the parent's size:
 * VmHWM in /proc/self/status belongs to the new address space and is the child's own.
 */
export function peakRssKb(maxRssKb: number): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return maxRssKb;
}

/** Measures `fn` inside the current process: wall time, CPU delta, peak RSS. */
export async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; wallMs: number; usage: ChildUsage }> {
  const before = process.resourceUsage();
  const t0 = performance.now();
  const result = await fn();
  const wallMs = performance.now() - t0;
  const after = process.resourceUsage();
  return {
    result,
    wallMs,
    usage: {
      cpuSeconds: (after.userCPUTime - before.userCPUTime + after.systemCPUTime - before.systemCPUTime) / 1e6,
      peakRssMb: peakRssKb(after.maxRSS) / 1024,
    },
  };
}

/** The last line a child writes to stdout must be its JSON result. */
export function emitResult(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export interface RunChildOptions {
  env?: Record<string, string | undefined>;
  timeoutMs: number;
  /** Called with each stdout line before the result (servers announce their port this way). */
  onLine?: (line: string) => void;
}

/** Runs bench/<script> with tsx in a child process and returns its last stdout line, parsed. */
export function runChild<T>(script: string, args: string[], opts: RunChildOptions): Promise<T> {
  // The child is ours to trust: its result has the shape the caller's script emits.
  return spawnChild(script, args, opts).result as Promise<T>;
}

export interface SpawnedChild {
  /** The child's last stdout line, parsed as JSON, once it exits with status 0. */
  result: Promise<unknown>;
  /** SIGTERM: long-running children (the API) report and exit on it. */
  kill(): void;
  /** For reading the child's CPU time from /proc while it runs. */
  pid: number | undefined;
}

/** CPU seconds (user + system) a running process has used so far; Linux only, else NaN. */
export function processCpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** What the children run: the compiled bench and sources, or the sources through tsx (dist/ stale). */
export function childCode(): string {
  return compiledEntry('bench/poll-child.js') ? 'compiled dist/' : 'TypeScript through tsx (dist/ is stale: npm run build)';
}

export function spawnChild(script: string, args: string[], opts: RunChildOptions): SpawnedChild {
  // Children run the compiled bench (npm run bench builds it first), like the deployed worker and
  // API; through tsx when dist/ is stale (a source edited since the build).
  const compiled = compiledEntry(`bench/${script.replace(/\.ts$/, '.js')}`);
  const entry = compiled ? [fileURLToPath(compiled)] : ['--import', 'tsx', fileURLToPath(new URL(`./${script}`, import.meta.url))];
  // BENCH_CPU_PROF=<dir>: each child writes a V8 CPU profile there (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, ...entry, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let lastLine = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    let nl: number;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, nl).trim();
      stdout = stdout.slice(nl + 1);
      if (line) {
        // BENCH_CHILD_STDOUT=<file>: every line the children print (e.g. --trace-gc through BENCH_V8_FLAGS).
        if (process.env.BENCH_CHILD_STDOUT) appendFileSync(process.env.BENCH_CHILD_STDOUT, line + '\n');
        lastLine = line;
        opts.onLine?.(line);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    // Keep only the tail: a chatty child must not grow the parent's memory.
    stderr = (stderr + chunk).slice(-8000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  const result = new Promise<unknown>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${script} exited with ${code ?? signal}${signal === 'SIGKILL' ? ' (timeout?)' : ''}\n${stderr.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(lastLine));
      } catch {
        reject(new Error(`${script} printed no JSON result\n${stderr.trim()}`));
      }
    });
  });
  return { result, kill: () => child.kill('SIGTERM'), pid: child.pid };
}
