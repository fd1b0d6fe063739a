import type { ChildUsage } from './child.ts';
import type { FarmStats } from './farm.ts';
import type { FloorResult } from './floor.ts';
import type { EndpointResult } from './serving.ts';

/**
 * Targets printed next to the measurements. The issue names the measures but no numbers, so
 * these are proposals kept in one place to be tuned; in --quick mode they are shown, never enforced.
 */
export const TARGETS = {
  /** Poll wall time at most this many times the floor's (download + parse, same concurrency). */
  pollFloorRatio: 3,
  pollPeakRssMb: 512,
  /** Requests/s at 50 connections on 2 cores (reads), and p99 in ms. */
  serving: {
    '/feed.xml': { rps: 200, p99Ms: 1000 },
    '/feed.xml If-None-Match': { rps: 1000, p99Ms: 200 },
    items: { rps: 300, p99Ms: 500 },
    deep: { rps: 300, p99Ms: 500 },
    search: { rps: 50, p99Ms: 2000 },
    region: { rps: 300, p99Ms: 500 },
  },
  bytesPerEntry: 6144,
} as const;

export interface PollPhase {
  name: string;
  feeds: number;
  items: number;
  wallMs: number;
  usage: ChildUsage;
  totals: Record<string, number>;
  feedsPerSec: number;
  newItemsPerSec: number;
  floorParse: FloorResult;
  floorDownload: FloorResult | null;
  /** Poll wall time / floor (download + parse) wall time. */
  floorRatio: number;
  farm: FarmStats;
  db: { entries: number; sources: number };
  /** Entries a correct cross-feed dedupe would hold. */
  expectedEntries: number;
  /** Lower bound on wall time from per-host spacing: ceil(feeds / hosts) × FETCH_HOST_SPACING_MS. */
  politenessBoundMs: number;
}

export interface ServingPhase {
  entries: number;
  sources: number;
  loadSeconds: number;
  bytesPerEntry: number;
  tableBytes: { entries: number; entrySources: number };
  searchWord: string;
  searchShare: number;
  connections: number;
  durationS: number;
  endpoints: EndpointResult[];
  deepWalk: { walked: number; ms: number };
  server: ChildUsage | null;
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  machine: { cpus: number; node: string; backend: string };
  options: Record<string, unknown>;
  polling: PollPhase[];
  serving: ServingPhase[];
  errors: { phase: string; message: string }[];
}

const ok = (pass: boolean) => (pass ? '✅' : '❌');
const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const n1 = (v: number) => v.toFixed(1);
const n2 = (v: number) => v.toFixed(2);

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function servingTarget(name: string): { rps: number; p99Ms: number } {
  const t = TARGETS.serving;
  if (name === '/feed.xml' || name === '/feed.xml If-None-Match') return t[name];
  if (name.includes('deep')) return t.deep;
  if (name.includes('?q=')) return t.search;
  if (name.includes('?region=')) return t.region;
  return t.items;
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [`# Tributary bench — ${r.startedAt}`, '', `${r.machine.cpus} CPUs, Node ${r.machine.node}, database: ${r.machine.backend}`, ''];
  if (r.polling.length > 0) {
    out.push(`## Polling (target: ≤ ${TARGETS.pollFloorRatio}× the floor's wall time, peak RSS ≤ ${TARGETS.pollPeakRssMb} MB)`, '');
    out.push(
      table(
        ['phase', 'feeds × items', 'wall s', 'feeds/s', 'new items/s', 'CPU s', 'peak RSS MB', 'floor s (parse / download)', 'floor CPU s', 'ratio', 'entries (expected)', 'farm 200/304'],
        r.polling.map((p) => [
          p.name,
          `${n0(p.feeds)} × ${p.items}`,
          n2(p.wallMs / 1000),
          n0(p.feedsPerSec),
          n0(p.newItemsPerSec),
          n2(p.usage.cpuSeconds),
          n0(p.usage.peakRssMb),
          `${n2(p.floorParse.wallMs / 1000)} / ${p.floorDownload ? n2(p.floorDownload.wallMs / 1000) : '–'}`,
          n2(p.floorParse.usage.cpuSeconds),
          `${n2(p.floorRatio)} ${ok(p.floorRatio <= TARGETS.pollFloorRatio && p.usage.peakRssMb <= TARGETS.pollPeakRssMb)}`,
          `${n0(p.db.entries)} (${n0(p.expectedEntries)}) ${ok(p.db.entries === p.expectedEntries)}`,
          `${p.farm.ok}/${p.farm.notModified}`,
        ]),
      ),
      '',
    );
    const bound = Math.max(...r.polling.map((p) => p.politenessBoundMs));
    if (bound > 0) out.push(`Per-host spacing alone bounds a round at ≥ ${n2(bound / 1000)} s (feeds per farm address × FETCH_HOST_SPACING_MS).`, '');
  }
  for (const s of r.serving) {
    out.push(`## Serving — ${n0(s.entries)} entries (${s.connections} connections × ${s.durationS} s)`, '');
    out.push(
      table(
        ['endpoint', 'req/s (target)', 'p50 ms', 'p99 ms (target)', 'first ms', 'statuses', ''],
        s.endpoints.map((e) => {
          const t = servingTarget(e.name);
          return [
            e.name,
            `${n0(e.requestsPerSec)} (≥ ${t.rps})`,
            n1(e.p50Ms),
            `${n1(e.p99Ms)} (≤ ${t.p99Ms})`,
            e.firstMs === null ? '–' : n1(e.firstMs),
            Object.entries(e.statusCounts).map(([c, k]) => `${c}: ${k}`).join(', ') + (e.errors ? `, errors: ${e.errors}` : ''),
            ok(e.requestsPerSec >= t.rps && e.p99Ms <= t.p99Ms && e.errors === 0),
          ];
        }),
      ),
      '',
      `Load: ${n1(s.loadSeconds)} s (${n0(s.entries / s.loadSeconds)} entries/s). Search word "${s.searchWord}" matches ${(s.searchShare * 100).toFixed(1)}% of entries. ` +
        `Cursor walk to ${n0(s.deepWalk.walked)}: ${n0(s.deepWalk.ms)} ms.` +
        (s.server ? ` API process: ${n1(s.server.cpuSeconds)} CPU s, peak RSS ${n0(s.server.peakRssMb)} MB.` : ''),
      '',
    );
  }
  if (r.serving.length > 0) {
    out.push(`## Storage (target: ≤ ${n0(TARGETS.bytesPerEntry)} bytes per entry)`, '');
    out.push(
      table(
        ['entries', 'entries table + indexes', 'entry_sources + indexes', 'bytes per entry', ''],
        r.serving.map((s) => [
          n0(s.entries),
          `${n1(s.tableBytes.entries / 2 ** 20)} MB`,
          `${n1(s.tableBytes.entrySources / 2 ** 20)} MB`,
          n0(s.bytesPerEntry),
          ok(s.bytesPerEntry <= TARGETS.bytesPerEntry),
        ]),
      ),
      '',
    );
  }
  if (r.errors.length > 0) {
    out.push('## Errors', '', ...r.errors.map((e) => `- **${e.phase}**: ${e.message.split('\n').slice(0, 6).join(' ⏎ ')}`), '');
  }
  return out.join('\n');
}
