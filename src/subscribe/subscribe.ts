/**
 * The one way to subscribe. The API (POST /api/feeds, PATCH url, POST /api/opml), the CLI
 * (`feeds add`, `feeds import`) and FEEDS at start all come through here, so a URL gets the same
 * checks, the same duplicate detection and the same autodiscovery wherever it is typed.
 *
 * For each URL:
 * 1. checkFeedUrl: http(s), no credentials, an IP-literal host must be allowed (no DNS: a host
 *    name is judged when it is resolved, at connect time, so an offline add works);
 * 2. a URL that is a feed already is reported as existing, without touching the network;
 * 3. a probe fetches it through the guarded fetcher: a feed document is subscribed; a web page
 *    is searched for the feeds it advertises (autodiscovery); an address refused at connect time
 *    or a document that is no feed is refused; when the probe cannot answer (host down, DNS
 *    failing, HTTP error, time out), the URL is subscribed as given and the result says so.
 */
import { setMaxListeners } from 'node:events';
import { checkFeedUrl, type AddressAllowList } from '../fetch/address-guard.ts';
import { startDeadline } from '../fetch/deadline.ts';
import type { Fetcher } from '../fetch/fetcher.ts';
import { detectFormat } from '../parse/detect.ts';
import type { Db, Queryable } from '../store/db.ts';
import { changeFeedUrl, findFeedsByUrl, insertFeeds, type FeedRow, type NewFeed } from '../store/feeds.ts';
import { advertisedFeeds } from './discover.ts';

export const MAX_FEED_URL = 2048;
const DEFAULT_IMPORT_DEADLINE_MS = 30_000;
const DEFAULT_IMPORT_CONCURRENCY = 16;

export interface SubscribeDeps {
  db: Db;
  fetcher: Pick<Fetcher, 'fetchFeed'>;
  allow: AddressAllowList;
  /** The process's shutdown: aborting it stops probes; an import answers with what it decided. */
  signal?: AbortSignal | undefined;
  /** Budget for a whole import (OPML, FEEDS); outlines not probed by then are subscribed unchecked. */
  importDeadlineMs?: number | undefined;
  /** Probes in flight at once during an import. */
  importConcurrency?: number | undefined;
}

/** `first`: the first feed a page advertises; `all`: every one. */
export type DiscoverMode = 'first' | 'all';

export interface SubscriptionRequest {
  url: string;
  title?: string | null | undefined;
  region?: string | null | undefined;
  language?: string | null | undefined;
}

export interface SubscribedFeed {
  id: number;
  url: string;
  status: 'added' | 'existing';
}

export type Subscription =
  | {
      ok: true;
      /** The URL as requested. */
      url: string;
      feeds: SubscribedFeed[];
      /** The web page the feeds were discovered on, or null when the URL is the feed itself. */
      page: string | null;
      /** Set when the URL could not be probed and was subscribed as given (offline add). */
      unchecked: string | null;
    }
  | { ok: false; url: string; reason: string; /** Not decided: the import was cancelled before this URL. */ skipped?: true };

/** What a probe decided for one URL: the feed URLs to subscribe, or a refusal. */
type Resolution =
  | { ok: true; urls: string[]; page: string | null; unchecked: string | null }
  | { ok: false; reason: string; skipped?: true };

/** Scheme, credentials, literal-address policy and length; the normalised URL or the reason. */
function checkUrl(input: string, allow: AddressAllowList): { ok: true; url: string } | { ok: false; reason: string } {
  const checked = checkFeedUrl(input, allow);
  if (checked.ok && checked.url.length > MAX_FEED_URL) return { ok: false, reason: `must be at most ${MAX_FEED_URL} characters` };
  return checked;
}

/** Subscribes one URL (API, CLI). */
export async function subscribe(deps: SubscribeDeps, req: SubscriptionRequest, discover: DiscoverMode = 'first'): Promise<Subscription> {
  const checked = checkUrl(req.url, deps.allow);
  if (!checked.ok) return { ok: false, url: req.url, reason: checked.reason };
  const resolution = await resolveOne(deps, checked.url, discover);
  if (!resolution.ok) return { ok: false, url: req.url, reason: resolution.reason };
  const [result] = await store(deps.db, [{ req, resolution }]);
  return result!;
}

