import type express from 'express';
import { readDb, type ApiDeps } from '../deps.ts';
import { getStory, listStoryHeads, resolveStoryId, withStoryItems, type StoryWithItems } from '../../store/stories-read.ts';
import { parseId, parseStoriesQuery } from '../params.ts';
import { encodeCursor } from '../cursor.ts';
import { notFound } from '../problem.ts';
import { itemJson } from './items.ts';

/** The JSON shape of one story: its earliest report's headline, its time span and every report. */
export function storyJson(s: StoryWithItems) {
  const first = s.items[0];
  return {
    id: s.id,
    title: first?.title ?? null,
    first_published: s.first_at.toISOString(),
    last_updated: s.last_at.toISOString(),
    items: s.items.map(itemJson),
    sources_count: new Set(s.items.flatMap((e) => e.sources.map((src) => src.feed_id))).size,
  };
}

export function registerStoryRoutes(app: express.Express, deps: ApiDeps): void {
  app.get('/api/stories', async (req, res) => {
    const p = parseStoriesQuery(req.query);
    // One row more than asked tells whether another page exists without a count.
    const heads = await listStoryHeads(readDb(deps), p.filter, p.limit + 1, p.cursor);
    const page = heads.slice(0, p.limit);
    const last = page[page.length - 1];
    const stories = await withStoryItems(readDb(deps), page);
    res.set('Cache-Control', 'no-cache');
    res.json({
      stories: stories.map(storyJson),
      next_cursor: heads.length > p.limit && last ? encodeCursor({ sortAt: last.sort_key, id: last.id }) : null,
    });
  });

  app.get('/api/stories/:id', async (req, res) => {
    const requested = parseId(req.params.id);
    // A story merged into an older one answers with that one (its id in the body says so).
    const id = await resolveStoryId(readDb(deps), requested);
    const story = id === null ? null : await getStory(readDb(deps), id);
    if (!story) throw notFound(`story ${requested}`);
    res.json(storyJson(story));
  });
}
