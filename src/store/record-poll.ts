import type { NormalisedItem } from '../parse/types.ts';
import { commitChange } from './change-seq.ts';
import { isDbUnavailable, type Db } from './db.ts';
import { finishPollsSuccess, lockHeldLeases, type PollSuccess } from './feed-polling.ts';
import { retryOnConflict } from './retry-conflict.ts';
import { ingestItems, ingestPolls, type IngestDigests, type IngestFeed, type IngestOptions, type IngestResult } from './ingest.ts';
import { saveItemDigests } from './feed-item-digests.ts';

export interface PolledItems {
  feed: IngestFeed;
  items: NormalisedItem[];
  /** The document was parsed against the feed's last record (ParsedFeed.digests). */
  digests?: IngestDigests | undefined;
  ingest: IngestOptions;
  poll: PollSuccess;
}

/** Per poll: what was stored, null when its lease was lost (nothing stored), or the error that failed it alone. */
export type RecordedPoll = IngestResult | null | Error;

/**
 * Stores the fetched polls of several feeds (those that finished close together) in one
 * transaction: their items, set-based across feeds (ingestPolls), and each feed's new state
 * (validators, schedule), so a crash can never make a feed look fresh while its items were not
 * saved. The change sequence moves once per committed batch (commitChange).
 *
 * Leases are checked per feed first, under row locks held to commit: a feed whose lease another
 * worker took is left out (null) and the rest are stored. A batch that fails for a reason other
 * than the database itself is written again one feed at a time, so one feed's bad data fails that
 * feed alone.
 */
export async function recordPolls(db: Db, polls: readonly PolledItems[]): Promise<RecordedPoll[]> {
  if (polls.length === 0) return [];
  try {
    return await retryOnConflict(() =>
      commitChange(
        db,
        async (tx) => {
          const held = await lockHeldLeases(tx, polls.map((p) => ({ id: p.poll.id, owner: p.poll.owner })));
          const kept = polls.filter((p) => held.has(p.poll.id));
          if (kept.length === 0) return polls.map(() => null);
          const now = new Date(Math.max(...kept.map((p) => p.ingest.now.getTime())));
          const results = await ingestPolls(tx, kept, { ...kept[0]!.ingest, now });
          await saveItemDigests(tx, kept.flatMap((p, i) => {
            const digests = results[i]!.itemDigests;
            return digests === undefined ? [] : [{ feedId: p.feed.id, digests, prior: p.digests?.prior ?? null }];
          }));
          const finished = await finishPollsSuccess(tx, kept.map((p) => p.poll));
          // The rows are locked since the check: a lease cannot have gone since.
          if (finished.some((ok) => !ok)) throw new Error('a locked lease was not held at finish');
          const byPoll = new Map(kept.map((p, i) => [p, countsOf(results[i]!)]));
          return polls.map((p) => byPoll.get(p) ?? null);
        },
        (rs) => rs.some((r) => r !== null && r.inserted + r.linked + r.updated > 0),
      ),
    );
  } catch (err) {
    if (isDbUnavailable(err)) throw err;
    if (polls.length === 1) return [err instanceof Error ? err : new Error(String(err))];
    const one: RecordedPoll[] = [];
    for (const p of polls) one.push((await recordPolls(db, [p]))[0]!);
    return one;
  }
}

function countsOf({ inserted, linked, updated, unchanged, skippedOld, tombstoned }: IngestResult): IngestResult {
  return { inserted, linked, updated, unchanged, skippedOld, tombstoned };
}

/** Stores one fetched poll (recordPolls of one); null when the lease was lost. */
export async function recordPolledItems(db: Db, p: PolledItems): Promise<IngestResult | null> {
  const [r] = await recordPolls(db, [p]);
  if (r instanceof Error) throw r;
  return r ?? null;
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
