import { createHash } from 'node:crypto';
import type express from 'express';
import type { Request, Response } from 'express';
import { readDb, type ApiDeps } from '../deps.ts';
import { listEntries } from '../../store/entry-queries.ts';
import { otherStoryReports } from '../../store/stories-read.ts';
import { recentEntriesVersion } from '../entries-version.ts';
import { filterKey, parseFeedQuery, type ListParams } from '../params.ts';
import { filterQuery, publicBase } from '../public-url.ts';
import { LruCache } from '../lru.ts';
import { ifNoneMatchHits, notModifiedSince } from '../../http/conditional.ts';
import { bodyHeaders, sendAnswer, type Answer } from '../answer.ts';
import type { FeedDocument, OutputFormat } from '../output/model.ts';
import { renderRss } from '../output/rss.ts';
import { renderAtom } from '../output/atom.ts';
import { renderJsonFeed } from '../output/json-feed.ts';
import { topicsFor } from '../../websub/topics.ts';

interface Rendered {
  /** Encoded once: a string would be converted to bytes again on every response. */
  body: Buffer;
  /** When this version was first rendered here: the content cannot have changed after it. */
  lastModified: Date;
  /** lastModified as the header writes it, formatted once. */
  lastModifiedHttp: string;
}

const FORMATS: Record<OutputFormat, { file: string; type: string; render: (d: FeedDocument) => string }> = {
  rss: { file: 'feed.xml', type: 'application/rss+xml; charset=utf-8', render: renderRss },
  atom: { file: 'feed.atom', type: 'application/atom+xml; charset=utf-8', render: renderAtom },
  json: { file: 'feed.json', type: 'application/feed+json; charset=utf-8', render: renderJsonFeed },
};

export const FEED_PATHS = Object.values(FORMATS).flatMap((f) => [`/${f.file}`, `/regions/:region/${f.file}`]);

/** The unfiltered feed's parameters, validated once: feed readers poll exactly that URL. */
export const UNFILTERED: ListParams = parseFeedQuery({});

export interface MergedFeeds {
  /** The merged feed for these parameters and this origin, or a 304 for a matching validator. */
  answer(format: OutputFormat, params: ListParams, base: string, conditional: { ifNoneMatch?: string; ifModifiedSince?: string }): Promise<Answer>;
  /** Path of each unfiltered feed (/feed.xml, …) and its format, for the front door. */
  unfilteredPaths: Map<string, OutputFormat>;
}

/** The merged feeds' answers, cached and conditional; shared by the Express routes and the front door. */
export function mergedFeeds(deps: ApiDeps, now: () => Date = () => new Date()): MergedFeeds {
  // Bodies keyed by (format, filters, origin, version): an unchanged feed is served without a query or render.
  const cache = new LruCache<Rendered>(64, 60_000);
  // The hash of each (format, filters, origin, version), so a repeat request does not hash again.
  const keys = new LruCache<string>(256, 60_000);

  return {
    unfilteredPaths: new Map(Object.entries(FORMATS).map(([format, spec]) => [`/${spec.file}`, format as OutputFormat])),
    async answer(format, params, base, conditional) {
      const spec = FORMATS[format];
      // Cheap: one sequence read (shared between concurrent requests), no scan of entries.
      const version = await recentEntriesVersion(readDb(deps));
      const raw = JSON.stringify([format, filterKey(params), base, version]);
      let key = keys.get(raw);
      if (key === undefined) {
        key = createHash('sha256').update(raw).digest('base64url');
        keys.set(raw, key);
      }
      const etag = `"${key.slice(0, 32)}"`;
      const headers: Answer['headers'] = [
        ['Cache-Control', 'public, max-age=60'],
        ['ETag', etag],
      ];
      if (conditional.ifNoneMatch && ifNoneMatchHits(conditional.ifNoneMatch, [etag])) return { status: 304, headers };
      let rendered = cache.get(key);
      if (!rendered) {
        const doc = await buildDocument(deps, params, base, spec.file, now());
        rendered = { body: Buffer.from(spec.render(doc), 'utf8'), lastModified: doc.generatedAt, lastModifiedHttp: doc.generatedAt.toUTCString() };
        cache.set(key, rendered);
      }
      headers.push(['Last-Modified', rendered.lastModifiedHttp]);
      // If-Modified-Since only counts when the request has no If-None-Match (RFC 9110 §13.1.3).
      if (!conditional.ifNoneMatch && conditional.ifModifiedSince && notModifiedSince(conditional.ifModifiedSince, rendered.lastModified)) {
        return { status: 304, headers };
      }
      headers.push(...bodyHeaders(spec.type, rendered.body));
      return { status: 200, headers, body: rendered.body };
    },
  };
}

/** GET /feed.xml|.atom|.json and /regions/:region/feed.*: the merged feed, cached and conditional. */
export function registerMergedFeedRoutes(app: express.Express, deps: ApiDeps, feeds: MergedFeeds = mergedFeeds(deps)): void {
  for (const [format, spec] of Object.entries(FORMATS) as [OutputFormat, (typeof FORMATS)[OutputFormat]][]) {
    const handler = async (req: Request, res: Response) => {
      const region = typeof req.params.region === 'string' ? req.params.region : undefined;
      const params = parseFeedQuery(region === undefined ? req.query : { ...req.query, region });
      const conditional = { ifNoneMatch: req.get('if-none-match'), ifModifiedSince: req.get('if-modified-since') };
      sendAnswer(res, await feeds.answer(format, params, publicBase(req, deps.config), conditional));
    };
    app.get(`/${spec.file}`, handler);
    app.get(`/regions/:region/${spec.file}`, handler);
  }
}

async function buildDocument(deps: ApiDeps, params: ListParams, base: string, file: string, at: Date): Promise<FeedDocument> {
  const entries = await listEntries(readDb(deps), params.filter, params.limit);
  const f = params.filter;
  const otherReports = f.collapse === 'story' ? await otherStoryReports(readDb(deps), entries) : undefined;
  const scope = [f.region && `region ${f.region}`, f.q && `search “${f.q}”`, f.lang && `language ${f.lang}`, f.feedIds && `${f.feedIds.length} feed(s)`, f.collapse && 'one entry per story']
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
    ...(otherReports ? { otherReports } : {}),
  };
}
