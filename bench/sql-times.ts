import v8 from 'node:v8';
import { appendFileSync } from 'node:fs';
import pg from 'pg';
import { processCpuSeconds } from './child.ts';

/**
 * BENCH_SQL_TIMES=<file> (poll child): time of every statement as the client sees it (queueing on locks
 * included), summed per statement, and wait events of this database's backends sampled every 50 ms
 * from pg_stat_activity. Appended to <file> at the end of each round; a diagnostic, not a measurement
 * the report checks.
 */
export function startSqlTimes(file: string, databaseUrl: string | undefined): () => Promise<void> {
  const totals = new Map<string, { n: number; ms: number }>();
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    const key = text ? label(text) : null;
    const t0 = performance.now();
    const add = () => {
      if (key === null) return;
      const t = totals.get(key) ?? { n: 0, ms: 0 };
      t.n++;
      t.ms += performance.now() - t0;
      totals.set(key, t);
    };
    // The pool's one-shot queries use the callback form.
    const last = args.length - 1;
    if (key !== null && typeof args[last] === 'function') {
      const cb = args[last] as (...a: unknown[]) => unknown;
      args[last] = (...a: unknown[]) => {
        add();
        return cb(...a);
      };
    }
    const r = original.apply(this, args);
    if (key !== null && r instanceof Promise) r.then(add, add);
    return r;
  };
  const waits = new Map<string, number>();
  let samples = 0;
  // Backend pid → its CPU seconds when first seen (a pool's connections live through the round).
  const cpuAtStart = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  let sampler: pg.Client | undefined;
  if (databaseUrl) {
    sampler = new pg.Client({ connectionString: databaseUrl });
    const c = sampler;
    void c.connect().then(() => {
      timer = setInterval(() => {
        void (original.call(c, `select pid, state, coalesce(wait_event_type || ':' || wait_event, 'cpu') as w
                    from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`) as Promise<unknown>)
          .then((res: unknown) => {
            samples++;
            for (const row of (res as { rows: Array<{ pid: number; state: string; w: string }> }).rows) {
              if (!cpuAtStart.has(row.pid)) cpuAtStart.set(row.pid, processCpuSeconds(row.pid));
              const k = `${row.state} ${row.state === 'active' ? row.w : ''}`.trim();
              waits.set(k, (waits.get(k) ?? 0) + 1);
            }
          }, () => undefined);
      }, 50);
    });
  }
  // The main thread's heap, sampled: what its part of the peak RSS is.
  const mb = (n: number) => (n / 1048576).toFixed(0);
  const heap = { used: 0, total: 0, external: 0, rss: 0, spaces: '' };
  const heapTimer = setInterval(() => {
    const m = process.memoryUsage();
    heap.used = Math.max(heap.used, m.heapUsed);
    heap.total = Math.max(heap.total, m.heapTotal);
    heap.external = Math.max(heap.external, m.external);
    heap.rss = Math.max(heap.rss, m.rss);
    // At the RSS peak: how the heap splits into V8's spaces (committed size), and what is in use.
    if (m.rss >= heap.rss) heap.spaces = v8.getHeapSpaceStatistics().map((s) => `${s.space_name.replace(/_space$/, '')} ${mb(s.physical_space_size)}/${mb(s.space_used_size)}`).join(', ');
  }, 200);
  return async () => {
    clearInterval(heapTimer);
    appendFileSync(file, `\n[sql-times] main thread peaks (200 ms samples): heapUsed ${mb(heap.used)} MB, heapTotal ${mb(heap.total)} MB, external ${mb(heap.external)} MB, rss ${mb(heap.rss)} MB\n[sql-times] at the RSS peak, V8 spaces MB committed/used: ${heap.spaces}\n`);
    if (timer) clearInterval(timer);
    let backendCpu = 0;
    for (const [pid, at] of cpuAtStart) backendCpu += processCpuSeconds(pid) - at;
    await sampler?.end().catch(() => undefined);
    proto.query = original;
    const rows = [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const lines = rows.map(([k, t]) => `${(t.ms / 1000).toFixed(2).padStart(8)} s ${String(t.n).padStart(7)} × ${(t.ms / t.n).toFixed(2).padStart(8)} ms  ${k}`);
    appendFileSync(file, `\n[sql-times] client-side time per statement (sum over connections)\n${lines.join('\n')}\n`);
    const w = [...waits.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${(n / Math.max(1, samples)).toFixed(2).padStart(6)}  ${k}`);
    appendFileSync(file, `[sql-times] backends per state (mean over ${samples} samples, 50 ms apart)\n${w.join('\n')}\n[sql-times] CPU of those backends: ${backendCpu.toFixed(1)} s (from first sight; /proc)\n`);
  };
}

function label(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 90);
}
