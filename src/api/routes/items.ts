import type express from 'express';
import type { ApiDeps } from '../deps.ts';
import { getEntry, listEntries, type EntryWithSources } from '../../store/entry-queries.ts';
import { parseId, parseItemsQuery } from '../params.ts';
import { encodeCursor } from '../cursor.ts';
import { notFound } from '../problem.ts';
import { safeHttpUrl } from '../output/xml.ts';

/** The JSON shape of one item in /api/items. */
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

export function registerItemRoutes(app: express.Express, deps: ApiDeps): void {
  app.get('/api/items', async (req, res) => {
    const p = parseItemsQuery(req.query);
    // One row more than asked tells whether another page exists without a count.
    const rows = await listEntries(deps.db, p.filter, p.limit + 1, p.cursor);
    const page = rows.slice(0, p.limit);
    const last = page[page.length - 1];
    res.set('Cache-Control', 'no-cache');
    res.json({
      items: page.map(itemJson),
      next_cursor: rows.length > p.limit && last ? encodeCursor({ sortAt: last.sort_key, id: last.id }) : null,
    });
  });

  app.get('/api/items/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const entry = await getEntry(deps.db, id);
    if (!entry) throw notFound(`item ${id}`);
    res.json(itemJson(entry));
  });
}
