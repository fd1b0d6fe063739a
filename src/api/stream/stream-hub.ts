import type { Response } from 'express';
import type { Db } from '../../store/db.ts';
import type { EntryFilter } from '../../store/entry-queries.ts';
import { onLocalChange, settledChangeSeq } from '../../store/change-signal.ts';
import { listenForChanges, type ChangeListener } from '../../store/change-listener.ts';
import { readChangedItems, resumeSpan, readMatchingChanges } from '../../store/changed-items.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { StreamClient, type CloseReason } from './stream-client.ts';
import { HttpProblem } from '../problem.ts';

export interface StreamHubOptions {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  /** Server: the URL to LISTEN on (DATABASE_DIRECT_URL, else DATABASE_URL). Without one the hub polls. */
  listenUrl?: string | undefined;
  maxClients: number;
  maxPerIp: number;
  heartbeatMs?: number;
  maxBufferBytes?: number;
  /** How often to look for changes when there is no LISTEN (embedded: changes made by another process). */
  pollMs?: number;
  /** A resuming client gets at most this many changes; further behind it gets `event: reset`. */
  resumeLimit?: number;
  /** …and only over changes made within this long before now; an older one means `event: reset`. */
  resumeMaxAgeMs?: number;
  /** The clock the age bound is measured on (entries' changed_at is the ingest's clock). */
  now?: () => Date;
}

/** Entries read per statement when fanning out. */
const READ_BATCH = 500;
/** While a writer holds the horizon back, look again this soon (its commit may change nothing and notify nobody). */
const RECHECK_MS = 250;
const RETRY_AFTER_ERROR_MS = 1000;

export type Admission = 'ok' | 'full' | 'ip';

interface FilterGroup {
  filter: EntryFilter;
  /** No filter: every entry matches, no SQL needed. */
  everything: boolean;
  clients: Set<StreamClient>;
}

/** A FIFO turn: reads and registrations never interleave, so a new client's starting point is exact. */
class Turn {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * The live stream's side of one API process: every open /api/stream, one change listener, one
 * read per change for all of them. `cursor` is the change sequence up to which every entry has
 * been handed to the clients; it only moves to a settled horizon (store/change-signal.ts), so an
 * entry that commits late is still read. A client registers between reads, at the cursor: it is
 * sent what changed after its Last-Event-ID up to the cursor from the database, and everything
 * after from the shared reads (held back until its catch-up is written). Nothing falls between.
 * The listener runs only while a client is connected.
 */
export class StreamHub {
  private readonly clients = new Set<StreamClient>();
  private readonly groups = new Map<string, FilterGroup>();
  private readonly perIp = new Map<string, number>();
  private reserved = 0;
  private cursor: number | null = null;
  private readonly turn = new Turn();
  private draining = false;
  private again = false;
  private closed = false;
  private stopLocal: (() => void) | null = null;
  private listener: ChangeListener | null = null;
  private timers: NodeJS.Timeout[] = [];
  private recheck: NodeJS.Timeout | null = null;
  private readonly o: Required<Omit<StreamHubOptions, 'listenUrl'>> & { listenUrl: string | undefined };

  constructor(opts: StreamHubOptions) {
    this.o = { heartbeatMs: 15_000, maxBufferBytes: 1024 * 1024, pollMs: 250, resumeLimit: 1000, resumeMaxAgeMs: 24 * 60 * 60 * 1000, now: () => new Date(), ...opts, listenUrl: opts.listenUrl };
  }

  get size(): number {
    return this.clients.size + this.reserved;
  }

  /** Takes a place for a new client, or says which limit refuses it. Call `release` if it never opens. */
  admit(ip: string): Admission {
    if (this.closed || this.size >= this.o.maxClients) return 'full';
    if ((this.perIp.get(ip) ?? 0) >= this.o.maxPerIp) return 'ip';
    this.reserved++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    return 'ok';
  }

  release(ip: string): void {
    this.reserved--;
    this.dropIp(ip);
  }

  /**
   * Starts streaming to an admitted client: registers it at the cursor (starting the listener for
   * the first one), then writes the headers and its catch-up. Rejects before any byte is written
   * (e.g. the database is unreachable), so the caller can still answer with a problem.
   */
  async open(res: Response, filter: EntryFilter, filterKey: string, ip: string, lastEventId: number | undefined): Promise<void> {
    const client = new StreamClient(res, filter, filterKey, ip, {
      maxBufferBytes: this.o.maxBufferBytes,
      onEvent: (type) => this.o.metrics.streamEvents.inc({ type }),
    });
    let registered = false;
    res.on('close', () => {
      if (registered) this.remove(client, client.closeReason ?? 'client');
    });
    let upto: number;
    try {
      upto = await this.turn.run(async () => {
        if (this.closed) throw new HttpProblem(503, 'Service Unavailable', 'shutting down; reconnect to another instance', {}, { 'Retry-After': '5' });
        await this.start();
        // Headers and position in the same turn as registering: a shared read may deliver right after.
        res.status(200).set({
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache',
          // nginx and similar proxies would otherwise buffer the stream.
          'X-Accel-Buffering': 'no',
        });
        res.flushHeaders();
        res.write('retry: 3000\n\n');
        this.reserved--;
        this.register(client);
        registered = true;
        if (lastEventId === undefined) client.advanceTo(this.cursor!);
        else client.holdLive();
        return this.cursor!;
      });
    } catch (err) {
      this.release(ip);
      throw err;
    }
    // Gone while it waited for its turn: its 'close' came before it was registered.
    if (!client.open) {
      this.remove(client, 'client');
      return;
    }
    if (lastEventId === undefined) return;
    try {
      await this.catchUp(client, lastEventId, upto);
      client.releaseLive();
    } catch (err) {
      this.o.logger.warn({ err }, 'stream catch-up failed; closing the stream (the client resumes)');
      client.close('error');
    }
  }

