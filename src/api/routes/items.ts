import { createHash } from 'node:crypto';
import type express from 'express';
import { readDb, type ApiDeps } from '../deps.ts';
import { itemJsonById, itemsPageJson } from '../../store/item-pages.ts';
import type { EntryWithSources } from '../../store/entry-queries.ts';
import { safeHttpUrl } from '../output/xml.ts';
import { parseId, parseItemsQuery, type ListParams } from '../params.ts';
import { encodeCursor } from '../cursor.ts';
import { notFound } from '../problem.ts';
import { etagMatches } from '../conditional.ts';
import { LruCache } from '../lru.ts';
import { currentEntriesVersion } from '../entries-version.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * One item as an object (for /api/stories, which lists entries as objects). /api/items gets the
 * same fields as JSON text from PostgreSQL (src/store/item-pages.ts); keep the two in step.
 */
export function itemJson(e: EntryWithSources) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: e.id,
    url: safeHttpUrl(e.url),
    title: e.title,
    published: iso(e.published_at),
    updated: iso(e.updated_at),
    author: e.author,
    summary: e.summary,
    content_html: e.content_html,
    categories: e.categories,
    enclosures: e.enclosures,
    language: e.language,
    story_id: Number(e.story_id),
    sources: e.sources.map((s) => ({ feed_id: s.feed_id, feed_title: s.feed_title, url: s.url })),
  };
}

interface CachedPage {
  body: Buffer;
  etag: string;
}

/** Neither a filter nor a cursor: the page dashboards poll, worth keeping rendered. */
function isFirstUnfilteredPage(p: ListParams): boolean {
  return p.cursor === undefined && Object.values(p.filter).every((v) => v === undefined);
}

/**
 * The validated query in canonical form. All of ListParams, so a filter added there is part of
 * the ETag and cache key without a change here.
 */
function queryKey(p: ListParams): string {
  return JSON.stringify(p);
}

export function registerItemRoutes(app: express.Express, deps: ApiDeps): void {
  // Keyed by (query, version): an unchanged first page is served without building it again.
  const firstPages = new LruCache<CachedPage>(16, 60_000);

  app.get('/api/items', async (req, res) => {
    const p = parseItemsQuery(req.query);
    // One sequence read: every change to entries (or to a feed title they show) moves it.
    const version = await currentEntriesVersion(readDb(deps));
    const key = `${version} ${queryKey(p)}`;
    const etag = `"${createHash('sha256').update(key).digest('base64url').slice(0, 32)}"`;
    res.set('Cache-Control', 'no-cache');
    res.set('ETag', etag);
    if (etagMatches(req, etag)) {
      res.status(304).end();
      return;
    }
    const cacheable = isFirstUnfilteredPage(p);
    const cached = cacheable ? firstPages.get(key) : undefined;
    if (cached) {
      res.type(JSON_TYPE).send(cached.body);
      return;
    }
    // PostgreSQL writes the items' JSON; only the envelope is put together here.
    const page = await itemsPageJson(readDb(deps), p.filter, p.limit, p.cursor);
    const next = page.next ? JSON.stringify(encodeCursor(page.next)) : 'null';
    const body = Buffer.from(`{"items":${page.itemsJson},"next_cursor":${next}}`, 'utf8');
    if (cacheable) firstPages.set(key, { body, etag });
    res.type(JSON_TYPE).send(body);
  });

  app.get('/api/items/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const json = await itemJsonById(readDb(deps), id);
    if (json === null) throw notFound(`item ${id}`);
    res.type(JSON_TYPE).send(json);
  });
}
