import { describe, expect, it } from 'vitest';
import { renderMarkdown, type BenchResults, type PollPhase, type ServingPhase } from '../../bench/report.ts';
import type { EndpointKind, EndpointResult } from '../../bench/serving.ts';
import { checkTargets, verdict } from '../../bench/targets.ts';

// The bench's verdicts against the issue's targets: a wrong comparison or a check silently left out
// would print ✅ next to a number that misses the target.

const usage = (cpuSeconds: number, peakRssMb: number) => ({ cpuSeconds, peakRssMb });
const floor = (wallMs: number) => ({ feeds: 0, ok: 0, notModified: 0, failed: 0, items: 0, bytes: 0, wallMs, usage: usage(1, 100) });

function poll(name: string, feeds: number, items: number, wallMs: number, floorMs: number, newItems: number, rssMb: number): PollPhase {
  return {
    name,
    feeds,
    items,
    wallMs,
    usage: usage(1, rssMb),
    totals: { feeds, inserted: newItems, linked: 0 },
    feedsPerSec: feeds / (wallMs / 1000),
    newItemsPerSec: newItems / (wallMs / 1000),
    floorParse: floor(floorMs),
    floorDownload: null,
    floorRatio: wallMs / floorMs,
    farm: { requests: feeds, ok: feeds, notModified: 0, notFound: 0, gzipped: feeds, bytesSent: 0 },
    db: { entries: newItems, sources: newItems },
    expectedEntries: newItems,
    politenessBoundMs: 0,
  };
}

function endpoint(kind: EndpointKind, rps: number, p99Ms: number, statusCounts: Record<string, number> = { [kind === 'feedNotModified' ? '304' : '200']: 100 }): EndpointResult {
  return { kind, name: `/${kind}`, path: `/${kind}`, requestsPerSec: rps, p50Ms: p99Ms / 2, p99Ms, firstMs: null, statusCounts, errors: 0, cpuPerRequestUs: NaN };
}

function serve(entries: number, bytesPerEntry: number, endpoints: EndpointResult[]): ServingPhase {
  return {
    entries,
    sources: entries,
    loadSeconds: 10,
    bytesPerEntry,
    tableBytes: { entries: bytesPerEntry * entries, entrySources: 0 },
    searchWord: 'w',
    searchShare: 0.2,
    connections: 50,
    durationS: 10,
    endpoints,
    deepWalk: { walked: 10_000, ms: 100 },
    server: null,
  };
}

const fast = () => [
  endpoint('feed', 2000, 20),
  endpoint('feedNotModified', 9000, 5),
  endpoint('first', 900, 10),
  endpoint('deep', 900, 12),
  endpoint('search', 300, 60),
  endpoint('region', 900, 10),
];

function results(polling: PollPhase[], serving: ServingPhase[]): BenchResults {
  return { startedAt: 't', machine: { cpus: 2, node: '20', backend: 'PostgreSQL server (DATABASE_URL)', code: 'compiled dist/' }, options: {}, polling, serving, targets: [], errors: [] };
}

const byId = (r: BenchResults) => new Map(checkTargets(r).map((c) => [c.id, c]));

