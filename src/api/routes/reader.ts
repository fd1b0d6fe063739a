import { readFileSync } from 'node:fs';
import type express from 'express';
import type { ApiDeps } from '../deps.ts';
import { listEntries, listFeedOptions } from '../../store/entry-queries.ts';
import { parseReaderQuery } from '../params.ts';
import { encodeCursor } from '../cursor.ts';
import { filterQuery } from '../public-url.ts';
import { renderReaderPage } from '../pages/reader.ts';

const READER_CSS = readFileSync(new URL('../pages/reader.css', import.meta.url), 'utf8');

/** GET / (the reader page) and its stylesheet. */
export function registerReaderRoutes(app: express.Express, deps: ApiDeps): void {
  app.get('/assets/reader.css', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('text/css; charset=utf-8').send(READER_CSS);
  });

  // Browsers ask for it on every visit; an empty answer keeps logs and consoles free of 404s.
  app.get('/favicon.ico', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').status(204).end();
  });

  app.get('/', async (req, res) => {
    const p = parseReaderQuery(req.query);
    const [rows, options] = await Promise.all([listEntries(deps.db, p.filter, p.limit + 1, p.cursor), listFeedOptions(deps.db)]);
    const entries = rows.slice(0, p.limit);
    const last = entries[entries.length - 1];
    const query = filterQuery(p.filter);
    const olderHref =
      rows.length > p.limit && last ? `/${filterQuery(p.filter, { cursor: encodeCursor({ sortAt: last.sort_key, id: last.id }) })}` : null;
    res.set('Cache-Control', 'no-cache');
    res.type('text/html; charset=utf-8').send(
      renderReaderPage({ entries, filter: p.filter, feeds: options.feeds, regions: options.regions, filterQuery: query, olderHref, paged: p.cursor !== undefined }),
    );
  });
}
