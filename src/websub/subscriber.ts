/**
 * WebSub subscriber: the one home of a push subscription's lifecycle. The worker calls `afterPoll`
 * with the hub and self links a feed document advertises, its schedule calls `maintain` (renew
 * before the lease ends, retry failures, expire lapsed leases, unsubscribe orphans), and the API
 * and CLI call `end` when a feed is removed or disabled. State lives in websub_subscriptions, so
 * any process can answer the hub's intent verification (src/api/routes/websub.ts).
 *
 * Subscribing needs PUBLIC_URL: the hub must reach our callback `PUBLIC_URL/websub/<feed>/<token>`.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../store/db.ts';
import type { Logger } from '../observability/logger.ts';
import {
  claimDueSubscriptions,
  deleteSubscription,
  expireLapsed,
  getSubscription,
  holdPolling,
  markOrphansEnding,
  markSubscribePending,
  markUnsubscribePending,
  recordRequestFailure,
  type SubscriptionRow,
} from '../store/websub.ts';
import type { HubClient } from './hub-client.ts';

export interface WebSubLinks {
  hub: string;
  self: string;
}

export interface SubscriberOptions {
  db: Db;
  client: Pick<HubClient, 'post'>;
  logger: Logger;
  /** PUBLIC_URL; without it nothing is subscribed (ending existing subscriptions still works). */
  publicUrl: string | undefined;
  /** WEBSUB_LEASE: hub.lease_seconds asked for. */
  leaseSeconds: number;
  /** POLL_MAX_INTERVAL. */
  pollMaxSeconds: number;
  /** How long a hub may take to verify before the request counts as failed (default 10 min). */
  verifySeconds?: number;
  /** First retry delay after a failure, doubled per attempt up to a day (default 5 min). */
  retryBaseSeconds?: number;
  now?: () => Date;
}

export interface Subscriber {
  readonly enabled: boolean;
  /**
   * After a poll: subscribe when the document advertises a hub (`links`), end a subscription whose
   * hub is no longer advertised (undefined), and keep a live subscription's feed on the slow
   * schedule. null: the document was not read (304). Never throws.
   */
  afterPoll(feedId: number, links: WebSubLinks | undefined | null): Promise<void>;
  /** The feed was removed or disabled: unsubscribe at the hub. Never throws. */
  end(feedId: number): Promise<void>;
  /** The worker's schedule: expire lapsed leases, renew, retry, unsubscribe orphans. */
  maintain(): Promise<void>;
  /** Waits for requests in flight (a `poll --once` process about to exit). */
  settle(): Promise<void>;
}

/** When a verified lease is renewed: at 80% of it, and never later than a minute before it ends. */
export function renewalTime(from: Date, leaseSeconds: number): Date {
  return new Date(from.getTime() + Math.max(Math.min(leaseSeconds * 0.8, leaseSeconds - 60), 1) * 1000);
}

const MAX_RETRY_SECONDS = 86400;
/** An unsubscribe that keeps failing is given up: the hub's lease runs out by itself. */
const MAX_UNSUBSCRIBE_ATTEMPTS = 5;
const MAINTAIN_BATCH = 50;

