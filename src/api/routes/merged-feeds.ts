import { createHash } from 'node:crypto';
import type express from 'express';
import type { Request, Response } from 'express';
import type { ApiDeps } from '../deps.ts';
import { listEntries } from '../../store/entry-queries.ts';
import { currentEntriesVersion } from '../entries-version.ts';
import { filterKey, parseFeedQuery, type ListParams } from '../params.ts';
import { filterQuery, publicBase } from '../public-url.ts';
import { LruCache } from '../lru.ts';
import { etagMatches, notModifiedSince } from '../conditional.ts';
import type { FeedDocument, OutputFormat } from '../output/model.ts';
import { renderRss } from '../output/rss.ts';
import { renderAtom } from '../output/atom.ts';
import { renderJsonFeed } from '../output/json-feed.ts';
import { topicsFor } from '../../websub/topics.ts';

interface Rendered {
  /** Encoded once: a string would be converted to bytes again on every response. */
  body: Buffer;
  etag: string;
  /** When this version was first rendered here: the content cannot have changed after it. */
  lastModified: Date;
}

const FORMATS: Record<OutputFormat, { file: string; type: string; render: (d: FeedDocument) => string }> = {
  rss: { file: 'feed.xml', type: 'application/rss+xml; charset=utf-8', render: renderRss },
  atom: { file: 'feed.atom', type: 'application/atom+xml; charset=utf-8', render: renderAtom },
  json: { file: 'feed.json', type: 'application/feed+json; charset=utf-8', render: renderJsonFeed },
};

export const FEED_PATHS = Object.values(FORMATS).flatMap((f) => [`/${f.file}`, `/regions/:region/${f.file}`]);

/** GET /feed.xml|.atom|.json and /regions/:region/feed.*: the merged feed, cached and conditional. */
export function registerMergedFeedRoutes(app: express.Express, deps: ApiDeps, now: () => Date = () => new Date()): void {
  // Bodies keyed by (format, filters, origin, version): an unchanged feed is served without a query or render.
  const cache = new LruCache<Rendered>(64, 60_000);

  for (const [format, spec] of Object.entries(FORMATS) as [OutputFormat, (typeof FORMATS)[OutputFormat]][]) {
    const handler = async (req: Request, res: Response) => {
      const region = typeof req.params.region === 'string' ? req.params.region : undefined;
      const params = parseFeedQuery(region === undefined ? req.query : { ...req.query, region });
      const base = publicBase(req, deps.config);
      // Cheap: one sequence read, no scan of entries.
      const version = await currentEntriesVersion(deps.db);
      const key = createHash('sha256').update(JSON.stringify([format, filterKey(params), base, version])).digest('base64url');
      const etag = `"${key.slice(0, 32)}"`;

      res.set('Cache-Control', 'public, max-age=60');
      res.set('ETag', etag);
      if (etagMatches(req, etag)) {
        res.status(304).end();
        return;
      }
      let rendered = cache.get(key);
      if (!rendered) {
        const doc = await buildDocument(deps, params, base, spec.file, now());
        rendered = { body: Buffer.from(spec.render(doc), 'utf8'), etag, lastModified: doc.generatedAt };
        cache.set(key, rendered);
      }
      res.set('Last-Modified', rendered.lastModified.toUTCString());
      if (notModifiedSince(req, rendered.lastModified)) {
        res.status(304).end();
        return;
      }
      res.type(spec.type).send(rendered.body);
    };
    app.get(`/${spec.file}`, handler);
    app.get(`/regions/:region/${spec.file}`, handler);
  }
}

async function buildDocument(deps: ApiDeps, params: ListParams, base: string, file: string, at: Date): Promise<FeedDocument> {
  const entries = await listEntries(deps.db, params.filter, params.limit);
  const f = params.filter;
  const scope = [f.region && `region ${f.region}`, f.q && `search “${f.q}”`, f.lang && `language ${f.lang}`, f.feedIds && `${f.feedIds.length} feed(s)`]
    .filter(Boolean)
    .join(', ');
  const query = filterQuery(f, { limit: params.limit === 50 ? undefined : params.limit });
  const selfUrl = `${base}/${file}${query}`;
  // Only the whole feed and a region's are WebSub topics (the ones pinged); filtered variants are not.
  const hub = deps.config.WEBSUB_HUB && topicsFor(base, f.region ?? null).includes(selfUrl) ? deps.config.WEBSUB_HUB : null;
  return {
    title: scope ? `Tributary — ${scope}` : 'Tributary',
    description: 'The newest entries of all feeds, merged and deduplicated by Tributary',
    selfUrl,
    hubUrl: hub,
    homeUrl: `${base}/${filterQuery(f)}`,
    generatedAt: at,
    entries,
  };
}
