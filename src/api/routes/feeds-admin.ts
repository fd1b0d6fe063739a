/**
 * Feed management: list and inspect feeds (public), add, change, delete and refresh them, and
 * import/export OPML (writes need the admin token).
 */
import express from 'express';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { requireAdmin } from '../auth.ts';
import { HttpProblem, badRequest, conflict, notFound } from '../problem.ts';
import { parseId } from '../params.ts';
import { deleteFeed, getFeed, listFeeds, updateFeed, type FeedWithStats } from '../../store/feeds.ts';
import { parseOpml, OpmlError } from '../../opml/parse-opml.ts';
import { renderOpml } from '../../opml/render-opml.ts';
import { importOpmlFeeds } from '../../subscribe/import-opml.ts';
import { changeSubscriptionUrl, MAX_FEED_URL, subscribe, type Subscription } from '../../subscribe/subscribe.ts';
import { getSubscription, listSubscriptions } from '../../store/websub.ts';
import { NO_PUSH, pushView, type PushView } from '../../websub/push-state.ts';

const MAX_INT4 = 2147483647;
const MAX_URL = MAX_FEED_URL;
const MAX_TITLE = 300;
const MAX_REGION = 100;
const OPML_TYPES = ['text/x-opml', 'application/xml', 'text/xml'];
const OPML_LIMIT = '1mb';

/** The feed as the API shows it: status fields, no HTTP cache validators or lease internals. */
export interface FeedView {
  id: number;
  url: string;
  title: string | null;
  site_url: string | null;
  region: string | null;
  language: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  last_fetched_at: string | null;
  last_status: number | null;
  last_error: string | null;
  last_error_kind: string | null;
  error_count: number;
  next_poll_at: string | null;
  poll_interval_s: number | null;
  entry_count: number;
  created_at: string | null;
  /** WebSub: whether the publisher pushes this feed to us. */
  push: PushView;
}

export function feedView(f: FeedWithStats, push: PushView = NO_PUSH): FeedView {
  return {
    id: f.id,
    url: f.url,
    title: f.title,
    site_url: f.site_url,
    region: f.region,
    language: f.language,
    enabled: f.enabled,
    disabled_reason: f.disabled_reason,
    last_fetched_at: iso(f.last_fetched_at),
    last_status: f.last_status,
    last_error: f.last_error,
    last_error_kind: f.last_error_kind,
    error_count: f.error_count,
    next_poll_at: iso(f.next_poll_at),
    poll_interval_s: f.poll_interval_s,
    entry_count: f.entry_count,
    created_at: iso(f.created_at),
    push,
  };
}

async function pushOf(deps: ApiDeps, feedId: number): Promise<PushView> {
  return pushView(await getSubscription(deps.db, feedId), new Date());
}

function iso(d: Date | string | null): string | null {
  if (d === null) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}

/** Trimmed text with a length cap; blank means "none" (null). */
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters')
    .transform((v) => (v === '' ? null : v));

const feedUrl = z.string({ error: 'is required, as a string' }).trim().min(1, 'is required').max(MAX_URL, `must be at most ${MAX_URL} characters`);

const newFeedBody = z.strictObject({
  url: feedUrl,
  // Given a web page: subscribe the first feed it advertises, or every one.
  discover: z.enum(['first', 'all'], { error: 'must be "first" or "all"' }).optional(),
  title: optionalText(MAX_TITLE).nullable().optional(),
  region: optionalText(MAX_REGION).nullable().optional(),
  // A language tag (en, it, ar-SY): picks the stemmer for full-text search when the feed names none.
  language: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/, 'must be a language tag like en, it or ar-SY')
    .transform((v) => v.toLowerCase().replace('_', '-'))
    .nullable()
    .optional(),
});

const feedPatchBody = z.strictObject({
  url: feedUrl.optional(),
  title: optionalText(MAX_TITLE).nullable().optional(),
  region: optionalText(MAX_REGION).nullable().optional(),
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
});

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('body', 'expected a JSON object (Content-Type: application/json)');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) =>
    i.code === 'unrecognized_keys'
      ? { parameter: i.keys.join(', '), reason: 'unknown field' }
      : { parameter: i.path.map(String).join('.') || 'body', reason: i.message },
  );
  throw new HttpProblem(400, 'Bad Request', errors.map((e) => `${e.parameter}: ${e.reason}`).join('; '), { errors });
}

const feedId = (value: unknown) => parseId(value, 'id', MAX_INT4);

async function mustGetFeed(deps: ApiDeps, id: number): Promise<FeedWithStats> {
  const feed = await getFeed(deps.db, id);
  if (!feed) throw notFound(`feed ${id}`);
  return feed;
}