describe('bench targets', () => {
  it('checks polling against the floor, ingest rate, warm wall time, cost per feed and peak RSS', () => {
    const r = results(
      [
        poll('cold 1000×50', 1000, 50, 5000, 2500, 50_000, 250),
        // 3.9× the floor, 8,000 items/s, and twice the wall time per feed of the smaller run.
        poll('cold 10000×20', 10000, 20, 100_000, 25_641, 800_000, 290),
        poll('warm 10000×20', 10000, 20, 5000, 2000, 0, 310),
        poll('10% +5 10000×20', 10000, 20, 9000, 1000, 5000, 280),
      ],
      [],
    );
    const c = byId(r);
    expect(c.get('poll:cold 1000×50:floorRatio')?.met).toBe(true);
    expect(c.get('poll:cold 1000×50:ingest')?.met).toBe(true);
    expect(c.get('poll:cold 10000×20:floorRatio')).toMatchObject({ target: 2, met: false });
    expect(verdict(c.get('poll:cold 10000×20:floorRatio')!)).toBe('❌ 1.95× the limit');
    expect(verdict(c.get('poll:cold 10000×20:ingest')!)).toBe('❌ 20% short');
    expect(c.get('poll:warm 10000×20:floorRatio')).toMatchObject({ target: 3, met: true });
    // "Under 5 s": exactly 5 s misses.
    expect(c.get('poll:warm 10000×20:wall')).toMatchObject({ measured: 5, met: false });
    expect(c.get('poll:costPerFeed')).toMatchObject({ measured: 2, target: 1.3, met: false });
    // Peak RSS is checked on the rounds of the largest farm only; the 10% round has no floor target.
    expect(c.has('poll:cold 1000×50:peakRss')).toBe(false);
    expect(c.get('poll:warm 10000×20:peakRss')?.met).toBe(false);
    expect(c.get('poll:cold 10000×20:peakRss')?.met).toBe(true);
    expect(c.has('poll:10% +5 10000×20:floorRatio')).toBe(false);

    const md = renderMarkdown(r);
    expect(md).toContain('3.90× ❌ vs ≤ 2×');
    expect(md).toContain('5.00 ❌ vs < 5 s');
  });

  it('leaves cross-size checks out when only one size ran', () => {
    const c = byId(results([poll('cold 100×10', 100, 10, 1000, 1000, 1000, 100)], [serve(5000, 3000, fast())]));
    expect(c.has('poll:costPerFeed')).toBe(false);
    expect([...c.keys()].some((id) => id.startsWith('serve:scaling'))).toBe(false);
    expect(c.get('storage')).toMatchObject({ met: true });
  });

  it('checks serving per size, deep vs first page, p99 growth between sizes and storage at the largest', () => {
    const big = fast();
    big[0] = endpoint('feed', 800, 60); // /feed.xml: too slow on both counts, and 3× the small run's p99
    big[3] = endpoint('deep', 900, 16); // 1.6× the first page
    big[4] = endpoint('search', 300, 90, { '200': 10, '500': 5 }); // fast, but errors
    const r = results([], [serve(100_000, 5000, fast()), serve(1_000_000, 4000, big)]);
    const c = byId(r);
    expect(c.get('serve:100000:feed:rps')?.met).toBe(true);
    expect(c.get('serve:1000000:feed:rps')).toMatchObject({ met: false, target: 1000 });
    expect(c.get('serve:1000000:feed:p99')).toMatchObject({ met: false, target: 50 });
    expect(c.get('serve:1000000:feedNotModified:rps')?.met).toBe(true);
    expect(c.get('serve:1000000:deepVsFirst')).toMatchObject({ met: false });
    expect(c.get('serve:1000000:deepVsFirst')?.measured).toBeCloseTo(1.6);
    expect(c.get('serve:1000000:search:p99')).toMatchObject({ met: false, invalid: 'responses: 5 × 500' });
    expect(c.get('serve:scaling:feed')).toMatchObject({ measured: 3, met: false });
    expect(c.get('serve:scaling:first')).toMatchObject({ measured: 1, met: true });
    expect(c.has('serve:scaling:region')).toBe(true);
    // Storage is judged at the largest size only: 4,000 bytes is under 4 KB, the small run's 5,000 is not checked.
    expect(c.get('storage')).toMatchObject({ met: true });
    expect(checkTargets(r).filter((x) => x.id === 'storage')).toHaveLength(1);

    const md = renderMarkdown(r);
    expect(md).toContain('800 ❌ vs ≥ 1,000 req/s');
    expect(md).toContain('| p99 ÷ at 100,000 |');
    expect(md).toMatch(/## Targets — \d+ of \d+ met/);
  });

  it('checks each endpoint against its bare node:http floor and every search ladder rung at one connection', () => {
    const withFloor = (e: EndpointResult, floorRps: number, floorStatus = e.statusCounts): EndpointResult => ({
      ...e,
      floor: { requestsPerSec: floorRps, p50Ms: 1, p99Ms: 2, statusCounts: floorStatus, errors: 0, cpuPerRequestUs: 50 },
      floorRatio: floorRps / e.requestsPerSec,
    });
    const endpoints = [
      withFloor(endpoint('health', 5000, 5), 15_000), // exactly 3×: met
      withFloor(endpoint('feedNotModified', 3000, 5), 15_000), // 5×
      withFloor(endpoint('feed', 1000, 20), 1400), // 1.4×
      withFloor(endpoint('first', 1000, 20), 2100), // 2.1×
      withFloor(endpoint('item', 1000, 20), 4000, { '404': 100 }), // 4×, but the floor answered the wrong status
      withFloor(endpoint('search', 100, 20), 5000), // no floor target for search
    ];
    const rung = (word: string, matches: number, p99Ms: number) => ({
      word, matches, path: `/api/items?q=${word}`, access: 'bitmap', plan: 'Bitmap Heap Scan', requestsPerSec: 10, p50Ms: p99Ms / 2, p99Ms, statusCounts: { '200': 10 }, errors: 0, cpuPerRequestUs: NaN,
    });
    const phase = { ...serve(100_000, 3000, endpoints), ladder: [rung('absent', 0, 12), rung('common', 6000, 101)] };
    const c = byId(results([], [phase]));
    expect(c.get('serve:100000:health:floor')).toMatchObject({ measured: 3, target: 3, met: true });
    expect(c.get('serve:100000:feedNotModified:floor')).toMatchObject({ measured: 5, met: false });
    expect(c.get('serve:100000:feed:floor')).toMatchObject({ target: 1.5, met: true });
    expect(c.get('serve:100000:first:floor')).toMatchObject({ target: 2, met: false });
    expect(c.get('serve:100000:item:floor')).toMatchObject({ target: 5, met: false, invalid: 'responses: 100 × 404, no 200' });
    expect(c.has('serve:100000:search:floor')).toBe(false);
    expect(c.get('serve:100000:ladder:absent')).toMatchObject({ measured: 12, target: 100, met: true });
    expect(c.get('serve:100000:ladder:common')).toMatchObject({ met: false });
    // The absent word also has issue 10's own bound; a word that matches something does not.
    expect(c.get('serve:100000:absent')).toMatchObject({ measured: 12, target: 20, met: true });
    expect([...c.keys()].filter((k) => /^serve:\d+:absent$/.test(k))).toEqual(['serve:100000:absent']);

    const md = renderMarkdown(results([], [phase]));
    expect(md).toContain('5.00× ❌ vs ≤ 3×');
    // The issue's table in one place: each floor row and the absent word, nothing else.
    const issue = md.slice(md.indexOf('## Issue 10'), md.indexOf('## Targets'));
    expect(issue.match(/^\| [^-|][^|]*\|/gm)?.slice(1).map((r) => r.slice(2, r.indexOf(' at ')))).toEqual([
      '/health',
      '/feedNotModified',
      '/feed',
      '/first',
      '/item',
      '?q=absent (a word no entry contains)',
    ]);
    expect(md).toContain('| common | 6,000 | bitmap |');
  });
});
