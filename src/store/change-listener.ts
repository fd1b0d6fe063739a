import pg from 'pg';
import { CHANGE_CHANNEL } from './change-signal.ts';

export interface ChangeListenerOptions {
  /** A direct (session) connection: LISTEN does not survive a transaction-pooling PgBouncer. */
  url: string;
  /** A notification arrived (the payload is the new sequence value; readers re-read from their own position). */
  onNotify(seq: number): void;
  /** LISTEN is in place, first time or after a reconnect: notifications may have been missed, read now. */
  onListening(): void;
  onError?(err: Error): void;
}

export interface ChangeListener {
  close(): Promise<void>;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/**
 * One LISTEN connection on tributary_changes, kept open: when it breaks (server restart, a
 * terminated backend, network) it reconnects with growing pauses, and calls onListening once it
 * listens again so the caller catches up on what was committed meanwhile.
 */
export function listenForChanges(o: ChangeListenerOptions): ChangeListener {
  let closed = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  let attempt = 0;

  const retry = () => {
    if (closed || timer) return;
    const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt++);
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, wait);
    timer.unref();
  };

  const connect = async () => {
    const c = new pg.Client({ connectionString: o.url, keepAlive: true, connectionTimeoutMillis: 5000 });
    client = c;
    let failed = false;
    const fail = (err?: Error) => {
      if (failed) return;
      failed = true;
      if (err) o.onError?.(err);
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      if (client === c) client = null;
      retry();
    };
    // Without an 'error' listener a dropped connection would end the process.
    c.on('error', fail);
    c.on('end', () => fail());
    c.on('notification', (n) => {
      if (n.channel === CHANGE_CHANNEL) o.onNotify(Number(n.payload));
    });
    try {
      await c.connect();
      await c.query(`listen ${CHANGE_CHANNEL}`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (closed) {
      failed = true;
      await c.end().catch(() => undefined);
      return;
    }
    attempt = 0;
    o.onListening();
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const c = client;
      client = null;
      if (c) {
        c.removeAllListeners('end');
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
