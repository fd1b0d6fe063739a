import type { ChildUsage } from './child.ts';
import type { FarmStats } from './farm.ts';
import type { FloorResult } from './floor.ts';
import type { EndpointResult, LadderResult } from './serving.ts';
import type { StreamPhase } from './stream.ts';
import { checkTargets, formatTarget, formatValue, ISSUE_TABLE_ROW, TARGETS, verdict, type TargetCheck } from './targets.ts';

export { TARGETS };

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
  /** Search ladder (absent in results written before it existed). */
  ladder?: LadderResult[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  machine: { cpus: number; node: string; backend: string; code: string };
  options: Record<string, unknown>;
  polling: PollPhase[];
  serving: ServingPhase[];
  /** Live stream latency and memory (bench/stream.ts); rendered by renderStreamMarkdown. */
  stream?: StreamPhase;
  /** The issue's targets checked against the phases above (recomputed on every save). */
  targets: TargetCheck[];
  errors: { phase: string; message: string }[];
}

const ok = (pass: boolean) => (pass ? '✅' : '❌');
const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const n1 = (v: number) => v.toFixed(1);
const n2 = (v: number) => v.toFixed(2);

const us = (v: number) => (Number.isFinite(v) ? n0(v) : '–');

/** The plan lines that tell how rows were found: scans, sorts, limits, filters and the time. */
function planSummary(plan: string): string[] {
  return plan
    .split('\n')
    .filter((l) => /Scan|Sort|Limit|Rows Removed|Heap Blocks|Execution Time/.test(l) && !/Sort Key|Sort Method/.test(l))
    .map((l) => l.replace(/\s+$/, '').slice(0, 160));
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** A measured value with its check, if the run has one: "3.90× ❌ vs ≤ 2×", "1.60× ✅". */
function checked(checks: Map<string, TargetCheck>, id: string, plain: string): string {
  const c = checks.get(id);
  if (!c) return plain;
  if (c.met) return `${plain} ✅`;
  return `${plain} ❌ ${c.invalid ?? `vs ${formatTarget(c)}`}`;
}

function scaling(checks: Map<string, TargetCheck>, kind: string): string {
  const c = checks.get(`serve:scaling:${kind}`);
  return c ? checked(checks, c.id, formatValue(c.measured, c.unit)) : '–';
}

export function renderMarkdown(r: BenchResults): string {
  // Recomputed rather than read from r.targets, so an older latest.json renders with today's targets.
  const targets = checkTargets(r);
  const checks = new Map(targets.map((c) => [c.id, c]));
  const out: string[] = [`# Tributary bench — ${r.startedAt}`, '', `${r.machine.cpus} CPUs, Node ${r.machine.node}, database: ${r.machine.backend}, children run ${r.machine.code}`, ''];
  if (r.polling.length > 0) {
    out.push(
      `## Polling (targets: cold ≤ ${TARGETS.coldFloorRatio}× the floor and ≥ ${n0(TARGETS.ingestItemsPerSec)} new items/s; ` +
        `warm ≤ ${TARGETS.warmFloorRatio}× the floor and < ${TARGETS.warmWallS} s; peak RSS ≤ ${TARGETS.workerPeakRssMb} MB at the most feeds)`,
      '',
    );
    out.push(
      table(
        ['phase', 'feeds × items', 'wall s', 'floor s (parse / download)', 'wall ÷ floor', 'new items/s', 'feeds/s', 'CPU s', 'floor CPU s', 'peak RSS MB', 'entries (expected)', 'farm 200/304'],
        r.polling.map((p) => [
          p.name,
          `${n0(p.feeds)} × ${p.items}`,
          checked(checks, `poll:${p.name}:wall`, n2(p.wallMs / 1000)),
          `${n2(p.floorParse.wallMs / 1000)} / ${p.floorDownload ? n2(p.floorDownload.wallMs / 1000) : '–'}`,
          checked(checks, `poll:${p.name}:floorRatio`, `${n2(p.floorRatio)}×`),
          checked(checks, `poll:${p.name}:ingest`, n0(p.newItemsPerSec)),
          n0(p.feedsPerSec),
          n2(p.usage.cpuSeconds),
          n2(p.floorParse.usage.cpuSeconds),
          checked(checks, `poll:${p.name}:peakRss`, n0(p.usage.peakRssMb)),
          `${n0(p.db.entries)} (${n0(p.expectedEntries)}) ${ok(p.db.entries === p.expectedEntries)}`,
          `${p.farm.ok}/${p.farm.notModified}`,
        ]),
      ),
      '',
    );
    const cost = checks.get('poll:costPerFeed');
    if (cost) out.push(`Cost per feed (${cost.name.replace(/^cost per feed: /, '')}): ${checked(checks, cost.id, formatValue(cost.measured, cost.unit))} (target ${formatTarget(cost)}).`, '');
    const bound = Math.max(...r.polling.map((p) => p.politenessBoundMs));
    if (bound > 0) out.push(`Per-host spacing alone bounds a round at ≥ ${n2(bound / 1000)} s (feeds per farm address × FETCH_HOST_SPACING_MS).`, '');
  }
  const smallest = r.serving.length >= 2 ? r.serving.reduce((a, b) => (b.entries < a.entries ? b : a)) : null;
  for (const s of r.serving) {
    const scaled = smallest !== null && s.entries > smallest.entries && s.entries === Math.max(...r.serving.map((x) => x.entries));
    out.push(`## Serving — ${n0(s.entries)} entries (${s.connections} connections × ${s.durationS} s)`, '');
    out.push(
      `Targets: /feed.xml ≥ ${n0(TARGETS.feedXml.rps)} req/s and p99 ≤ ${TARGETS.feedXml.p99Ms} ms; If-None-Match ≥ ${n0(TARGETS.feedXmlNotModified.rps)} req/s; ` +
        `/api/items first and deep page p99 ≤ ${TARGETS.itemsP99Ms} ms, deep ≤ ${TARGETS.deepVsFirstP99}× first; ?q= p99 ≤ ${TARGETS.searchP99Ms} ms` +
        (scaled ? `; p99 ≤ ${TARGETS.p99ScalingRatio}× the ${n0(smallest.entries)}-entry run.` : '.'),
      '',
    );
    out.push(
      table(
        ['endpoint', 'req/s', 'p50 ms', 'p99 ms', ...(scaled ? [`p99 ÷ at ${n0(smallest.entries)}`] : []), 'CPU µs/req', 'floor req/s', 'floor CPU µs/req', 'cost ÷ floor', 'first ms', 'statuses'],
        s.endpoints.map((e) => [
          e.name,
          checked(checks, `serve:${s.entries}:${e.kind}:rps`, n0(e.requestsPerSec)),
          n1(e.p50Ms),
          checked(checks, `serve:${s.entries}:${e.kind}:p99`, n1(e.p99Ms)),
          ...(scaled ? [scaling(checks, e.kind)] : []),
          us(e.cpuPerRequestUs),
          e.floor ? n0(e.floor.requestsPerSec) : '–',
          e.floor ? us(e.floor.cpuPerRequestUs) : '–',
          e.floorRatio === undefined ? '–' : checked(checks, `serve:${s.entries}:${e.kind}:floor`, `${n2(e.floorRatio)}×`),
          e.firstMs === null ? '–' : n1(e.firstMs),
          Object.entries(e.statusCounts).map(([c, k]) => `${c}: ${k}`).join(', ') + (e.errors ? `, errors: ${e.errors}` : ''),
        ]),
      ),
      '',
    );
    if (s.ladder && s.ladder.length > 0) {
      out.push(`Search ladder (one connection each; target p99 ≤ ${TARGETS.searchP99Ms} ms at every rung):`, '');
      out.push(
        table(
          ['word', 'matches', 'read as', 'req/s', 'p50 ms', 'p99 ms', 'statuses'],
          s.ladder.map((l) => [
            l.word,
            n0(l.matches),
            l.access,
            n0(l.requestsPerSec),
            n1(l.p50Ms),
            checked(checks, `serve:${s.entries}:ladder:${l.word}`, n1(l.p99Ms)),
            Object.entries(l.statusCounts).map(([c, k]) => `${c}: ${k}`).join(', ') + (l.errors ? `, errors: ${l.errors}` : ''),
          ]),
        ),
        '',
        'Plans (EXPLAIN ANALYZE of the page statement, with the settings the store uses; the GIN count before it is not shown):',
        '',
        ...s.ladder.flatMap((l) => [`- \`${l.word}\` (${n0(l.matches)} matches, ${l.access}):`, '', '  ```', ...planSummary(l.plan).map((x) => `  ${x}`), '  ```']),
        '',
      );
    }
    const deep = checks.get(`serve:${s.entries}:deepVsFirst`);
    if (deep) out.push(`Deep page p99 ÷ first page p99: ${checked(checks, deep.id, formatValue(deep.measured, deep.unit))} (target ${formatTarget(deep)}).`, '');
    out.push(
      `Load: ${n1(s.loadSeconds)} s (${n0(s.entries / s.loadSeconds)} entries/s). Search word "${s.searchWord}" matches ${(s.searchShare * 100).toFixed(1)}% of entries. ` +
        `Cursor walk to ${n0(s.deepWalk.walked)}: ${n0(s.deepWalk.ms)} ms.` +
        (s.server ? ` API process: ${n1(s.server.cpuSeconds)} CPU s, peak RSS ${n0(s.server.peakRssMb)} MB.` : ''),
      '',
    );
  }
  if (r.serving.length > 0) {
    const largest = Math.max(...r.serving.map((s) => s.entries));
    out.push(`## Storage (target: ≤ ${TARGETS.kbPerEntry} KB per entry of ~1.5 KB content, indexes included, at the largest size)`, '');
    out.push(
      table(
        ['entries', 'entries table + indexes', 'entry_sources + indexes', 'KB per entry'],
        r.serving.map((s) => [
          n0(s.entries),
          `${n1(s.tableBytes.entries / 2 ** 20)} MB`,
          `${n1(s.tableBytes.entrySources / 2 ** 20)} MB`,
          s.entries === largest ? checked(checks, 'storage', n2(s.bytesPerEntry / 1024)) : n2(s.bytesPerEntry / 1024),
        ]),
      ),
      '',
    );
  }
  const issueRows = targets.filter((c) => ISSUE_TABLE_ROW.test(c.id));
  if (issueRows.length > 0) {
    out.push('## Issue 10: cost against the floor measured in this run', '');
    out.push(table(['row', 'measured', 'target', 'result'], issueRows.map((c) => [c.name, formatValue(c.measured, c.unit), formatTarget(c), verdict(c)])), '');
  }
  if (targets.length > 0) {
    const met = targets.filter((c) => c.met).length;
    out.push(`## Targets — ${met} of ${targets.length} met`, '');
    if (r.machine.backend.startsWith('embedded') || r.options['quick'] === true) {
      out.push('The issue\'s targets are for a PostgreSQL server at the full sizes; this run is smaller or embedded, so read them as indicative.', '');
    }
    out.push(
      table(
        ['check', 'measured', 'target', 'result'],
        targets.map((c) => [c.name, formatValue(c.measured, c.unit), formatTarget(c), verdict(c)]),
      ),
      '',
    );
  }
  if (r.errors.length > 0) {
    out.push('## Errors', '', ...r.errors.map((e) => `- **${e.phase}**: ${e.message.split('\n').slice(0, 6).join(' ⏎ ')}`), '');
  }
  return out.join('\n');
}