  /** Something was committed: read what is new (coalesced: one read at a time, one more after it). */
  kick(): void {
    if (this.closed || this.cursor === null) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.turn.run(() => this.readNew());
        } while (this.again && !this.closed);
      } catch (err) {
        this.o.logger.warn({ err }, 'stream read failed; retrying');
        this.schedule(RETRY_AFTER_ERROR_MS);
      } finally {
        this.draining = false;
      }
    })();
  }

  /** SIGTERM: ends every stream (clients reconnect elsewhere with Last-Event-ID) and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.clients]) c.close('shutdown');
    await this.turn.run(() => this.stop());
  }

  private async catchUp(client: StreamClient, after: number, upto: number): Promise<void> {
    const db = this.o.db;
    if (after >= upto) {
      // Ahead of this process (served by another one) or from somewhere else: only a real id is kept.
      const { last } = await settledChangeSeq(db);
      if (after > last) client.sendReset(upto, 'Last-Event-ID is not a change of this database');
      else client.lastSent = after;
      return;
    }
    const span = await resumeSpan(db, after, upto, this.o.resumeLimit, new Date(this.o.now().getTime() - this.o.resumeMaxAgeMs));
    if (span.count > this.o.resumeLimit) {
      client.sendReset(upto, `more than ${this.o.resumeLimit} changes since Last-Event-ID`);
      return;
    }
    // An entry's changed_at is that of its latest change only: one changed long ago and not since is
    // what marks the client as further back than the bound (an old change since overwritten is not missed).
    if (span.older) {
      client.sendReset(upto, `changes older than ${this.o.resumeMaxAgeMs / 3_600_000} h since Last-Event-ID`);
      return;
    }
    for (const row of await readMatchingChanges(db, after, upto, this.o.resumeLimit, client.filter)) client.sendItem(row.seq, row.item);
    client.advanceTo(upto);
  }

  private register(client: StreamClient): void {
    this.clients.add(client);
    this.o.metrics.streamsOpen.inc();
    let group = this.groups.get(client.filterKey);
    if (!group) {
      const everything = Object.values(client.filter).every((v) => v === undefined);
      group = { filter: client.filter, everything, clients: new Set() };
      this.groups.set(client.filterKey, group);
    }
    group.clients.add(client);
  }

  private remove(client: StreamClient, reason: CloseReason): void {
    if (!this.clients.delete(client)) return;
    const group = this.groups.get(client.filterKey);
    group?.clients.delete(client);
    if (group && group.clients.size === 0) this.groups.delete(client.filterKey);
    this.dropIp(client.ip);
    this.o.metrics.streamsOpen.dec();
    this.o.metrics.streamsClosed.inc({ reason });
    if (this.clients.size === 0) void this.turn.run(async () => (this.clients.size === 0 ? this.stop() : undefined));
  }

  private dropIp(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  /** First client: the cursor starts at the settled horizon, and changes are watched from then on. */
  private async start(): Promise<void> {
    if (this.cursor !== null) return;
    const { settled } = await settledChangeSeq(this.o.db);
    this.cursor = settled;
    const kick = () => this.kick();
    this.stopLocal = onLocalChange(this.o.db, kick);
    if (this.o.listenUrl && this.o.db.kind === 'postgres') {
      this.listener = listenForChanges({
        url: this.o.listenUrl,
        onNotify: kick,
        // First LISTEN or a reconnect: whatever was committed meanwhile is read from the cursor.
        onListening: kick,
        onError: (err) => this.o.logger.warn({ err: err.message }, 'stream change listener lost its connection; reconnecting'),
      });
    } else {
      // Embedded: a process reaching the owner's socket commits where this one cannot hear it.
      this.timers.push(setInterval(kick, this.o.pollMs));
    }
    this.timers.push(setInterval(() => this.heartbeat(), this.o.heartbeatMs));
    for (const t of this.timers) t.unref();
  }

  private async stop(): Promise<void> {
    this.cursor = null;
    this.stopLocal?.();
    this.stopLocal = null;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
    const l = this.listener;
    this.listener = null;
    await l?.close();
  }

  /** Keeps proxies from timing the connection out, and drops clients that have not taken the last bursts. */
  private heartbeat(): void {
    for (const c of this.clients) if (c.checkBacklog()) c.comment('heartbeat');
  }

  private schedule(ms: number): void {
    if (this.recheck || this.closed || this.cursor === null) return;
    this.recheck = setTimeout(() => {
      this.recheck = null;
      this.kick();
    }, ms);
    this.recheck.unref();
  }

  /** One shared read: every entry changed after the cursor up to the settled horizon, to each client it matches. */
  private async readNew(): Promise<void> {
    if (this.cursor === null) return;
    const { settled, last } = await settledChangeSeq(this.o.db);
    while (this.cursor !== null && this.cursor < settled) {
      const groups = [...this.groups.values()];
      const filtered = groups.filter((g) => !g.everything);
      const rows = await readChangedItems(this.o.db, this.cursor, settled, READ_BATCH, filtered.map((g) => g.filter));
      for (const row of rows) {
        for (const g of groups) if (g.everything) for (const c of g.clients) c.deliver(row.seq, row.item);
        filtered.forEach((g, i) => {
          if (row.matches[i]) for (const c of g.clients) c.deliver(row.seq, row.item);
        });
      }
      if (this.cursor === null) return;
      this.cursor = rows.length < READ_BATCH ? settled : rows[rows.length - 1]!.seq;
    }
    if (last > settled) this.schedule(RECHECK_MS);
  }
}
