import { readFileSync } from 'node:fs';
import type express from 'express';
import { readDb, type ApiDeps } from '../deps.ts';
import { projectFile } from '../../paths.ts';
import { getEntry, listEntries, listFeedOptions, type EntryWithSources } from '../../store/entry-queries.ts';
import type { Db } from '../../store/db.ts';
import { parseReaderQuery, type ReaderParams } from '../params.ts';
import { encodeCursor } from '../cursor.ts';
import { filterQuery } from '../public-url.ts';
import { renderReaderPage } from '../pages/reader.ts';
import { renderItemNotFoundPage, renderItemPage } from '../pages/item.ts';
import { renderStoryNotFoundPage, renderStoryPage } from '../pages/story.ts';
import { getStory, otherStoryReports, resolveStoryId } from '../../store/stories-read.ts';

const READER_CSS = readFileSync(projectFile('src/api/pages/reader.css'), 'utf8');
const LIVE_JS = readFileSync(projectFile('src/api/pages/live.js'), 'utf8');
/** An entry id as the reader links it; anything else is a page that does not exist. */
const ITEM_ID = /^[1-9]\d{0,15}$/;

/** GET / (the reader page), GET /items/:id (one entry), GET /stories/:id (one story) and their stylesheet. */
export function registerReaderRoutes(app: express.Express, deps: ApiDeps): void {
  app.get('/assets/reader.css', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('text/css; charset=utf-8').send(READER_CSS);
  });

  app.get('/assets/live.js', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('text/javascript; charset=utf-8').send(LIVE_JS);
  });

  // Browsers ask for it on every visit; an empty answer keeps logs and consoles free of 404s.
  app.get('/favicon.ico', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').status(204).end();
  });

  app.get('/', async (req, res) => {
    const p = parseReaderQuery(req.query);
    const [page, options] = await Promise.all([readerPage(readDb(deps), p), listFeedOptions(readDb(deps))]);
    const { entries } = page;
    const otherReports = p.filter.collapse === 'story' ? await otherStoryReports(readDb(deps), entries) : undefined;
    const first = entries[0];
    const last = entries[entries.length - 1];
    const at = (e: EntryWithSources) => encodeCursor({ sortAt: e.sort_key, id: e.id });
    res.set('Cache-Control', 'no-cache');
    res.type('text/html; charset=utf-8').send(
      renderReaderPage({
        entries,
        filter: p.filter,
        feeds: options.feeds,
        regions: options.regions,
        filterQuery: filterQuery(p.filter),
        newerHref: page.hasNewer && first ? `/${filterQuery(p.filter, { newer: at(first) })}` : null,
        olderHref: page.hasOlder && last ? `/${filterQuery(p.filter, { cursor: at(last) })}` : null,
        paged: page.paged,
        otherReports,
      }),
    );
  });

  app.get('/items/:id', async (req, res) => {
    const id = req.params.id;
    const entry = ITEM_ID.test(id) && Number(id) <= Number.MAX_SAFE_INTEGER ? await getEntry(readDb(deps), Number(id)) : null;
    res.set('Cache-Control', 'no-cache').type('text/html; charset=utf-8');
    if (!entry) {
      res.status(404).send(renderItemNotFoundPage());
      return;
    }
    res.send(renderItemPage(entry));
  });

  // One story, every outlet's report. A merged story's id redirects to the story it joined.
  app.get('/stories/:id', async (req, res) => {
    const id = req.params.id;
    const requested = ITEM_ID.test(id) && Number(id) <= Number.MAX_SAFE_INTEGER ? Number(id) : null;
    const survivor = requested === null ? null : await resolveStoryId(readDb(deps), requested);
    res.set('Cache-Control', 'no-cache');
    if (survivor !== null && survivor !== requested) {
      res.redirect(301, `/stories/${survivor}`);
      return;
    }
    const story = survivor === null ? null : await getStory(readDb(deps), survivor);
    res.type('text/html; charset=utf-8');
    if (!story) {
      res.status(404).send(renderStoryNotFoundPage());
      return;
    }
    res.send(renderStoryPage(story));
  });
}

interface ReaderPage {
  /** Newest first. */
  entries: EntryWithSources[];
  hasNewer: boolean;
  hasOlder: boolean;
  /** Not the first page. */
  paged: boolean;
}

/**
 * The page a reader URL names: the newest entries, those older than `cursor`, or those just newer
 * than `newer`. One row beyond the page tells whether another page exists on that side; the other
 * side has one when we came from there. A "Newer" walk that reaches the top shows the first page.
 */
async function readerPage(db: Db, p: ReaderParams): Promise<ReaderPage> {
  if (p.newer) {
    const rows = await listEntries(db, p.filter, p.limit + 1, p.newer, 'newer');
    if (rows.length > p.limit) return { entries: rows.slice(0, p.limit).reverse(), hasNewer: true, hasOlder: true, paged: true };
  }
  const rows = await listEntries(db, p.filter, p.limit + 1, p.cursor);
  return { entries: rows.slice(0, p.limit), hasNewer: p.cursor !== undefined, hasOlder: rows.length > p.limit, paged: p.cursor !== undefined };
}
