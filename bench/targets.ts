import type { BenchResults, PollPhase, ServingPhase } from './report.ts';
import type { EndpointKind, EndpointResult } from './serving.ts';

/**
 * The issue's performance targets (2 cores, PostgreSQL server), and the checks of one bench run
 * against them. Every check names its phase, so a --quick run (smaller sizes) is checked against
 * the same numbers; the checks are reported, never turned into the exit status.
 */
export const TARGETS = {
  /** Cold poll wall time at most this many times the download-and-parse floor of the same run. */
  coldFloorRatio: 2,
  /** Warm poll (nothing changed) at most this many times its (conditional) floor… */
  warmFloorRatio: 3,
  /** …and strictly under this many seconds. */
  warmWallS: 5,
  /** New items (inserted + linked) per wall second of a cold poll. */
  ingestItemsPerSec: 10_000,
  /** Wall time per feed of the largest cold poll ÷ that of the smallest. */
  costPerFeedRatio: 1.3,
  feedXml: { rps: 1000, p99Ms: 50 },
  feedXmlNotModified: { rps: 5000 },
  /** /api/items first page and deep cursor page. */
  itemsP99Ms: 30,
  /** Deep cursor page p99 ÷ first page p99. */
  deepVsFirstP99: 1.5,
  searchP99Ms: 100,
  /** A word no entry contains, one connection (the ladder's 0-match rung): issue 10's "≤ 20 ms at any size". */
  absentWordP99Ms: 20,
  /** Cost per request ÷ a bare node:http server's answering the same bytes (issue 10), per endpoint kind. */
  floorRatio: { health: 3, feedNotModified: 3, feed: 1.5, first: 2, item: 5 } as Partial<Record<EndpointKind, number>>,
  /** Per endpoint: p99 at the largest serving size ÷ p99 at the smallest. */
  p99ScalingRatio: 1.5,
  /** Worker peak RSS in the polling scenario with the most feeds. */
  workerPeakRssMb: 300,
  /** Entries + entry_sources, indexes and TOAST included, per entry of ~1.5 KB content. */
  kbPerEntry: 4,
} as const;

/**
 * autocannon reports latency percentiles in whole milliseconds, so a p99 of 0 or 1 ms says
 * "faster than the clock"; ratios of p99s use at least this as the denominator.
 */
const P99_RESOLUTION_MS = 1;

export type Op = '≤' | '<' | '≥';

/** One target checked against one measurement; written to latest.json as `targets`. */
export interface TargetCheck {
  /** Stable key the report tables look checks up by, e.g. `poll:cold 1000×50:floorRatio`. */
  id: string;
  /** What was checked, with its phase. */
  name: string;
  measured: number;
  target: number;
  op: Op;
  unit: string;
  met: boolean;
  /** Why the measurement cannot count (e.g. the endpoint answered the wrong status); fails the check. */
  invalid?: string;
}

function check(id: string, name: string, measured: number, op: Op, target: number, unit: string, invalid?: string): TargetCheck {
  const within = op === '≤' ? measured <= target : op === '<' ? measured < target : measured >= target;
  return { id, name, measured, target, op, unit, met: within && !invalid, ...(invalid ? { invalid } : {}) };
}

const count = (v: number) => v.toLocaleString('en-US');
const phaseKind = (p: PollPhase) => p.name.split(' ')[0]; // 'cold' | 'warm' | '10%' | 'all'

