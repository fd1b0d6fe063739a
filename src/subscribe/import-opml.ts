/**
 * OPML import (POST /api/opml, `tributary feeds import`, FEEDS=file.opml): every outline goes
 * through subscribeMany, so it is bounded in time and concurrency and each outline gets a result.
 */
import type { OpmlFeed } from '../opml/parse-opml.ts';
import { subscribeMany, type DiscoverMode, type SubscribeDeps, type SubscribedFeed } from './subscribe.ts';

const MAX_TITLE = 300;
const MAX_REGION = 100;

export interface OutlineResult {
  url: string;
  /** added: at least one feed is new; existing: all were there; rejected: refused; skipped: the import was cut short first. */
  result: 'added' | 'existing' | 'rejected' | 'skipped';
  feeds: SubscribedFeed[];
  /** The web page the feed was discovered on, when the outline pointed at one. */
  discovered_from: string | null;
  /** Why the outline was subscribed without being checked, or why it was refused or skipped. */
  reason: string | null;
}

export interface ImportResult {
  /** Feeds added. */
  added: number;
  /** Feeds that were subscribed already. */
  existing: number;
  rejected: { url: string; reason: string }[];
  /** Outlines not decided because the server shut down meanwhile. */
  skipped: number;
  /** False when the import was cut short by a shutdown. */
  complete: boolean;
  outlines: OutlineResult[];
}

export async function importOpmlFeeds(deps: SubscribeDeps, outlines: OpmlFeed[], discover: DiscoverMode = 'first'): Promise<ImportResult> {
  const batch = await subscribeMany(
    deps,
    outlines.map((o) => ({ url: o.url, title: clip(o.title, MAX_TITLE), region: clip(o.region, MAX_REGION) })),
    discover,
  );
  const result: ImportResult = { added: 0, existing: 0, rejected: [], skipped: 0, complete: batch.complete, outlines: [] };
  for (const s of batch.subscriptions) {
    if (!s.ok) {
      if (s.skipped) result.skipped++;
      else result.rejected.push({ url: s.url, reason: s.reason });
      result.outlines.push({ url: s.url, result: s.skipped ? 'skipped' : 'rejected', feeds: [], discovered_from: null, reason: s.reason });
      continue;
    }
    const added = s.feeds.filter((f) => f.status === 'added').length;
    result.added += added;
    result.existing += s.feeds.length - added;
    result.outlines.push({ url: s.url, result: added > 0 ? 'added' : 'existing', feeds: s.feeds, discovered_from: s.page, reason: s.unchecked });
  }
  return result;
}

/** OPML text is not refused for being long: it is cut, on a code point boundary. */
function clip(s: string | null, max: number): string | null {
  if (s === null || s.length <= max) return s;
  return Array.from(s).slice(0, max).join('').trimEnd() || null;
}
