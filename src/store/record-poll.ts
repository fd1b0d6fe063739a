import type { NormalisedItem } from '../parse/types.ts';
import { commitChange } from './change-seq.ts';
import type { Db } from './db.ts';
import { finishPollSuccess, type PollSuccess } from './feed-polling.ts';
import { retryOnConflict } from './retry-conflict.ts';
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