export function registerFeedRoutes(app: express.Express, deps: ApiDeps): void {
  const admin = requireAdmin(deps.config);
  // The app may parse JSON already; body-parser skips a body that has been read.
  const json = express.json({ limit: '64kb' });

  app.get('/api/feeds', async (_req, res) => {
    const [feeds, subs] = await Promise.all([listFeeds(deps.db), listSubscriptions(deps.db)]);
    const byFeed = new Map(subs.map((s) => [s.feed_id, s]));
    const now = new Date();
    res.json({ feeds: feeds.map((f) => feedView(f, pushView(byFeed.get(f.id), now))) });
  });

  app.get('/api/feeds/:id', async (req, res) => {
    const id = feedId(req.params.id);
    res.json(feedView(await mustGetFeed(deps, id), await pushOf(deps, id)));
  });

  app.post('/api/feeds', admin, json, async (req, res) => {
    const body = parseBody(newFeedBody, req.body);
    const sub = await unlessShuttingDown(deps, subscribe(deps.subscribe, body, body.discover ?? 'first'));
    if (!sub.ok) throw badRequest('url', sub.reason);
    const added = sub.feeds.filter((f) => f.status === 'added');
    const first = added[0];
    if (!first) {
      const existing = sub.feeds[0];
      throw conflict(`a feed with this URL exists already (id ${existing?.id ?? 'unknown'})`, {
        feed_id: existing?.id ?? null,
        ...subscriptionFields(sub),
      });
    }
    for (const f of added) deps.logger.info({ feedId: f.id, url: f.url, page: sub.page }, 'feed added');
    res
      .status(201)
      .location(`/api/feeds/${first.id}`)
      .json({ ...feedView(await mustGetFeed(deps, first.id)), ...subscriptionFields(sub) });
  });

  app.patch('/api/feeds/:id', admin, json, async (req, res) => {
    const id = feedId(req.params.id);
    const patch = parseBody(feedPatchBody, req.body);
    if (patch.url === undefined && patch.title === undefined && patch.region === undefined && patch.enabled === undefined) {
      throw badRequest('body', 'expected at least one of url, title, region, enabled');
    }
    // The feed must exist before its new URL is probed; the URL is checked like a new subscription.
    await mustGetFeed(deps, id);
    let moved: { discovered_from: string | null; unchecked: string | null } | null = null;
    if (patch.url !== undefined) {
      const change = await unlessShuttingDown(deps, changeSubscriptionUrl(deps.subscribe, id, patch.url));
      if (change.kind === 'refused') throw badRequest('url', change.reason);
      if (change.kind === 'taken') throw conflict(`a feed with this URL exists already (id ${change.feedId})`, { feed_id: change.feedId });
      if (change.kind === 'missing') throw notFound(`feed ${id}`);
      deps.logger.info({ feedId: id, url: change.feed.url }, 'feed URL changed');
      moved = { discovered_from: change.page, unchecked: change.unchecked };
    }
    const updated = await updateFeed(deps.db, id, patch);
    if (!updated) throw notFound(`feed ${id}`);
    // A disabled feed is not pushed either (not awaited: the hub may be slow; the worker retries).
    if (patch.enabled === false) void deps.websub?.subscriber?.end(id);
    res.json({ ...feedView(await mustGetFeed(deps, id), await pushOf(deps, id)), ...(moved ?? {}) });
  });

  app.delete('/api/feeds/:id', admin, async (req, res) => {
    const id = feedId(req.params.id);
    if (!(await deleteFeed(deps.db, id))) throw notFound(`feed ${id}`);
    deps.logger.info({ feedId: id }, 'feed deleted');
    // Its push subscription outlives the row until the hub confirms the unsubscription.
    void deps.websub?.subscriber?.end(id);
    res.status(204).end();
  });

  app.post('/api/feeds/:id/refresh', admin, async (req, res) => {
    const id = feedId(req.params.id);
    await mustGetFeed(deps, id);
    const result = await deps.refreshFeed(id);
    res.json({ feed: feedView(await mustGetFeed(deps, id), await pushOf(deps, id)), result: result ?? null });
  });

  app.get('/api/opml', async (_req, res) => {
    const feeds = await listFeeds(deps.db);
    const opml = renderOpml(feeds, { title: 'Tributary feeds', now: new Date() });
    res
      .set('Content-Type', 'text/x-opml; charset=utf-8')
      .set('Content-Disposition', 'attachment; filename="tributary-feeds.opml"')
      .send(opml);
  });

  app.post('/api/opml', admin, express.text({ type: OPML_TYPES, limit: OPML_LIMIT }), async (req, res) => {
    if (typeof req.body !== 'string') {
      throw new HttpProblem(415, 'Unsupported Media Type', `send the OPML document as ${OPML_TYPES.join(', ')}`);
    }
    let outlines: ReturnType<typeof parseOpml>;
    try {
      outlines = parseOpml(req.body);
    } catch (err) {
      if (err instanceof OpmlError) throw badRequest('body', err.message);
      throw err;
    }
    const result = await importOpmlFeeds(deps.subscribe, outlines);
    deps.logger.info({ added: result.added, existing: result.existing, rejected: result.rejected.length, complete: result.complete }, 'OPML imported');
    res.json(result);
  });
}

/** A probe cancelled by the shutdown is no server error: 503, so the client tries again later. */
async function unlessShuttingDown<T>(deps: ApiDeps, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (deps.subscribe.signal?.aborted) {
      throw new HttpProblem(503, 'Service Unavailable', 'the server is shutting down; try again shortly', {});
    }
    throw err;
  }
}

/** What POST /api/feeds says besides the feed: where it was found, every feed subscribed, and whether it was checked. */
function subscriptionFields(sub: Extract<Subscription, { ok: true }>) {
  return { discovered_from: sub.page, subscribed: sub.feeds, unchecked: sub.unchecked };
}