export function createSubscriber(o: SubscriberOptions): Subscriber {
  const now = o.now ?? (() => new Date());
  const verifySeconds = o.verifySeconds ?? 600;
  const retryBase = o.retryBaseSeconds ?? 300;
  const publicUrl = o.publicUrl?.replace(/\/+$/, '');
  const later = (from: Date, seconds: number) => new Date(from.getTime() + seconds * 1000);
  const backoff = (attempts: number) => Math.min(retryBase * 2 ** Math.min(Math.max(attempts - 1, 0), 20), MAX_RETRY_SECONDS);
  const callback = (feedId: number, token: string) => `${publicUrl}/websub/${feedId}/${token}`;

  const subscribe = async (feedId: number, hub: string, topic: string): Promise<void> => {
    if (!publicUrl) return;
    const at = now();
    const row = await markSubscribePending(o.db, {
      feedId, hub, topic, leaseSeconds: o.leaseSeconds, now: at, verifyBy: later(at, verifySeconds),
      token: randomBytes(18).toString('base64url'),
      secret: randomBytes(32).toString('base64url'),
    });
    const answer = await o.client.post(hub, {
      'hub.callback': callback(feedId, row.token),
      'hub.mode': 'subscribe',
      'hub.topic': topic,
      'hub.lease_seconds': String(o.leaseSeconds),
      'hub.secret': row.secret,
    });
    if (answer.ok) {
      o.logger.info({ feedId, hub, topic }, 'WebSub subscription requested');
      return;
    }
    const failedAt = now();
    await recordRequestFailure(o.db, feedId, row.token, 'subscribe', answer.error, failedAt, later(failedAt, backoff(row.attempts + 1)));
    o.logger.warn({ feedId, hub, topic, error: answer.error }, 'WebSub subscription failed; the feed is polled as before');
  };

  const unsubscribe = async (row: SubscriptionRow): Promise<void> => {
    const live = row.state === 'pending' || (row.state === 'subscribed' && row.expires_at !== null && row.expires_at > now());
    if (!live || row.attempts >= MAX_UNSUBSCRIBE_ATTEMPTS || !publicUrl) {
      // Nothing the hub still delivers (or we cannot be verified): forget it.
      await deleteSubscription(o.db, row.feed_id);
      return;
    }
    const at = now();
    const marked = await markUnsubscribePending(o.db, row.feed_id, at, later(at, verifySeconds));
    if (!marked) return;
    const answer = await o.client.post(row.hub, {
      'hub.callback': callback(row.feed_id, row.token),
      'hub.mode': 'unsubscribe',
      'hub.topic': row.topic,
    });
    if (answer.ok) {
      o.logger.info({ feedId: row.feed_id, hub: row.hub }, 'WebSub unsubscription requested');
      return;
    }
    const failedAt = now();
    await recordRequestFailure(o.db, row.feed_id, row.token, 'unsubscribe', answer.error, failedAt, later(failedAt, backoff(row.attempts + 1)));
    o.logger.warn({ feedId: row.feed_id, hub: row.hub, error: answer.error }, 'WebSub unsubscription failed; retried later');
  };

  const inFlight = new Set<Promise<void>>();
  const guarded = (what: string, feedId: number | null, fn: () => Promise<void>): Promise<void> => {
    const run = fn()
      .catch((err: unknown) => {
        o.logger.warn({ feedId, err: (err as Error).message }, `WebSub ${what} failed`);
      })
      .finally(() => inFlight.delete(run));
    inFlight.add(run);
    return run;
  };

  return {
    enabled: Boolean(publicUrl),

    afterPoll: (feedId, links) =>
      guarded('subscription check', feedId, async () => {
        if (!publicUrl) return;
        const row = await getSubscription(o.db, feedId);
        const at = now();
        if (links === null) {
          if (row?.state === 'subscribed' && !row.ending && row.expires_at !== null && row.expires_at > at) {
            await holdPolling(o.db, feedId, o.pollMaxSeconds);
          }
          return;
        }
        if (!links) {
          // The publisher stopped advertising a hub.
          if (row && !row.ending) await unsubscribe(row);
          return;
        }
        const sameTopic = row !== null && row.hub === links.hub && row.topic === links.self;
        if (row && !row.ending && !sameTopic && (row.state === 'subscribed' || row.state === 'pending')) {
          // The feed moved to another hub or topic: end the old subscription first (one row per
          // feed); a later poll subscribes the new one.
          await unsubscribe(row);
          return;
        }
        if (row && !row.ending && sameTopic) {
          if (row.state === 'subscribed' && row.expires_at !== null && row.expires_at > at) {
            await holdPolling(o.db, feedId, o.pollMaxSeconds);
            return;
          }
          if (row.pending_mode === 'subscribe') return; // waiting for the hub's verification
          if (row.next_attempt_at !== null && row.next_attempt_at > at) return; // failed: backing off
        }
        await subscribe(feedId, links.hub, links.self);
      }),

    end: (feedId) =>
      guarded('unsubscription', feedId, async () => {
        const row = await getSubscription(o.db, feedId);
        if (row) await unsubscribe(row);
      }),

    async maintain() {
      const at = now();
      await markOrphansEnding(o.db, at);
      const lapsed = await expireLapsed(o.db, at);
      if (lapsed.length > 0) o.logger.info({ feeds: lapsed }, 'WebSub leases ran out; those feeds are polled adaptively again');
      const due = await claimDueSubscriptions(o.db, at, MAINTAIN_BATCH, verifySeconds);
      for (const row of due) {
        await guarded('maintenance', row.feed_id, async () => {
          if (row.ending && row.pending_mode === 'unsubscribe') {
            // Asked, never verified: counted, so a hub that ignores us is given up after a few tries.
            const t = now();
            return recordRequestFailure(o.db, row.feed_id, row.token, 'unsubscribe', 'the hub did not verify the unsubscription in time', t, t);
          }
          if (row.ending || !row.feed_live) return unsubscribe(row);
          if (row.pending_mode === 'subscribe') {
            // The hub accepted the request but never verified it.
            const t = now();
            return recordRequestFailure(o.db, row.feed_id, row.token, 'subscribe', 'the hub did not verify the subscription in time', t, later(t, backoff(row.attempts + 1)));
          }
          return subscribe(row.feed_id, row.hub, row.topic);
        });
      }
    },

    async settle() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