/** Outcome of a batch: one Subscription per request, in order, and whether every request was decided. */
export interface BatchResult {
  subscriptions: Subscription[];
  /** False when the shutdown signal cut the batch short (the skipped requests say so). */
  complete: boolean;
}

/**
 * Subscribes many URLs (OPML, FEEDS): checks them all, skips the known ones, probes the rest a
 * few at a time within one overall deadline, then stores everything in one statement. Whatever
 * the remote hosts do, it answers within the deadline; the shutdown signal ends it sooner.
 */
export async function subscribeMany(deps: SubscribeDeps, reqs: SubscriptionRequest[], discover: DiscoverMode = 'first'): Promise<BatchResult> {
  const checks = reqs.map((r) => checkUrl(r.url, deps.allow));
  const wanted = [...new Set(checks.flatMap((c) => (c.ok ? [c.url] : [])))];
  const known = new Set((await findFeedsByUrl(deps.db, wanted)).map((f) => f.url));

  const resolutions = new Map<string, Resolution>();
  for (const url of known) resolutions.set(url, { ok: true, urls: [url], page: null, unchecked: null });
  const toProbe = wanted.filter((u) => !known.has(u));

  const deadlineMs = deps.importDeadlineMs ?? DEFAULT_IMPORT_DEADLINE_MS;
  const deadline = startDeadline(deadlineMs, deps.signal);
  const concurrency = deps.importConcurrency ?? DEFAULT_IMPORT_CONCURRENCY;
  // Every probe in flight listens to this signal (and undici adds its own): not a leak.
  setMaxListeners(4 * concurrency + 10, deadline.signal);
  try {
    await forEachBounded(toProbe, concurrency, deadline.signal, async (url) => {
      // A probe cut off by the deadline or the shutdown is left undecided, and settled below.
      const resolution = await probe(deps, url, discover, deadline.signal).catch((err: unknown) => {
        if (deadline.signal.aborted) return null;
        throw err;
      });
      if (resolution) resolutions.set(url, resolution);
    });
  } finally {
    deadline.dispose();
  }
  const shutDown = deps.signal?.aborted === true;
  for (const url of toProbe) {
    if (resolutions.has(url)) continue;
    resolutions.set(
      url,
      shutDown
        ? { ok: false, reason: 'not imported: the server is shutting down', skipped: true }
        : { ok: true, urls: [url], page: null, unchecked: `not checked: the import took longer than ${deadlineMs} ms` },
    );
  }

  const decided = reqs.map((req, i) => {
    const c = checks[i]!;
    const resolution: Resolution = c.ok ? resolutions.get(c.url)! : { ok: false, reason: c.reason };
    return { req, resolution };
  });
  return { subscriptions: await store(deps.db, decided), complete: !shutDown };
}

export type UrlChange =
  | { kind: 'changed'; feed: FeedRow; page: string | null; unchecked: string | null }
  | { kind: 'refused'; reason: string }
  | { kind: 'taken'; feedId: number }
  | { kind: 'missing' };

/** Moves a feed to a new URL (PATCH url), checked like a new subscription; a page leads to its first feed. */
export async function changeSubscriptionUrl(deps: SubscribeDeps, feedId: number, input: string): Promise<UrlChange> {
  const checked = checkUrl(input, deps.allow);
  if (!checked.ok) return { kind: 'refused', reason: checked.reason };
  const resolution = await resolveOne(deps, checked.url, 'first');
  if (!resolution.ok) return { kind: 'refused', reason: resolution.reason };
  const change = await changeFeedUrl(deps.db, feedId, resolution.urls[0]!);
  if (change.kind !== 'changed') return change;
  return { kind: 'changed', feed: change.feed, page: resolution.page, unchecked: resolution.unchecked };
}

/** A URL subscribed already needs no probe: it is that feed. */
async function resolveOne(deps: SubscribeDeps, url: string, discover: DiscoverMode): Promise<Resolution> {
  const known = await findFeedsByUrl(deps.db, [url]);
  if (known.length > 0) return { ok: true, urls: [url], page: null, unchecked: null };
  return probe(deps, url, discover, deps.signal);
}

