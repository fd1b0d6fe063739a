import { Worker } from 'node:worker_threads';
import { FeedParseError, type ParsedFeed } from './types.ts';
import type { ParseOptions } from './index.ts';
import { RUNNING_COMPILED } from '../paths.ts';

// Compiled (dist/), the thread runs the compiled worker directly; run through tsx, a boot file
// registers tsx inside the thread first (the boot file stays in src/: it is not TypeScript).
const WORKER_ENTRY = RUNNING_COMPILED
  ? new URL('./parse-worker.js', import.meta.url)
  : new URL('./parse-worker-boot.mjs', import.meta.url);

type Reply = { id: number; feed: ParsedFeed } | { id: number; error: { message: string; advertisedFeedUrl: string | null } };

interface Pending {
  resolve(feed: ParsedFeed): void;
  reject(err: Error): void;
}

export interface ParsePool {
  parse(text: string, opts: ParseOptions): Promise<ParsedFeed>;
  close(): Promise<void>;
}

/**
 * Parsing and sanitising are most of the poller's CPU: worker threads let them use another core
 * while the main thread fetches and writes. Jobs go to the thread with the fewest in flight.
 */
export function createParsePool(threads: number): ParsePool {
  interface Thread {
    worker: Worker;
    pending: Map<number, Pending>;
  }
  let closing = false;
  const spawn = (): Thread => {
    const t: Thread = {
      worker: new Worker(WORKER_ENTRY),
      pending: new Map(),
    };
    t.worker.on('message', (reply: Reply) => {
      const p = t.pending.get(reply.id);
      if (!p) return;
      t.pending.delete(reply.id);
      if (t.pending.size === 0) t.worker.unref(); // idle threads never keep the process alive
      if ('feed' in reply) p.resolve(reply.feed);
      else p.reject(new FeedParseError(reply.error.message, reply.error.advertisedFeedUrl));
    });
    // A thread that dies fails its jobs (recorded as parse errors) and is replaced.
    t.worker.on('exit', (code) => {
      for (const p of t.pending.values()) p.reject(new FeedParseError(`the parser stopped (exit ${code})`));
      t.pending.clear();
      const i = threadsList.indexOf(t);
      if (i >= 0 && !closing) threadsList[i] = spawn();
    });
    t.worker.on('error', () => undefined); // followed by 'exit'
    t.worker.unref();
    return t;
  };
  const threadsList: Thread[] = [];
  for (let i = 0; i < threads; i++) threadsList.push(spawn());
  let nextId = 1;
  return {
    parse(text, opts) {
      const t = threadsList.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = nextId++;
      return new Promise<ParsedFeed>((resolve, reject) => {
        t.pending.set(id, { resolve, reject });
        t.worker.ref();
        t.worker.postMessage({ id, text, baseUrl: opts.baseUrl, knownItems: opts.knownItems });
      });
    },
    async close() {
      closing = true;
      await Promise.all(threadsList.map((t) => t.worker.terminate()));
    },
  };
}
