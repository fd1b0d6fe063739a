import type { Response } from 'express';
import type { EntryFilter } from '../../store/entry-queries.ts';

/**
 * A backlog this large drops a client at once, without waiting for the next check (a firehose of
 * edits into a dead connection). Generous: one read of many large entries is a burst of tens of
 * megabytes even for a client that keeps up, and the bound is meant for backlogs that last.
 */
const hardCap = (bound: number) => Math.max(bound * 16, 64 * 1024 * 1024);

/** Why a stream ended: the client went away, it could not keep up, the process is stopping. */
export type CloseReason = 'client' | 'slow' | 'shutdown' | 'error';

export interface StreamClientHooks {
  /**
   * Bytes a client may leave unsent. One read can write a burst larger than this even to a fast
   * client, so the bound is checked between bursts (checkBacklog, at each heartbeat); only a
   * backlog past hardCap drops a client at once.
   */
  maxBufferBytes: number;
  onEvent(type: 'item' | 'reset'): void;
}

/**
 * One open /api/stream response. Writes Server-Sent Events and remembers the highest change
 * sequence the client has, so an entry is never sent twice and resumption starts where it stopped.
 * While it catches up from Last-Event-ID, live events wait in `held` and are written after.
 */
export class StreamClient {
  /** The highest change sequence the client has (by an item, or an `id:` line); -1 before the first. */
  lastSent = -1;
  closeReason: CloseReason | null = null;
  private held: { seq: number; item: string }[] | null = null;
  private heldBytes = 0;
  private overAtLastCheck = false;
  private drained = false;

  constructor(
    readonly res: Response,
    readonly filter: EntryFilter,
    /** Clients with equal filters share one match test per entry. */
    readonly filterKey: string,
    readonly ip: string,
    private readonly hooks: StreamClientHooks,
  ) {
    res.on('drain', () => (this.drained = true));
  }

  get open(): boolean {
    return this.closeReason === null && !this.res.destroyed && !this.res.writableEnded;
  }

  /** An entry from the shared read. */
  deliver(seq: number, item: string): void {
    if (!this.open) return;
    if (this.held) {
      this.held.push({ seq, item });
      this.heldBytes += item.length;
      if (this.heldBytes > hardCap(this.hooks.maxBufferBytes)) this.close('slow');
      return;
    }
    this.sendItem(seq, item);
  }

  sendItem(seq: number, item: string): void {
    if (seq <= this.lastSent) return;
    this.lastSent = seq;
    // row_to_json escapes every control character, so the JSON is one line: one data: field.
    this.write(`id: ${seq}\nevent: item\ndata: ${item}\n\n`);
    this.hooks.onEvent('item');
  }

  /** Moves the client's resume position on without an event (an `id:` alone dispatches nothing). */
  advanceTo(seq: number): void {
    if (seq <= this.lastSent) return;
    this.lastSent = seq;
    this.write(`id: ${seq}\n\n`);
  }

  /** Too far behind to catch up: the client should reload, then follow from `seq`. */
  sendReset(seq: number, reason: string): void {
    this.lastSent = Math.max(this.lastSent, seq);
    this.write(`id: ${this.lastSent}\nevent: reset\ndata: ${JSON.stringify({ reason, last_event_id: String(this.lastSent) })}\n\n`);
    this.hooks.onEvent('reset');
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /**
   * Drops the client if its backlog was past the bound at the last check and still is, without
   * having drained in between: it has not kept up for a whole interval. (One large entry is a
   * backlog for a moment even for a fast client.)
   */
  checkBacklog(): boolean {
    const over = this.res.writableLength > this.hooks.maxBufferBytes;
    if (this.open && over && this.overAtLastCheck && !this.drained) this.close('slow');
    this.overAtLastCheck = over;
    this.drained = false;
    return this.open;
  }

  holdLive(): void {
    this.held = [];
  }

  /** Catch-up is written: the live events that arrived meanwhile follow, minus those already sent. */
  releaseLive(): void {
    const held = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    for (const e of held) this.sendItem(e.seq, e.item);
  }

  close(reason: CloseReason): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    // A slow client gets no goodbye: there is no room for it. Others end cleanly.
    if (reason === 'slow' || reason === 'error') this.res.destroy();
    else this.res.end();
  }

  private write(text: string): void {
    if (!this.open) return;
    this.res.write(text);
    // What Node holds for a client that does not read (the kernel's socket buffers are full).
    if (this.res.writableLength > hardCap(this.hooks.maxBufferBytes)) this.close('slow');
  }
}
