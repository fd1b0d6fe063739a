import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, onServer, type TestDb } from '../helpers/db.ts';
import { addFeed, item, startApp, type RunningApp } from '../api/helpers.ts';
import { openSse, type SseEvent, type SseStream } from '../helpers/sse.ts';
import { commitChange } from '../../src/store/change-seq.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { openPostgres, type Db } from '../../src/store/db.ts';
import type { NormalisedItem } from '../../src/parse/types.ts';
import { StreamHub } from '../../src/api/stream/stream-hub.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';

type Feed = { id: number; language: string | null };

/** Stores items the way a poll does: through commitChange, which announces the change. */
async function publish(db: Db, feed: Feed, items: NormalisedItem[], now = new Date()) {
  return commitChange(
    db,
    (tx) => ingestItems(tx, feed, items, { now, retentionDays: 0 }),
    (r) => r.inserted + r.linked + r.updated > 0,
  );
}

let counter = 0;
function story(site: string, title: string, extra: Partial<NormalisedItem> = {}): NormalisedItem {
  counter++;
  return item({ url: `https://${site}.example/${counter}`, title, summary: `${title} summary`, published: new Date().toISOString(), ...extra });
}

const items = (events: SseEvent[]) => events.filter((e) => e.event === 'item').map((e) => ({ seq: Number(e.id), ...(JSON.parse(e.data) as { id: number; title: string }) }));
const titles = (events: SseEvent[]) => items(events).map((i) => i.title);
const hasTitle = (title: string) => (events: SseEvent[]) => titles(events).includes(title);

