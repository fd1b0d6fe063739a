import { createHash } from 'node:crypto';
import type express from 'express';
import { readDb, type ApiDeps } from '../deps.ts';
import { itemJsonById, itemsPageJson } from '../../store/item-pages.ts';
import type { EntryWithSources } from '../../store/entry-queries.ts';
import { safeHttpUrl } from '../output/xml.ts';
import { parseId, parseItemsQuery, type ListParams } from '../params.ts';
import { encodeCursor } from '../cursor.ts';
import { notFound } from '../problem.ts';
import { ifNoneMatchHits } from '../../http/conditional.ts';
import { bodyHeaders, sendAnswer, type Answer } from '../answer.ts';
import { LruCache } from '../lru.ts';
import { recentEntriesVersion } from '../entries-version.ts';

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

export interface ItemAnswers {
  /** A page of /api/items, or a 304 for a matching If-None-Match. */
  page(p: ListParams, ifNoneMatch: string | undefined): Promise<Answer>;
  /** One item, a 304 for a matching If-None-Match, or null when there is no such item. */
  item(id: number, ifNoneMatch: string | undefined): Promise<Answer | null>;
  /**
   * Parameters of the unfiltered first page by its exact query (`` or `limit=N`), validated once
   * per query string; undefined for any other query. Dashboards poll exactly these, so the front
   * door answers them without running the validator per request.
   */
  firstPageParams(query: string): ListParams | undefined;
}

/** The /api/items answers with their caches; shared by the Express routes and the front door. */
export function itemAnswers(deps: ApiDeps): ItemAnswers {
  // Keyed by (query, version): an unchanged first page is served without building it again.
  const firstPages = new LruCache<{ etag: string; answer: Answer }>(16, 60_000);
  // Keyed by (id, version): an item read again before anything changed costs no query. Items are
  // a few KB, so a thousand of them bound the memory this holds.
  const items = new LruCache<Buffer>(1000, 60_000);
  const firstPageQueries = new Map<string, ListParams>();

  return {
    async page(p, ifNoneMatch) {
      // One sequence read: every change to entries (or to a feed title they show) moves it.
      const version = await recentEntriesVersion(readDb(deps));
      const key = `${version} ${queryKey(p)}`;
      const cacheable = isFirstUnfilteredPage(p);
      const cached = cacheable ? firstPages.get(key) : undefined;
      const etag = cached ? cached.etag : `"${createHash('sha256').update(key).digest('base64url').slice(0, 32)}"`;
      const headers: Answer['headers'] = [
        ['Cache-Control', 'no-cache'],
        ['ETag', etag],
      ];
      if (ifNoneMatch && ifNoneMatchHits(ifNoneMatch, [etag])) return { status: 304, headers };
      if (cached) return cached.answer;
      // PostgreSQL writes the items' JSON; only the envelope is put together here.
      const page = await itemsPageJson(readDb(deps), p.filter, p.limit, p.cursor);
      const next = page.next ? JSON.stringify(encodeCursor(page.next)) : 'null';
      const body = Buffer.from(`{"items":${page.itemsJson},"next_cursor":${next}}`, 'utf8');
      const answer = { status: 200, headers: [...headers, ...bodyHeaders(JSON_TYPE, body)], body };
      if (cacheable) firstPages.set(key, { etag, answer });
      return answer;
    },

    async item(id, ifNoneMatch) {
      const version = await recentEntriesVersion(readDb(deps));
      // The item's JSON is a function of the entries version (every change to an entry, its
      // sources or a feed title moves it), so (id, version) is a strong validator.
      const etag = `"${id}-${version}"`;
      const headers: Answer['headers'] = [
        ['Cache-Control', 'no-cache'],
        ['ETag', etag],
      ];
      if (ifNoneMatch && ifNoneMatchHits(ifNoneMatch, [etag])) return { status: 304, headers };
      const key = `${id} ${version}`;
      let body = items.get(key);
      if (!body) {
        const json = await itemJsonById(readDb(deps), id);
        if (json === null) return null;
        body = Buffer.from(json, 'utf8');
        items.set(key, body);
      }
      return { status: 200, headers: [...headers, ...bodyHeaders(JSON_TYPE, body)], body };
    },

    firstPageParams(query) {
      let p = firstPageQueries.get(query);
      if (p === undefined && /^(limit=\d{1,3})?$/.test(query)) {
        try {
          p = parseItemsQuery(query ? { limit: query.slice(6) } : {});
        } catch {
          return undefined;
        }
        // At most MAX_LIMIT + 1 valid strings (plus leading-zero spellings, bounded by the regex).
        firstPageQueries.set(query, p);
      }
      return p;
    },
  };
}

export function registerItemRoutes(app: express.Express, deps: ApiDeps, answers: ItemAnswers = itemAnswers(deps)): void {
  app.get('/api/items', async (req, res) => {
    sendAnswer(res, await answers.page(parseItemsQuery(req.query), req.get('if-none-match')));
  });

  app.get('/api/items/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const answer = await answers.item(id, req.get('if-none-match'));
    if (answer === null) throw notFound(`item ${id}`);
    sendAnswer(res, answer);
  });
}