function pollingChecks(polling: PollPhase[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const p of polling) {
    const label = `${p.name} (${count(p.feeds)} feeds)`;
    if (phaseKind(p) === 'cold') {
      out.push(check(`poll:${p.name}:floorRatio`, `${label}: wall ÷ download-and-parse floor`, p.floorRatio, '≤', TARGETS.coldFloorRatio, '×'));
      out.push(check(`poll:${p.name}:ingest`, `${label}: new items per wall second`, p.newItemsPerSec, '≥', TARGETS.ingestItemsPerSec, 'items/s'));
    } else if (phaseKind(p) === 'warm') {
      out.push(check(`poll:${p.name}:floorRatio`, `${label}: wall ÷ floor`, p.floorRatio, '≤', TARGETS.warmFloorRatio, '×'));
      out.push(check(`poll:${p.name}:wall`, `${label}: wall time`, p.wallMs / 1000, '<', TARGETS.warmWallS, 's'));
    }
  }
  const cold = polling.filter((p) => phaseKind(p) === 'cold');
  if (cold.length >= 2) {
    const small = cold.reduce((a, b) => (b.feeds < a.feeds ? b : a));
    const large = cold.reduce((a, b) => (b.feeds > a.feeds ? b : a));
    if (large.feeds > small.feeds) {
      const ratio = large.wallMs / large.feeds / (small.wallMs / small.feeds);
      out.push(check('poll:costPerFeed', `cost per feed: ${large.name} ÷ ${small.name} (wall per feed)`, ratio, '≤', TARGETS.costPerFeedRatio, '×'));
    }
  }
  // "At 10,000 feeds": every round of the scenario with the most feeds.
  const most = Math.max(...polling.map((p) => p.feeds));
  for (const p of polling.filter((x) => x.feeds === most)) {
    out.push(check(`poll:${p.name}:peakRss`, `${p.name} (${count(p.feeds)} feeds): worker peak RSS`, p.usage.peakRssMb, '≤', TARGETS.workerPeakRssMb, 'MB'));
  }
  return out;
}

const EXPECTED_STATUS: Record<EndpointKind, string> = {
  health: '200',
  feed: '200',
  feedNotModified: '304',
  first: '200',
  item: '200',
  deep: '200',
  search: '200',
  region: '200',
};

/** Set when the endpoint's numbers do not describe the path under test (other statuses, socket errors). */
function invalidResponses(e: Pick<EndpointResult, 'kind' | 'statusCounts' | 'errors'>): string | undefined {
  const expected = EXPECTED_STATUS[e.kind];
  const other = Object.entries(e.statusCounts).filter(([code, n]) => code !== expected && n > 0);
  const parts = [...other.map(([code, n]) => `${count(n)} × ${code}`), ...(e.errors > 0 ? [`${count(e.errors)} errors`] : [])];
  if (!e.statusCounts[expected]) parts.push(`no ${expected}`);
  return parts.length > 0 ? `responses: ${parts.join(', ')}` : undefined;
}

function servingChecks(serving: ServingPhase[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const s of serving) {
    const at = `${count(s.entries)} entries`;
    const id = (e: EndpointResult, what: string) => `serve:${s.entries}:${e.kind}:${what}`;
    for (const e of s.endpoints) {
      const bad = invalidResponses(e);
      const name = (what: string) => `${e.name} at ${at}: ${what}`;
      switch (e.kind) {
        case 'feed':
          out.push(check(id(e, 'rps'), name('req/s'), e.requestsPerSec, '≥', TARGETS.feedXml.rps, 'req/s', bad));
          out.push(check(id(e, 'p99'), name('p99'), e.p99Ms, '≤', TARGETS.feedXml.p99Ms, 'ms', bad));
          break;
        case 'feedNotModified':
          out.push(check(id(e, 'rps'), name('req/s'), e.requestsPerSec, '≥', TARGETS.feedXmlNotModified.rps, 'req/s', bad));
          break;
        case 'first':
        case 'deep':
          out.push(check(id(e, 'p99'), name('p99'), e.p99Ms, '≤', TARGETS.itemsP99Ms, 'ms', bad));
          break;
        case 'search':
          out.push(check(id(e, 'p99'), name('p99'), e.p99Ms, '≤', TARGETS.searchP99Ms, 'ms', bad));
          break;
        case 'health':
        case 'item':
        case 'region':
          break; // no target of their own besides the floor ratio
      }
      const floorTarget = TARGETS.floorRatio[e.kind];
      if (floorTarget !== undefined && e.floorRatio !== undefined) {
        const floorBad = bad ?? (e.floor ? invalidResponses({ kind: e.kind, statusCounts: e.floor.statusCounts, errors: e.floor.errors }) : undefined);
        out.push(check(id(e, 'floor'), name('cost per request ÷ bare node:http floor'), e.floorRatio, '≤', floorTarget, '×', floorBad));
      }
    }
    for (const rung of s.ladder ?? []) {
      const bad = invalidResponses({ kind: 'search', statusCounts: rung.statusCounts, errors: rung.errors });
      out.push(
        check(`serve:${s.entries}:ladder:${rung.word}`, `?q=${rung.word} (${count(rung.matches)} matches) at ${at}, 1 connection: p99`, rung.p99Ms, '≤', TARGETS.searchP99Ms, 'ms', bad),
      );
      if (rung.matches === 0) {
        out.push(check(`serve:${s.entries}:absent`, `?q=${rung.word} (a word no entry contains) at ${at}, 1 connection: p99`, rung.p99Ms, '≤', TARGETS.absentWordP99Ms, 'ms', bad));
      }
    }
    const first = s.endpoints.find((e) => e.kind === 'first');
    const deep = s.endpoints.find((e) => e.kind === 'deep');
    if (first && deep) {
      const ratio = deep.p99Ms / Math.max(first.p99Ms, P99_RESOLUTION_MS);
      out.push(check(`serve:${s.entries}:deepVsFirst`, `${deep.name} p99 ÷ first page p99 at ${at}`, ratio, '≤', TARGETS.deepVsFirstP99, '×'));
    }
  }
  if (serving.length >= 2) {
    const small = serving.reduce((a, b) => (b.entries < a.entries ? b : a));
    const large = serving.reduce((a, b) => (b.entries > a.entries ? b : a));
    if (large.entries > small.entries) {
      for (const e of large.endpoints) {
        const before = small.endpoints.find((x) => x.kind === e.kind);
        if (!before) continue;
        const ratio = e.p99Ms / Math.max(before.p99Ms, P99_RESOLUTION_MS);
        out.push(check(`serve:scaling:${e.kind}`, `${e.name}: p99 at ${count(large.entries)} ÷ at ${count(small.entries)} entries`, ratio, '≤', TARGETS.p99ScalingRatio, '×'));
      }
    }
  }
  return out;
}

