import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * A FIFO mutex over the one PGlite backend. The owner's own queries and transactions and every
 * socket client take it, so nobody's statement ever runs inside somebody else's transaction.
 */
export class Lane {
  private tail: Promise<void> = Promise.resolve();

  /** Waits for the lane; the returned function hands it to the next waiter. */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const turn = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return turn;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** A client that keeps the backend in a transaction this long without a word is cut off (its work rolled back). */
const IDLE_IN_TRANSACTION_MS = 60_000;
/** Far above any statement we send; a length beyond it means a broken or hostile client. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface EmbeddedServer {
  /** Stops accepting, cuts every client (rolling back what it left open) and closes the listener. */
  close(): Promise<void>;
}

/**
 * Serves one PGlite instance to `pg` clients on a Unix socket.
 *
 * Written here rather than taken from @electric-sql/pglite-socket (0.2.17): its queue interleaves
 * clients message by message, so two clients' Parse/Bind/Execute runs mix on the one backend and one
 * binds the other's unnamed statement (electric-sql/pglite#1046, open); an exception inside its queue
 * stops it for good; the owner's own PGlite transactions do not wait for a socket client's open
 * transaction (it takes only PGlite's query mutex); and it pins @electric-sql/pglite to 0.5.14 exactly
 * plus seven extension packages as required peers. Here a client's messages run as whole groups up to
 * Sync or Query, and the client keeps the lane until the backend reports idle (ReadyForQuery 'I'),
 * i.e. for the whole of an explicit transaction. The session is shared, so clients must not rely on
 * session state (SET, named prepared statements); our store uses neither.
 */
export async function serveEmbedded(lite: PGlite, lane: Lane, socketPath: string): Promise<EmbeddedServer> {
  const connections = new Set<Connection>();
  const server: Server = createServer((socket) => {
    const conn = new Connection(lite, lane, socket);
    connections.add(conn);
    void conn.done.then(() => connections.delete(conn));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Later errors (a client's socket, accept failures) must not crash the owner.
  server.on('error', () => undefined);
  return {
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      const all = [...connections];
      for (const c of all) c.cut();
      await Promise.all(all.map((c) => c.done));
      await closed;
    },
  };
}

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private group: Buffer[] = [];
  private started = false;
  private release: (() => void) | null = null;
  /** Messages of this client run one group at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly status = new ReadyStatusScanner();
  private ended = false;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    private readonly lite: PGlite,
    private readonly lane: Lane,
    private readonly socket: Socket,
  ) {
    this.done = new Promise((r) => (this.finish = r));
    socket.on('data', (d: Buffer) => this.receive(d));
    socket.on('error', () => this.cut());
    socket.on('close', () => this.end());
  }

  cut(): void {
    this.socket.destroy();
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearIdle();
    this.enqueue(() => this.rollbackAndLeave());
    void this.chain.then(() => this.finish());
  }

  private receive(data: Buffer): void {
    if (this.ended) return;
    this.clearIdle();
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    for (;;) {
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const len = this.buffer.readInt32BE(0);
        if (len < 8 || len > 10_000) return this.cut();
        if (this.buffer.length < len) return;
        const packet = this.buffer.subarray(0, len);
        this.buffer = this.buffer.subarray(len);
        const code = packet.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) return this.cut(); // no backend to signal: PGlite runs one statement at a time
        this.started = true;
        this.submit([packet]);
        continue;
      }
      if (this.buffer.length < 5) return;
      const len = this.buffer.readInt32BE(1);
      if (len < 4 || len > MAX_MESSAGE_BYTES) return this.cut();
      if (this.buffer.length < len + 1) return;
      const message = this.buffer.subarray(0, len + 1);
      this.buffer = this.buffer.subarray(len + 1);
      const type = String.fromCharCode(message[0]!);
      if (type === 'X') return this.cut(); // Terminate: PGlite's backend is shared, so it never sees it
      this.group.push(message);
      // Sync ends an extended-protocol run, Query is a whole simple-protocol run, Flush asks for output now.
      if (type === 'S' || type === 'Q' || type === 'H') this.submit(this.group.splice(0));
    }
  }

  private submit(messages: Buffer[]): void {
    this.enqueue(() => this.runGroup(messages));
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch(() => this.cut());
  }

  private async runGroup(messages: Buffer[]): Promise<void> {
    if (this.ended) return;
    if (!this.release) this.release = await this.lane.acquire();
    if (this.ended) return; // cut while waiting: rollbackAndLeave (queued after us) hands the lane back
    await this.lite.runExclusive(async () => {
      for (const m of messages) {
        await this.lite.execProtocolRawStream(m, {
          onRawData: (d) => {
            this.status.scan(d);
            if (!this.socket.destroyed) this.socket.write(Buffer.from(d));
          },
        });
      }
    });
    if (this.status.last === 'I') {
      this.leave();
    } else {
      // In a transaction (or mid extended query): keep the lane, but not forever.
      this.idleTimer = setTimeout(() => this.cut(), IDLE_IN_TRANSACTION_MS);
      this.idleTimer.unref();
    }
  }

  /** A client gone in the middle of a transaction leaves it open on the shared backend: end it. */
  private async rollbackAndLeave(): Promise<void> {
    if (!this.release) return;
    if (this.status.last !== 'I') {
      await this.lite
        .runExclusive(async () => {
          await this.lite.execProtocolRawStream(SYNC, { onRawData: () => undefined });
          await this.lite.execProtocolRawStream(simpleQuery('rollback'), { onRawData: () => undefined });
        })
        .catch(() => undefined);
      this.status.last = 'I';
    }
    this.leave();
  }

  private leave(): void {
    const release = this.release;
    this.release = null;
    release?.();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

const SYNC = Uint8Array.from([0x53, 0, 0, 0, 4]);

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('Q', 0, 'latin1');
  head.writeInt32BE(text.length + 4, 1);
  return Buffer.concat([head, text]);
}

/** Follows backend messages across chunks and remembers the status of the last ReadyForQuery. */
class ReadyStatusScanner {
  last: string = 'I';
  private header: Buffer = Buffer.alloc(0);
  private skip = 0;
  private wantStatus = false;

  scan(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        if (this.wantStatus && n > 0) {
          this.last = String.fromCharCode(chunk[i]!);
          this.wantStatus = false;
        }
        this.skip -= n;
        i += n;
        continue;
      }
      const need = 5 - this.header.length;
      const take = Math.min(need, chunk.length - i);
      this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
      i += take;
      if (this.header.length < 5) return;
      const type = String.fromCharCode(this.header[0]!);
      this.skip = this.header.readInt32BE(1) - 4;
      this.wantStatus = type === 'Z' && this.skip === 1;
      this.header = Buffer.alloc(0);
    }
  }
}