/**
 * Fetches a URL once to learn what it is. Rejects only when `signal` aborts (the fetcher's
 * contract); everything a remote server does becomes a Resolution.
 */
async function probe(deps: SubscribeDeps, url: string, discover: DiscoverMode, signal: AbortSignal | undefined): Promise<Resolution> {
  const res = await deps.fetcher.fetchFeed({ url }, signal ? { signal } : {});
  if (res.kind === 'not-modified') return { ok: true, urls: [url], page: null, unchecked: null };
  if (res.kind === 'error') {
    // The guard refused an address this host resolves to: that is an answer, not an outage.
    if (res.errorKind === 'blocked') return { ok: false, reason: res.message.replace(/^refused: /, '') };
    return { ok: true, urls: [url], page: null, unchecked: `not checked now: ${res.message}` };
  }
  const detected = detectFormat(res.text.replace(/^\uFEFF/, ''));
  switch (detected.kind) {
    case 'xml':
    case 'json':
      return { ok: true, urls: [url], page: null, unchecked: null };
    case 'html':
      return discoverOnPage(deps, url, res.finalUrl, res.text, discover);
    case 'empty':
      return { ok: false, reason: `${url} answered with an empty document, not a feed` };
    case 'unknown':
      return {
        ok: false,
        reason: `${url} is not a feed${detected.rootName ? ` (its root element is <${detected.rootName}>)` : ''}`,
      };
  }
}

function discoverOnPage(deps: SubscribeDeps, url: string, finalUrl: string, html: string, discover: DiscoverMode): Resolution {
  const advertised = advertisedFeeds(html, finalUrl);
  if (advertised.length === 0) {
    return { ok: false, reason: `${url} is a web page that advertises no feed (no <link rel="alternate"> of a feed type)` };
  }
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const feed of discover === 'all' ? advertised : advertised.slice(0, 1)) {
    const c = checkUrl(feed.url, deps.allow);
    if (c.ok) accepted.push(c.url);
    else refused.push(`${feed.url}: ${c.reason}`);
  }
  if (accepted.length === 0) return { ok: false, reason: `the feed ${url} advertises is refused: ${refused.join('; ')}` };
  return { ok: true, urls: [...new Set(accepted)], page: url, unchecked: null };
}

/** Inserts every accepted feed URL in one statement, then reports each request's feeds as added or existing. */
async function store(q: Queryable, decided: { req: SubscriptionRequest; resolution: Resolution }[]): Promise<Subscription[]> {
  const rows = new Map<string, NewFeed>();
  for (const { req, resolution } of decided) {
    if (!resolution.ok) continue;
    // A title names one feed; with several discovered ones the feeds keep their own titles.
    const title = resolution.urls.length === 1 ? req.title : null;
    for (const url of resolution.urls) {
      if (!rows.has(url)) rows.set(url, { url, title, region: req.region, language: req.language });
    }
  }
  const inserted = await insertFeeds(q, [...rows.values()]);
  const addedIds = new Map(inserted.map((f) => [f.url, f.id]));
  const insertedUrls = new Set(addedIds.keys());
  const existingIds = new Map((await findFeedsByUrl(q, [...rows.keys()].filter((u) => !insertedUrls.has(u)))).map((f) => [f.url, f.id]));

  // A URL is "added" for the first request that asked for it, "existing" for the ones after.
  const claimed = new Set<string>();
  return decided.map(({ req, resolution }): Subscription => {
    if (!resolution.ok) return { ok: false, url: req.url, reason: resolution.reason, ...(resolution.skipped ? { skipped: true as const } : {}) };
    const feeds = resolution.urls.map((url): SubscribedFeed => {
      const added = addedIds.get(url);
      if (added !== undefined && !claimed.has(url)) {
        claimed.add(url);
        return { id: added, url, status: 'added' };
      }
      return { id: added ?? existingIds.get(url) ?? 0, url, status: 'existing' };
    });
    return { ok: true, url: req.url, feeds, page: resolution.page, unchecked: resolution.unchecked };
  });
}

/** Runs `fn` over `items`, at most `concurrency` at a time; stops starting new ones once `signal` aborts. */
async function forEachBounded<T>(items: T[], concurrency: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !signal.aborted) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, lane));
}