describe(`live stream /api/stream (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;
  let wire: Feed;
  let rome: Feed;
  const streams: SseStream[] = [];
  const open = async (path: string, headers: Record<string, string> = {}, base = app.base) => {
    const s = await openSse(`${base}${path}`, headers);
    streams.push(s);
    return s;
  };
  // LISTEN needs the database's URL; the app is otherwise built on the test's own Db.
  const env = (): Record<string, string> => (t.url ? { DATABASE_URL: t.url } : {});

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db, env());
    wire = await addFeed(t.db, { url: 'https://wire.example/feed', title: 'Wire', region: 'europe', language: 'en' });
    rome = await addFeed(t.db, { url: 'https://rome.example/feed', title: 'Roma', region: 'italy', language: 'it' });
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await app?.close();
    await t?.drop();
  });

  it('sends each new entry as an item event: the /api/items JSON, id = change sequence, filtered like /api/items', async () => {
    const all = await open('/api/stream');
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(all.headers['cache-control']).toBe('no-cache');
    expect(all.headers['x-accel-buffering']).toBe('no');
    const byFeed = await open(`/api/stream?feed=${rome.id}`);
    const byRegion = await open('/api/stream?region=Europe');
    const byLang = await open('/api/stream?lang=it');
    const bySearch = await open(`/api/stream?q=${encodeURIComponent('volcano -drill')}`);
    const bySince = await open(`/api/stream?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`);

    await publish(t.db, wire, [story('wire', 'Volcano erupts'), story('wire', 'Markets calm')]);
    await publish(t.db, rome, [story('rome', 'Vulcano volcano sveglio'), story('rome', 'Volcano drill in Naples'), story('rome', 'Old news', { published: '2001-01-01T00:00:00Z' })]);
    // Last, matching every filter but `since`... and the marker for "everything before it has arrived".
    await publish(t.db, rome, [story('rome', 'Volcano end marker', { published: new Date().toISOString() })]);
    for (const s of [all, byFeed, byLang, bySearch, bySince]) await s.until('the marker', hasTitle('Volcano end marker'));
    await publish(t.db, wire, [story('wire', 'Europe marker')]);
    await byRegion.until('the region marker', hasTitle('Europe marker'));
    await all.until('the region marker', hasTitle('Europe marker'));

    expect(titles(all.events)).toEqual(['Volcano erupts', 'Markets calm', 'Vulcano volcano sveglio', 'Volcano drill in Naples', 'Old news', 'Volcano end marker', 'Europe marker']);
    expect(titles(byFeed.events)).toEqual(['Vulcano volcano sveglio', 'Volcano drill in Naples', 'Old news', 'Volcano end marker']);
    expect(titles(byLang.events)).toEqual(['Vulcano volcano sveglio', 'Volcano drill in Naples', 'Old news', 'Volcano end marker']);
    expect(titles(byRegion.events)).toEqual(['Volcano erupts', 'Markets calm', 'Europe marker']);
    expect(titles(bySearch.events)).toEqual(['Volcano erupts', 'Vulcano volcano sveglio', 'Volcano end marker']);
    expect(titles(bySince.events)).not.toContain('Old news');

    // The data is /api/items' item, byte for byte; the id is the entry's change sequence, increasing.
    const sent = all.events.filter((e) => e.event === 'item');
    for (const e of sent) {
      const id = (JSON.parse(e.data) as { id: number }).id;
      expect(e.data).toBe(await (await fetch(`${app.base}/api/items/${id}`)).text());
      const seq = await t.db.query<{ change_seq: number }>('select change_seq from entries where id = $1', [id]);
      expect(Number(e.id)).toBe(Number(seq.rows[0]!.change_seq));
    }
    const seqs = sent.map((e) => Number(e.id));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('sends an edited entry again, with its new change sequence', async () => {
    const s = await open(`/api/stream?feed=${wire.id}`);
    const original = story('wire', 'Draft headline');
    await publish(t.db, wire, [original]);
    await s.until('the first version', hasTitle('Draft headline'));
    await publish(t.db, wire, [{ ...original, title: 'Final headline', updated: new Date().toISOString() }]);
    await s.until('the edit', hasTitle('Final headline'));
    const [first, second] = items(s.events);
    expect(second!.id).toBe(first!.id);
    expect(second!.seq).toBeGreaterThan(first!.seq);
  });

  it('refuses malformed filters as /api/items does, with a problem', async () => {
    for (const q of ['lang=english!', 'since=yesterday', 'feed=0', 'feed=1&feed=x', `q=${'x'.repeat(501)}`, 'region[a]=x', 'nonsense=1']) {
      const s = await open(`/api/stream?${q}`);
      expect(s.status, q).toBe(400);
      expect(s.headers['content-type']).toMatch(/^application\/problem\+json/);
      const items = await fetch(`${app.base}/api/items?${q}`);
      expect(items.status, q).toBe(400);
      await items.body?.cancel();
    }
    // Paging parameters mean nothing to a stream.
    for (const q of ['limit=5', 'cursor=x', 'until=2024-01-01', 'story=1']) {
      const s = await open(`/api/stream?${q}`);
      expect(s.status, q).toBe(400);
    }
  });

  it('resumes from Last-Event-ID with no gap and no repeat, while entries keep arriving', async () => {
    const first = await open('/api/stream');
    await publish(t.db, wire, [story('wire', 'Resume A1'), story('wire', 'Resume A2')]);
    await first.until('A2', hasTitle('Resume A2'));
    first.close();
    await first.ended;
    const resumeFrom = first.lastEventId!;

    // Published while disconnected, then while reconnecting, then after.
    await publish(t.db, wire, [story('wire', 'Resume B1')]);
    await publish(t.db, rome, [story('rome', 'Resume B2')]);
    const racing = Promise.all([1, 2, 3, 4, 5].map((n) => publish(t.db, n % 2 ? wire : rome, [story('race', `Resume C${n}`)])));
    const second = await open('/api/stream', { 'last-event-id': resumeFrom });
    await racing;
    await publish(t.db, wire, [story('wire', 'Resume D')]);
    await second.until('D', hasTitle('Resume D'));

    const got = titles(second.events);
    expect(got.slice(0, 2)).toEqual(['Resume B1', 'Resume B2']);
    expect([...got].sort()).toEqual(['Resume B1', 'Resume B2', 'Resume C1', 'Resume C2', 'Resume C3', 'Resume C4', 'Resume C5', 'Resume D']);
    const seqs = items(second.events).map((i) => i.seq);
    expect(seqs[0]).toBeGreaterThan(Number(resumeFrom));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('gives a quiet stream an id, so a reconnect after no events still misses nothing', async () => {
    const quiet = await open(`/api/stream?feed=${rome.id}`);
    await publish(t.db, wire, [story('wire', 'Not for the quiet one')]);
    await quiet.until('an id', () => quiet.lastEventId !== undefined);
    const at = quiet.lastEventId!;
    quiet.close();
    await publish(t.db, rome, [story('rome', 'Missed while away')]);
    const back = await open(`/api/stream?feed=${rome.id}`, { 'last-event-id': at });
    await back.until('the missed one', hasTitle('Missed while away'));
    expect(titles(back.events)).toEqual(['Missed while away']);
  });

  it('answers a resume from too far back, or from an id it never gave, with a reset event, then follows live', async () => {
    const before = await t.db.query<{ seq: number }>('select coalesce(max(change_seq), 0) as seq from entries');
    const from = String(before.rows[0]!.seq);
    await publish(t.db, wire, Array.from({ length: 1001 }, (_, i) => story('bulk', `Bulk ${i}`)));
    const behind = await open('/api/stream', { 'last-event-id': from });
    const bogus = await open('/api/stream', { 'last-event-id': 'not-a-number' });
    const future = await open('/api/stream', { 'last-event-id': '999999999999' });
    for (const s of [behind, bogus, future]) await s.until('a reset', (ev) => ev.some((e) => e.event === 'reset'));
    await publish(t.db, wire, [story('wire', 'After reset')]);
    for (const s of [behind, bogus, future]) {
      await s.until('live after reset', hasTitle('After reset'));
      expect(s.events.map((e) => e.event)).toEqual(['reset', 'item']);
      const reset = JSON.parse(s.events[0]!.data) as { last_event_id: string };
      expect(Number(reset.last_event_id)).toBeGreaterThan(Number(from) + 1000);
    }
  });

  it('answers a resume over a change made more than 24 h ago with a reset, and one over newer changes with them', async () => {
    const before = await t.db.query<{ seq: number }>('select coalesce(max(change_seq), 0) as seq from entries');
    const from = String(before.rows[0]!.seq);
    await publish(t.db, rome, [story('rome', 'Changed long ago')]);
    await publish(t.db, rome, [story('rome', 'Changed just now')]);
    // As if the first change were a day and an hour old: few changes since, but one beyond the time bound.
    const aged = await t.db.query<{ seq: number }>(
      `update entries set changed_at = now() - interval '25 hours' where title = 'Changed long ago' returning change_seq as seq`,
    );
    const afterAged = String(aged.rows[0]!.seq);
    const stale = await open('/api/stream', { 'last-event-id': from });
    const fresh = await open('/api/stream', { 'last-event-id': afterAged });
    await stale.until('a reset', (ev) => ev.some((e) => e.event === 'reset'));
    await fresh.until('the newer change', hasTitle('Changed just now'));
    await publish(t.db, rome, [story('rome', 'After the day-old reset')]);
    for (const s of [stale, fresh]) await s.until('live', hasTitle('After the day-old reset'));
    expect(stale.events.map((e) => e.event)).toEqual(['reset', 'item']);
    expect(JSON.parse(stale.events[0]!.data).reason).toMatch(/24 h/);
    expect(titles(fresh.events)).toEqual(['Changed just now', 'After the day-old reset']);
  });

  it('resumes over a fresh edit of an entry first stored more than 24 h ago (the edit is the change, not the first sight)', async () => {
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    const original = story('rome', 'Old story, first draft', { published: dayAgo.toISOString() });
    await publish(t.db, rome, [original], dayAgo);
    const before = await t.db.query<{ seq: number }>('select coalesce(max(change_seq), 0) as seq from entries');
    await publish(t.db, rome, [{ ...original, title: 'Old story, corrected', updated: new Date().toISOString() }]);
    const back = await open(`/api/stream?feed=${rome.id}`, { 'last-event-id': String(before.rows[0]!.seq) });
    await back.until('the edit', hasTitle('Old story, corrected'));
    expect(back.events.map((e) => e.event)).toEqual(['item']);
  });

  it('measures the 24 h bound on the clock it is given', async () => {
    const before = await t.db.query<{ seq: number }>('select coalesce(max(change_seq), 0) as seq from entries');
    const from = String(before.rows[0]!.seq);
    await publish(t.db, rome, [story('rome', 'Stored today')]);
    const metrics = createMetrics();
    const ahead = (hours: number) =>
      new StreamHub({ db: t.db, logger: silentLogger, metrics, listenUrl: t.url ?? undefined, maxClients: 10, maxPerIp: 10, now: () => new Date(Date.now() + hours * 3600_000) });
    const [tomorrow, later] = [ahead(25), ahead(23)];
    const [a, b] = [await startApp(t.db, env(), '127.0.0.1', { streams: tomorrow, metrics }), await startApp(t.db, env(), '127.0.0.1', { streams: later, metrics })];
    try {
      const stale = await open('/api/stream', { 'last-event-id': from }, a.base);
      const fresh = await open('/api/stream', { 'last-event-id': from }, b.base);
      await stale.until('a reset', (ev) => ev.some((e) => e.event === 'reset'));
      await fresh.until('the change', hasTitle('Stored today'));
      expect(stale.events.map((e) => e.event)).toEqual(['reset']);
    } finally {
      await tomorrow.close();
      await later.close();
      await a.close();
      await b.close();
    }
  });

  it('limits streams per process (503) and per address (429) with problems, and counts them in /metrics', async () => {
    const limited = await startApp(t.db, { ...env(), STREAM_MAX_CLIENTS: '2', STREAM_MAX_PER_IP: '1' });
    // Client addresses: all of 127/8 is loopback, so a client can connect from 127.0.0.2 and .3.
    const from = async (address: string) => {
      const s = await openSse(`${limited.base}/api/stream`, {}, address);
      streams.push(s);
      return s;
    };
    try {
      const a = await from('127.0.0.1');
      expect(a.status).toBe(200);
      const sameAddress = await from('127.0.0.1');
      expect(sameAddress.status).toBe(429);
      expect(sameAddress.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(await sameAddress.body())).toMatchObject({ status: 429 });
      const b = await from('127.0.0.2');
      expect(b.status).toBe(200);
      const full = await from('127.0.0.3');
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBeDefined();
      expect(JSON.parse(await full.body())).toMatchObject({ status: 503 });
      const metrics = await (await fetch(`${limited.base}/metrics`)).text();
      expect(metrics).toMatch(/^tributary_streams_open 2$/m);
      expect(metrics).toMatch(/^tributary_streams_closed_total\{reason="ip_limit"\} 1$/m);
      expect(metrics).toMatch(/^tributary_streams_closed_total\{reason="limit"\} 1$/m);
      a.close();
      await waitForMetric(limited.base, /^tributary_streams_open 1$/m);
      const again = await from('127.0.0.1');
      expect(again.status).toBe(200);
    } finally {
      for (const s of streams.splice(0)) s.close();
      await limited.close();
    }
  });

  it('answers 503 with a problem when the database cannot be reached at open, and keeps no place taken', async () => {
    const gone = Object.assign(Object.create(t.db) as Db, {
      query: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })),
    });
    const down = await startApp(gone, { STREAM_MAX_CLIENTS: '1' });
    try {
      for (let i = 0; i < 2; i++) {
        const s = await open('/api/stream', {}, down.base);
        expect(s.status).toBe(503);
        expect(s.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(s.headers['retry-after']).toBeDefined();
        // The second is refused for the database too, not for a place the first never gave back.
        expect(JSON.parse(await s.body()).detail).toMatch(/database/);
      }
    } finally {
      await down.close();
    }
  });

  it('counts open streams and events sent in /metrics', async () => {
    const s = await open('/api/stream');
    await publish(t.db, wire, [story('wire', 'Counted')]);
    await s.until('the item', hasTitle('Counted'));
    const metrics = await (await fetch(`${app.base}/metrics`)).text();
    expect(metrics).toMatch(/^tributary_streams_open 1$/m);
    expect(metrics).toMatch(/^tributary_stream_events_total\{type="item"\} [1-9]\d*$/m);
  });

  it('ends every stream cleanly when the hub closes (SIGTERM), and refuses new ones', async () => {
    const metrics = createMetrics();
    const hub = new StreamHub({ db: t.db, logger: silentLogger, metrics, listenUrl: t.url ?? undefined, maxClients: 10, maxPerIp: 10 });
    const own = await startApp(t.db, env(), '127.0.0.1', { streams: hub, metrics });
    try {
      const a = await open('/api/stream', {}, own.base);
      const b = await open(`/api/stream?lang=it`, {}, own.base);
      await hub.close();
      await Promise.all([a.ended, b.ended]);
      expect(await metrics.registry.getSingleMetricAsString('tributary_streams_closed_total')).toMatch(/reason="shutdown"\} 2/);
      const late = await open('/api/stream', {}, own.base);
      expect(late.status).toBe(503);
    } finally {
      await own.close();
    }
  });

  it('drops a client that stops reading once its buffer passes the bound, and keeps serving the others', { timeout: 180_000 }, async () => {
    const metrics = createMetrics();
    const hub = new StreamHub({ db: t.db, logger: silentLogger, metrics, listenUrl: t.url ?? undefined, maxClients: 10, maxPerIp: 10, maxBufferBytes: 1024 * 1024, heartbeatMs: 1000 });
    const own = await startApp(t.db, env(), '127.0.0.1', { streams: hub, metrics });
    try {
      const reader = await open(`/api/stream?feed=${rome.id}`, {}, own.base);
      const stalled = await open(`/api/stream?feed=${rome.id}`, {}, own.base);
      stalled.pause();
      // Far more than the socket buffers of both ends hold (Linux: at most 4 + 6 MiB by default), so
      // Node must keep the rest for the stalled client, past the bound. One entry per commit: a reader
      // in this same process drains between them.
      const big = 'x'.repeat(100_000);
      // The reader, in this busy process, needs only to catch up fully once a second to stay.
      for (let i = 0; i < 250; i++) await publish(t.db, rome, [story('big', `Big ${i}`, { content_html: `<p>${big}</p>` })]);
      await publish(t.db, rome, [story('rome', 'After the flood')]);
      // Only the newest event is looked at: parsing 20 MB of events on every arrival would be the slow client.
      await reader.until('everything', (ev) => ev[ev.length - 1]?.data.includes('"After the flood"') ?? false, 120_000);
      expect(items(reader.events).length).toBe(251);
      await waitForMetric(own.base, /^tributary_streams_closed_total\{reason="slow"\} 1$/m);
    } finally {
      await hub.close();
      await own.close();
    }
  });

  it.skipIf(!onServer)('hears changes of other processes by LISTEN, and catches up after its connection is cut', async () => {
    // Another pool, as another process would have: its commits reach this app only through NOTIFY.
    const other = openPostgres(t.url!, 2, () => undefined);
    try {
      const s = await open('/api/stream');
      await publish(other, wire, [story('wire', 'Heard by LISTEN')]);
      await s.until('the notified entry', hasTitle('Heard by LISTEN'));
      const cut = await t.db.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
         where datname = current_database() and query ilike 'listen %' and pid <> pg_backend_pid()`,
      );
      expect(cut.rows[0]!.n).toBe(1);
      // Committed while the listener is down or reconnecting: read when it listens again.
      await publish(other, wire, [story('wire', 'Committed while cut off')]);
      await s.until('the entry from the outage', hasTitle('Committed while cut off'));
      await publish(other, wire, [story('wire', 'After the reconnect')]);
      await s.until('the next one', hasTitle('After the reconnect'));
      expect(titles(s.events)).toEqual(['Heard by LISTEN', 'Committed while cut off', 'After the reconnect']);
    } finally {
      await other.close();
    }
  });

  it.skipIf(!onServer)('holds back an entry committed while an earlier change is still open, and sends both in order (no gap)', async () => {
    const s = await open('/api/stream');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedEarly = new Promise<void>((r) => (inserted = r));
    // Takes its change sequence first, commits last.
    const slow = commitChange(
      t.db,
      async (tx) => {
        const r = await ingestItems(tx, wire, [story('wire', 'Early seq, late commit')], { now: new Date(), retentionDays: 0 });
        inserted();
        await gate;
        return r;
      },
      () => true,
    );
    await insertedEarly;
    // Another language: story assignment serialises writers of one language (src/store/stories.ts).
    await publish(t.db, rome, [story('rome', 'Late seq, early commit')]);
    // The later change is committed, but the stream may not pass the open one's sequence.
    const direct = await t.db.query<{ n: number }>(`select count(*)::int as n from entries where title = 'Late seq, early commit'`);
    expect(direct.rows[0]!.n).toBe(1);
    release();
    await slow;
    await s.until('both', (ev) => titles(ev).length === 2);
    expect(titles(s.events)).toEqual(['Early seq, late commit', 'Late seq, early commit']);
  });
});

async function waitForMetric(base: string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const text = await (await fetch(`${base}/metrics`)).text();
    if (pattern.test(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`metric never matched ${pattern}`);
}
