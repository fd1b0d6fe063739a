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
import { deleteFeed, getFeed, getFeedByUrl, insertFeed, insertFeeds, listFeeds, updateFeed, type FeedWithStats, type NewFeed } from '../../store/feeds.ts';
import { parseOpml, OpmlError } from '../../opml/parse-opml.ts';
import { renderOpml } from '../../opml/render-opml.ts';

const MAX_INT4 = 2147483647;
const MAX_URL = 2048;
const MAX_TITLE = 300;
const MAX_REGION = 100;
const OPML_TYPES = ['text/x-opml', 'application/xml', 'text/xml'];
const OPML_LIMIT = '1mb';
/** URL checks resolve host names; a large import resolves a few at a time. */
const CHECK_CONCURRENCY = 8;

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
}

export function feedView(f: FeedWithStats): FeedView {
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
  };
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

const newFeedBody = z.strictObject({
  url: z.string({ error: 'is required, as a string' }).trim().min(1, 'is required').max(MAX_URL, `must be at most ${MAX_URL} characters`),
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

/** http(s) only, then the deployment's address policy; the refusal reason is shown to the user. */
async function checkUrl(deps: ApiDeps, input: string): Promise<{ ok: true; url: string } | { ok: false; reason: string }> {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, reason: 'is not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `only http and https feeds are supported, not ${url.protocol}` };
  }
  const checked = await deps.checkFeedUrl(url.href);
  if (checked.ok && checked.url.length > MAX_URL) return { ok: false, reason: `must be at most ${MAX_URL} characters` };
  return checked;
}

export function registerFeedRoutes(app: express.Express, deps: ApiDeps): void {
  const admin = requireAdmin(deps.config);
  // The app may parse JSON already; body-parser skips a body that has been read.
  const json = express.json({ limit: '64kb' });

  app.get('/api/feeds', async (_req, res) => {
    const feeds = await listFeeds(deps.db);
    res.json({ feeds: feeds.map(feedView) });
  });

  app.get('/api/feeds/:id', async (req, res) => {
    res.json(feedView(await mustGetFeed(deps, feedId(req.params.id))));
  });

  app.post('/api/feeds', admin, json, async (req, res) => {
    const body = parseBody(newFeedBody, req.body);
    const checked = await checkUrl(deps, body.url);
    if (!checked.ok) throw badRequest('url', checked.reason);
    const inserted = await insertFeed(deps.db, { url: checked.url, title: body.title ?? null, region: body.region ?? null, language: body.language ?? null });
    if (!inserted) {
      const existing = await getFeedByUrl(deps.db, checked.url);
      throw conflict(`a feed with this URL exists already (id ${existing?.id ?? 'unknown'})`, { feed_id: existing?.id ?? null });
    }
    deps.logger.info({ feedId: inserted.id, url: inserted.url }, 'feed added');
    res.status(201).location(`/api/feeds/${inserted.id}`).json(feedView({ ...inserted, entry_count: 0 }));
  });

  app.patch('/api/feeds/:id', admin, json, async (req, res) => {
    const id = feedId(req.params.id);
    const patch = parseBody(feedPatchBody, req.body);
    if (patch.title === undefined && patch.region === undefined && patch.enabled === undefined) {
      throw badRequest('body', 'expected at least one of title, region, enabled');
    }
    const updated = await updateFeed(deps.db, id, patch);
    if (!updated) throw notFound(`feed ${id}`);
    res.json(feedView(await mustGetFeed(deps, id)));
  });

  app.delete('/api/feeds/:id', admin, async (req, res) => {
    const id = feedId(req.params.id);
    if (!(await deleteFeed(deps.db, id))) throw notFound(`feed ${id}`);
    deps.logger.info({ feedId: id }, 'feed deleted');
    res.status(204).end();
  });

  app.post('/api/feeds/:id/refresh', admin, async (req, res) => {
    const id = feedId(req.params.id);
    await mustGetFeed(deps, id);
    const result = await deps.refreshFeed(id);
    res.json({ feed: feedView(await mustGetFeed(deps, id)), result: result ?? null });
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
    const result = await importFeeds(deps, outlines);
    deps.logger.info({ added: result.added, existing: result.existing, rejected: result.rejected.length }, 'OPML imported');
    res.json(result);
  });
}

export interface ImportResult {
  added: number;
  existing: number;
  rejected: { url: string; reason: string }[];
}

/** Checks every URL, then inserts the accepted ones in one statement. */
async function importFeeds(deps: ApiDeps, outlines: { url: string; title: string | null; region: string | null }[]): Promise<ImportResult> {
  const checks = await mapBounded(outlines, CHECK_CONCURRENCY, (o) => checkUrl(deps, o.url));
  const accepted = new Map<string, NewFeed>();
  const rejected: ImportResult['rejected'] = [];
  outlines.forEach((o, i) => {
    const c = checks[i];
    if (!c?.ok) {
      rejected.push({ url: o.url, reason: c?.reason ?? 'not checked' });
      return;
    }
    // Two spellings of one URL (case of the host, default port) become one feed.
    if (!accepted.has(c.url)) {
      accepted.set(c.url, { url: c.url, title: clip(o.title, MAX_TITLE), region: clip(o.region, MAX_REGION) });
    }
  });
  const inserted = await insertFeeds(deps.db, [...accepted.values()]);
  return { added: inserted.length, existing: accepted.size - inserted.length, rejected };
}

/** OPML text is not refused for being long: it is cut, on a code point boundary. */
function clip(s: string | null, max: number): string | null {
  if (s === null || s.length <= max) return s;
  return Array.from(s).slice(0, max).join('').trimEnd() || null;
}

async function mapBounded<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
