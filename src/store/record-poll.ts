import type { NormalisedItem } from '../parse/types.ts';
import { commitChange } from './change-seq.ts';
import type { Db } from './db.ts';
import { finishPollSuccess, type PollSuccess } from './feed-polling.ts';
import { ingestItems, type IngestFeed, type IngestOptions, type IngestResult } from './ingest.ts';

export interface PolledItems {
  feed: IngestFeed;
  items: NormalisedItem[];
  ingest: IngestOptions;
  poll: PollSuccess;
}

/**
 * Stores one fetched poll: its items and the feed's new state (validators, schedule) in one
 * transaction, so a crash can never make the feed look fresh while its items were not saved.
 * Null when the lease was lost to another worker (nothing is stored).
 */
export async function recordPolledItems(db: Db, p: PolledItems): Promise<IngestResult | null> {
  return retryOnConflict(() =>
    commitChange(
      db,
      async (tx) => {
        const result = await ingestItems(tx, p.feed, p.items, p.ingest);
        if (!(await finishPollSuccess(tx, p.poll))) throw new LeaseLost();
        return result;
      },
      (r) => r.inserted + r.linked + r.updated > 0,
    ),
  ).catch((err: unknown) => {
    if (err instanceof LeaseLost) return null;
    throw err;
  });
}

class LeaseLost extends Error {}

/**
 * Two workers editing one shared entry (a syndicated story) can deadlock or hit a serialization
 * failure; PostgreSQL aborts one of them, which is safe to run again.
 */
async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (i >= attempts || (code !== '40P01' && code !== '40001')) throw err;
      await new Promise((r) => setTimeout(r, 20 * i + Math.random() * 50));
    }
  }
}

export interface PushedItems {
  feed: IngestFeed;
  items: NormalisedItem[];
  ingest: IngestOptions;
}

/**
 * Stores a document a WebSub hub delivered: the same ingest as a poll, in one transaction with the
 * change sequence bumped after commit, but without a poll's state (no lease, no validators: the
 * feed's own URL was not fetched).
 */
export async function recordPushedItems(db: Db, p: PushedItems): Promise<IngestResult> {
  return retryOnConflict(() =>
    commitChange(db, (tx) => ingestItems(tx, p.feed, p.items, p.ingest), (r) => r.inserted + r.linked + r.updated > 0),
  );
}