function storageChecks(serving: ServingPhase[]): TargetCheck[] {
  if (serving.length === 0) return [];
  const largest = serving.reduce((a, b) => (b.entries > a.entries ? b : a));
  return [check('storage', `storage per entry at ${count(largest.entries)} entries (indexes included)`, largest.bytesPerEntry / 1024, '≤', TARGETS.kbPerEntry, 'KB')];
}

/**
 * The rows of issue 10's table (each endpoint's cost ÷ its floor, the absent word, the polls ÷
 * their floors, the worker's peak RSS), picked from the checks by id, for the report's summary.
 */
export const ISSUE_TABLE_ROW = /^serve:\d+:\w+:floor$|^serve:\d+:absent$|^poll:(cold|warm) [^:]+:floorRatio$|:peakRss$/;

/** Every target that the phases in `r` can be checked against, in report order. */
export function checkTargets(r: Pick<BenchResults, 'polling' | 'serving'>): TargetCheck[] {
  return [...pollingChecks(r.polling), ...servingChecks(r.serving), ...storageChecks(r.serving)];
}

/** A measured value in its unit: "3.90×", "1,234 req/s", "12.0 ms". */
export function formatValue(v: number, unit: string): string {
  switch (unit) {
    case '×':
      return `${v.toFixed(2)}×`;
    case 'ms':
      return `${v.toFixed(1)} ms`;
    case 's':
      return `${v.toFixed(2)} s`;
    case 'KB':
      return `${v.toFixed(2)} KB`;
    default:
      return `${count(Math.round(v))} ${unit}`;
  }
}

/** The target as written in the issue: "≤ 2×", "≥ 10,000 items/s", "< 5 s". */
export function formatTarget(c: Pick<TargetCheck, 'op' | 'target' | 'unit'>): string {
  return `${c.op} ${count(c.target)}${c.unit === '×' ? '×' : ` ${c.unit}`}`;
}

/** How far a missed check is off: "1.95× the limit", "36% short". */
export function shortfall(c: TargetCheck): string {
  return c.op === '≥' ? `${Math.ceil((1 - c.measured / c.target) * 100)}% short` : `${(c.measured / c.target).toFixed(2)}× the limit`;
}

/** "✅", or "❌ 1.95× the limit" / "❌ 36% short" / "❌ responses: 12 × 500". */
export function verdict(c: TargetCheck): string {
  if (c.met) return '✅';
  return `❌ ${c.invalid ?? shortfall(c)}`;
}
