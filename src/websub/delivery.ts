/**
 * WebSub content distribution: a hub POSTs a new version of a feed we subscribed to. Accepted only
 * for a live subscription and with a valid HMAC of the raw body (the subscription's secret); then
 * it takes a poll's path: decode → parse → dedupe → store (recordPushedItems). Anything else is
 * refused before anything is written.
 */
import type { Db } from '../store/db.ts';
import { getSubscription } from '../store/websub.ts';
import { getFeed } from '../store/feeds.ts';
import { recordPushedItems } from '../store/record-poll.ts';
import type { IngestResult } from '../store/ingest.ts';
import { decodeFeedBytes } from '../fetch/charset.ts';
import { FeedParseError, type ParsedFeed } from '../parse/types.ts';
import { checkSignature, sameToken } from './signature.ts';

export interface DeliveryDeps {
  db: Db;
  parse(text: string, opts: { baseUrl: string | null }): Promise<ParsedFeed>;
  retentionDays: number;
  storyWindowSeconds: number;
  now(): Date;
  /** Entries were committed for a feed of this region (the publisher's hub ping). */
  onStored?: (region: string | null) => void;
}

export interface Delivery {
  feedId: number;
  token: string;
  body: Buffer;
  contentType: string | null;
  signature256: string | undefined;
  signature: string | undefined;
}

export type DeliveryOutcome =
  | { kind: 'stored'; result: IngestResult }
  | { kind: 'unknown' }
  | { kind: 'gone'; reason: string }
  | { kind: 'unsigned' }
  | { kind: 'bad-signature' }
  | { kind: 'not-a-feed'; reason: string };

export async function acceptDelivery(d: DeliveryDeps, x: Delivery): Promise<DeliveryOutcome> {
  const sub = await getSubscription(d.db, x.feedId);
  if (!sub || !sameToken(sub.token, x.token)) return { kind: 'unknown' };
  const at = d.now();
  // A renewal pending keeps the subscription live; a lapsed, failed or ending one takes nothing.
  if (sub.ending) return { kind: 'gone', reason: 'the subscription is being cancelled' };
  if (sub.state !== 'subscribed' || sub.expires_at === null || sub.expires_at <= at) {
    return { kind: 'gone', reason: `the subscription is not active (${sub.state === 'subscribed' ? 'lease expired' : sub.state})` };
  }
  const signature = checkSignature({ sha256: x.signature256, legacy: x.signature }, x.body, sub.secret);
  if (signature === 'missing') return { kind: 'unsigned' };
  if (signature === 'invalid') return { kind: 'bad-signature' };

  const feed = await getFeed(d.db, x.feedId);
  if (!feed || !feed.enabled) return { kind: 'gone', reason: 'the feed was removed or disabled' };
  let parsed: ParsedFeed;
  try {
    const { text } = decodeFeedBytes(x.body, x.contentType);
    parsed = await d.parse(text, { baseUrl: sub.topic });
  } catch (err) {
    return { kind: 'not-a-feed', reason: err instanceof FeedParseError ? err.message : `cannot parse the delivery: ${(err as Error).message}` };
  }
  const result = await recordPushedItems(d.db, {
    feed: { id: feed.id, language: feed.language ?? parsed.feed.language ?? null },
    items: parsed.items,
    ingest: { now: at, retentionDays: d.retentionDays, storyWindowSeconds: d.storyWindowSeconds },
  });
  if (result.inserted + result.linked + result.updated > 0) d.onStored?.(feed.region);
  return { kind: 'stored', result };
}
