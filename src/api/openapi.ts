import { DEFAULT_LIMIT, MAX_LIMIT, MAX_Q_LENGTH } from './params.ts';
import { VERSION } from '../version.ts';

type Json = Record<string, unknown>;

const problem = (description: string, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const jsonBody = (description: string, schema: Json, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const htmlPage = (description: string): Json => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });

/** Answers any route can give: the per-client rate limit, a database outage, a bug. */
const rateLimited = problem('Too many requests from this address (RATE_LIMIT_PER_MINUTE)', {
  RateLimit: { schema: { type: 'string' } },
  'RateLimit-Policy': { schema: { type: 'string' } },
  'Retry-After': { schema: { type: 'integer' } },
});
const commonErrors: Json = {
  '429': rateLimited,
  '500': problem('Unexpected error (logged)'),
  '503': problem('Database not reachable; try again later', { 'Retry-After': { schema: { type: 'integer' } } }),
};
/** Health checks and scrapes are never rate-limited. */
const { '429': _unlimited, ...unlimitedErrors } = commonErrors;
const query = (name: string, description: string, schema: Json, extra: Json = {}): Json => ({ name, in: 'query', description, schema, ...extra });
const pathId = (name = 'id'): Json => ({ name, in: 'path', required: true, schema: { type: 'integer', minimum: 1 } });

const filterParams: Json[] = [
  query('feed', 'Only entries carried by these feeds (repeat the parameter for several).', { type: 'array', items: { type: 'integer', minimum: 1 } }, { style: 'form', explode: true }),
  query('region', 'Only entries from feeds of this region.', { type: 'string', maxLength: 100 }),
  query('q', 'Full-text search (websearch syntax: words, "phrases", -exclusions, or).', { type: 'string', maxLength: MAX_Q_LENGTH }),
  query('lang', 'Only entries in this language (primary subtag, e.g. en, it, ar).', { type: 'string' }),
  query('limit', 'How many entries.', { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
];

/** `?collapse=story` (issue 11): on the merged feeds, /api/items and the reader page, not /api/stories. */
const collapseParam = query(
  'collapse',
  'story: one entry per story (news event), its earliest report among the entries the other filters keep, with the other reports listed with it (/api/items: `story`; RSS: description and atom:link rel="related"; Atom: link rel="related"; JSON Feed: _tributary.sources).',
  { enum: ['story'] },
);

const feedResponses = (mediaType: string): Json => ({
  '200': { description: 'The merged feed, newest first', headers: cacheHeaders, content: { [mediaType]: { schema: mediaType.endsWith('json') ? ref('JsonFeed') : { type: 'string' } } } },
  '304': { description: 'Not modified (If-None-Match / If-Modified-Since)' },
  '400': problem('Malformed parameter'),
  ...commonErrors,
});
const cacheHeaders: Json = { ETag: { schema: { type: 'string' } }, 'Last-Modified': { schema: { type: 'string' } }, 'Cache-Control': { schema: { type: 'string' } } };

const mergedFeed = (format: string, mediaType: string, region: boolean): Json => ({
  get: {
    summary: `Merged feed (${format})${region ? ' of one region' : ''}`,
    tags: ['feeds output'],
    parameters: [...(region ? [{ name: 'region', in: 'path', required: true, schema: { type: 'string' } }, ...filterParams.filter((p) => p.name !== 'region')] : filterParams), collapseParam],
    responses: feedResponses(mediaType),
  },
});

const bearer = [{ bearerAuth: [] }];
const feedBody: Json = { required: true, content: { 'application/json': { schema: ref('FeedInput') } } };
const adminErrors: Json = {
  '400': problem('Invalid input'),
  '401': problem('No bearer token', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
  '403': problem('Wrong bearer token, or writes disabled (no ADMIN_TOKEN)'),
  ...commonErrors,
};
const tooLarge = (limit: string): Json => ({ '413': problem(`Body larger than ${limit}`) });

/** OpenAPI 3.1 description of every route of the app (a test checks it against the router). */
export function openApiDocument(serverUrl?: string): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'Tributary', version: VERSION, description: 'Self-hosted news feed aggregator: merged feeds and a JSON API.' },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths: {
      '/': {
        get: {
          summary: 'Reader page (HTML)',
          tags: ['reader'],
          parameters: [
            ...filterParams.filter((p) => p.name !== 'limit'),
            collapseParam,
            query('cursor', 'Page token from the "Older" link: entries older than it.', { type: 'string' }),
            query('newer', 'Page token from the "Newer" link: the entries just newer than it.', { type: 'string' }),
          ],
          responses: { '200': htmlPage('HTML page'), '400': problem('Malformed parameter'), ...commonErrors },
        },
      },
      '/items/{id}': {
        get: {
          summary: 'One entry (HTML): its content and every source as a link',
          tags: ['reader'],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': htmlPage('HTML page'), '404': htmlPage('HTML page: no such entry'), ...commonErrors },
        },
      },
      '/stories/{id}': {
        get: {
          summary: "One story (HTML): every outlet's report, earliest first, headline and link; a merged story's id redirects to the story it joined",
          tags: ['reader'],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': htmlPage('HTML page'),
            '301': { description: 'The story was merged into an older one: Location names it', headers: { Location: { schema: { type: 'string' } } } },
            '404': htmlPage('HTML page: no such story'),
            ...commonErrors,
          },
        },
      },
      '/assets/reader.css': { get: { summary: 'Reader stylesheet', tags: ['reader'], responses: { '200': { description: 'CSS', content: { 'text/css': { schema: { type: 'string' } } } }, ...commonErrors } } },
      '/assets/live.js': { get: { summary: 'Reader script: counts new entries live from /api/stream (the page works without it)', tags: ['reader'], responses: { '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } }, ...commonErrors } } },
      '/favicon.ico': { get: { summary: 'No icon (204), so browsers stop asking', tags: ['reader'], responses: { '204': { description: 'No content' }, ...commonErrors } } },
      '/feed.xml': mergedFeed('RSS 2.0', 'application/rss+xml', false),
      '/feed.atom': mergedFeed('Atom 1.0', 'application/atom+xml', false),
      '/feed.json': mergedFeed('JSON Feed 1.1', 'application/feed+json', false),
      '/regions/{region}/feed.xml': mergedFeed('RSS 2.0', 'application/rss+xml', true),
      '/regions/{region}/feed.atom': mergedFeed('Atom 1.0', 'application/atom+xml', true),
      '/regions/{region}/feed.json': mergedFeed('JSON Feed 1.1', 'application/feed+json', true),
      '/api/items': {
        get: {
          summary: 'Entries, newest first, with keyset pagination',
          tags: ['items'],
          parameters: [
            ...filterParams,
            query('since', 'Only entries sorted at or after this instant (ISO-8601).', { type: 'string', format: 'date-time' }),
            query('until', 'Only entries sorted before this instant (ISO-8601).', { type: 'string', format: 'date-time' }),
            query('cursor', 'next_cursor of the previous page.', { type: 'string' }),
            query('story', 'Only the entries of this story (a merged story id stands for the story it was merged into).', { type: 'integer', minimum: 1 }),
            collapseParam,
          ],
          responses: {
            '200': jsonBody('A page of items', ref('ItemPage'), { ETag: { schema: { type: 'string' } } }),
            '304': { description: 'Not modified (If-None-Match): no entry changed since this ETag' },
            '400': problem('Malformed parameter'),
            ...commonErrors,
          },
        },
      },
      '/api/stream': {
        get: {
          summary: 'New and updated entries, live, as Server-Sent Events',
          description:
            'One `item` event per new or updated entry: `id:` is the entry\'s change sequence, `data:` the item exactly as /api/items gives it (schema Item). ' +
            'A comment line every 15 s keeps proxies from closing the connection. Reconnecting with `Last-Event-ID` first sends every matching change after it ' +
            '(at most the last 1,000 changes, none older than 24 h; further behind, one `reset` event whose data is {"reason", "last_event_id"}: reload, then follow), then live events, ' +
            'with no gaps or repeats. Limits per process (STREAM_MAX_CLIENTS, 503) and per client address (STREAM_MAX_PER_IP, 429).',
          tags: ['items'],
          parameters: [
            ...filterParams.filter((p) => p.name !== 'limit'),
            query('since', 'Only entries sorted at or after this instant (ISO-8601).', { type: 'string', format: 'date-time' }),
            { name: 'Last-Event-ID', in: 'header', description: 'The id of the last event received: resume after it.', schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description: 'An endless text/event-stream of `item` events (data: an Item as JSON) and `reset` events',
              headers: { 'Cache-Control': { schema: { type: 'string' } }, 'X-Accel-Buffering': { schema: { type: 'string' } } },
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            '400': problem('Malformed parameter'),
            '429': problem('Too many open streams from this address (STREAM_MAX_PER_IP), or too many requests (RATE_LIMIT_PER_MINUTE)', { 'Retry-After': { schema: { type: 'integer' } } }),
            '500': problem('Unexpected error (logged)'),
            '503': problem('Too many open streams on this server (STREAM_MAX_CLIENTS), or the database is not reachable', { 'Retry-After': { schema: { type: 'integer' } } }),
          },
        },
      },
      '/api/stories': {
        get: {
          summary: 'Stories (one news event across outlets), newest activity first, with keyset pagination',
          tags: ['stories'],
          parameters: [
            ...filterParams,
            query('since', 'Only stories whose last activity is at or after this instant (ISO-8601).', { type: 'string', format: 'date-time' }),
            query('until', 'Only stories whose last activity is before this instant (ISO-8601).', { type: 'string', format: 'date-time' }),
            query('cursor', 'next_cursor of the previous page.', { type: 'string' }),
          ],
          responses: { '200': jsonBody('A page of stories', ref('StoryPage')), '400': problem('Malformed parameter'), ...commonErrors },
        },
      },
      '/api/stories/{id}': {
        get: {
          summary: 'One story with every report; a merged story id answers with the story it was merged into',
          tags: ['stories'],
          parameters: [pathId()],
          responses: { '200': jsonBody('The story', ref('Story')), '400': problem('Malformed id'), '404': problem('Unknown id'), ...commonErrors },
        },
      },
      '/api/items/{id}': {
        get: {
          summary: 'One entry with all its sources',
          tags: ['items'],
          parameters: [pathId()],
          responses: {
            '200': jsonBody('The item', ref('Item'), { ETag: { schema: { type: 'string' } } }),
            '304': { description: 'Not modified (If-None-Match): no entry changed since this ETag' },
            '400': problem('Malformed id'),
            '404': problem('Unknown id'),
            ...commonErrors,
          },
        },
      },
      '/api/feeds': {
        get: { summary: 'List subscribed feeds with their state', tags: ['admin'], responses: { '200': jsonBody('Feeds', ref('FeedList')), ...commonErrors } },
        post: {
          summary: 'Subscribe to a feed, or to the feed(s) a web page advertises',
          tags: ['admin'],
          security: bearer,
          requestBody: feedBody,
          responses: {
            '201': jsonBody('Subscribed: the (first) feed added, with discovered_from, subscribed and unchecked', ref('Feed'), { Location: { description: 'The new feed', schema: { type: 'string' } } }),
            ...adminErrors,
            '409': problem('Already subscribed (feed_id names the existing feed)'),
            ...tooLarge('64 KB'),
            '503': problem('Shutting down: try again'),
          },
        },
      },
      '/api/feeds/{id}': {
        get: { summary: 'One feed', tags: ['admin'], parameters: [pathId()], responses: { '200': jsonBody('The feed', ref('Feed')), '400': problem('Malformed id'), '404': problem('Unknown id'), ...commonErrors } },
        patch: {
          summary: 'Change URL (checked like a new subscription), title, region or enabled',
          tags: ['admin'],
          security: bearer,
          parameters: [pathId()],
          requestBody: { required: true, content: { 'application/json': { schema: ref('FeedPatch') } } },
          responses: { '200': jsonBody('The feed as changed', ref('Feed')), ...adminErrors, '404': problem('Unknown id'), '409': problem('Another feed has this URL'), '503': problem('Shutting down: try again'), ...tooLarge('64 KB') },
        },
        delete: { summary: 'Unsubscribe (entries only this feed carried are removed)', tags: ['admin'], security: bearer, parameters: [pathId()], responses: { '204': { description: 'Deleted' }, ...adminErrors, '404': problem('Unknown id') } },
      },
      '/api/feeds/{id}/refresh': {
        post: {
          summary: 'Poll the feed now',
          tags: ['admin'],
          security: bearer,
          parameters: [pathId()],
          responses: { '200': jsonBody('The feed after the poll, and what the poll did', ref('RefreshResult')), ...adminErrors, '404': problem('Unknown id') },
        },
      },
      '/websub/{feedId}/{token}': {
        get: {
          summary: 'WebSub intent verification (called by a publisher\'s hub)',
          description: 'Answers hub.challenge only for a pending subscribe or unsubscribe of this feed, token and topic; hub.mode=denied records a refusal.',
          tags: ['websub'],
          parameters: [
            pathId('feedId'),
            { name: 'token', in: 'path', required: true, schema: { type: 'string' } },
            query('hub.mode', 'subscribe, unsubscribe or denied', { enum: ['subscribe', 'unsubscribe', 'denied'] }, { required: true }),
            query('hub.topic', 'The topic URL', { type: 'string' }, { required: true }),
            query('hub.challenge', 'Echoed back on success (subscribe, unsubscribe)', { type: 'string' }),
            query('hub.lease_seconds', 'Lease the hub granted (subscribe)', { type: 'integer', minimum: 1 }),
            query('hub.reason', 'Why the hub denied (denied)', { type: 'string' }),
          ],
          responses: {
            '200': { description: 'The challenge, verbatim', content: { 'text/plain': { schema: { type: 'string' } } } },
            '204': { description: 'Denial recorded' },
            '400': problem('Missing or malformed hub parameters'),
            '404': problem('No pending (un)subscription for this callback and topic'),
            ...commonErrors,
          },
        },
        post: {
          summary: 'WebSub content distribution (called by a publisher\'s hub)',
          description: 'The new feed document, signed with X-Hub-Signature-256 (or X-Hub-Signature) over the raw body with the subscription secret; stored like a poll. At most FETCH_MAX_BYTES.',
          tags: ['websub'],
          parameters: [
            pathId('feedId'),
            { name: 'token', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'X-Hub-Signature-256', in: 'header', schema: { type: 'string', pattern: '^sha256=[0-9a-fA-F]+$' } },
            { name: 'X-Hub-Signature', in: 'header', schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { '*/*': { schema: { type: 'string' } } } },
          responses: {
            '200': jsonBody('Stored', {
              type: 'object',
              required: ['inserted', 'linked', 'updated', 'unchanged'],
              properties: { inserted: { type: 'integer' }, linked: { type: 'integer' }, updated: { type: 'integer' }, unchanged: { type: 'integer' } },
            }),
            '400': problem('The body is not a feed'),
            '403': problem('Unsigned, or the signature does not match'),
            '404': problem('No such subscription'),
            '410': problem('The subscription lapsed, failed or is being cancelled'),
            ...tooLarge('FETCH_MAX_BYTES'),
            ...commonErrors,
          },
        },
      },
      '/api/opml': {
        get: { summary: 'Export subscriptions as OPML', tags: ['admin'], responses: { '200': { description: 'OPML', content: { 'text/x-opml': { schema: { type: 'string' } } } }, ...commonErrors } },
        post: {
          summary: 'Import subscriptions from OPML',
          tags: ['admin'],
          security: bearer,
          requestBody: { required: true, content: { 'text/x-opml': { schema: { type: 'string' } }, 'application/xml': { schema: { type: 'string' } }, 'text/xml': { schema: { type: 'string' } } } },
          responses: {
            '200': jsonBody('What the import did, one result per outline', ref('OpmlImportResult')),
            ...adminErrors,
            ...tooLarge('1 MB'),
            '415': problem('Not sent as OPML (text/x-opml, application/xml or text/xml)'),
          },
        },
      },
      '/api/openapi.json': { get: { summary: 'This document', tags: ['meta'], responses: { '200': jsonBody('OpenAPI 3.1', { type: 'object', required: ['openapi', 'info', 'paths'] }), ...commonErrors } } },
      '/healthz': { get: { summary: 'Liveness', tags: ['meta'], responses: { '200': jsonBody('Process up', { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }), ...unlimitedErrors } } },
      '/readyz': { get: { summary: 'Readiness (database answers; with DATABASE_READ_URL, the replica within READ_REPLICA_MAX_LAG)', tags: ['meta'], responses: { '200': jsonBody('Ready', { type: 'object', required: ['status'], properties: { status: { const: 'ready' }, replica: ref('ReplicaLag') } }), ...unlimitedErrors } } },
      '/metrics': { get: { summary: 'Prometheus metrics', tags: ['meta'], responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...unlimitedErrors } } },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
      schemas: {
        ReplicaLag: {
          type: 'object',
          description: 'How far DATABASE_READ_URL trails the primary (present only when it is set)',
          required: ['lag_seconds', 'lag_bytes'],
          properties: { lag_seconds: { type: 'number', minimum: 0 }, lag_bytes: { type: 'number', minimum: 0 } },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { parameter: { type: 'string' }, reason: { type: 'string' } } } },
          },
        },
        Source: { type: 'object', required: ['feed_id', 'feed_title', 'url'], properties: { feed_id: { type: 'integer' }, feed_title: { type: ['string', 'null'] }, url: { type: ['string', 'null'] } } },
        Item: {
          type: 'object',
          required: ['id', 'url', 'title', 'published', 'updated', 'author', 'summary', 'content_html', 'categories', 'enclosures', 'language', 'sources'],
          properties: {
            id: { type: 'integer' },
            url: { type: ['string', 'null'], description: 'Article URL without tracking parameters' },
            title: { type: ['string', 'null'] },
            published: { type: ['string', 'null'], format: 'date-time' },
            updated: { type: ['string', 'null'], format: 'date-time' },
            author: { type: ['string', 'null'] },
            summary: { type: ['string', 'null'] },
            content_html: { type: ['string', 'null'], description: 'Sanitised HTML with absolute URLs' },
            categories: { type: 'array', items: { type: 'string' } },
            enclosures: { type: 'array', items: { type: 'object', required: ['url'], properties: { url: { type: 'string' }, type: { type: ['string', 'null'] }, length: { type: ['integer', 'null'] } } } },
            language: { type: ['string', 'null'] },
            story_id: { type: 'integer', description: 'The story (news event) this entry belongs to' },
            sources: { type: 'array', items: ref('Source') },
            story: ref('CollapsedStory'),
          },
        },
        CollapsedStory: {
          type: 'object',
          description: 'Only with ?collapse=story: the item stands for this story; sources are its other reports (whatever the filters), earliest first, one element per report and feed carrying it, at most 100 reports',
          required: ['id', 'sources'],
          additionalProperties: false,
          properties: {
            id: { type: 'integer' },
            sources: {
              type: 'array',
              items: {
                type: 'object',
                required: ['item_id', 'feed_id', 'feed_title', 'title', 'url', 'published'],
                additionalProperties: false,
                properties: {
                  item_id: { type: 'integer', description: 'The other report (an item of /api/items)' },
                  feed_id: { type: 'integer' },
                  feed_title: { type: ['string', 'null'] },
                  title: { type: ['string', 'null'] },
                  url: { type: ['string', 'null'] },
                  published: { type: ['string', 'null'], format: 'date-time' },
                },
              },
            },
          },
        },
        Story: {
          type: 'object',
          required: ['id', 'title', 'first_published', 'last_updated', 'items', 'sources_count'],
          properties: {
            id: { type: 'integer' },
            title: { type: ['string', 'null'], description: 'Headline of the earliest report' },
            first_published: { type: 'string', format: 'date-time' },
            last_updated: { type: 'string', format: 'date-time' },
            items: { type: 'array', description: 'Every report, earliest first', items: ref('Item') },
            sources_count: { type: 'integer', description: 'Number of distinct feeds carrying the story' },
          },
        },
        StoryPage: { type: 'object', required: ['stories', 'next_cursor'], properties: { stories: { type: 'array', items: ref('Story') }, next_cursor: { type: ['string', 'null'] } } },
        ItemPage: { type: 'object', required: ['items', 'next_cursor'], properties: { items: { type: 'array', items: ref('Item') }, next_cursor: { type: ['string', 'null'] } } },
        FeedInput: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', maxLength: 2048, description: 'A feed, or a web page that advertises feeds with <link rel="alternate">' },
            discover: { enum: ['first', 'all'], description: 'Given a web page: subscribe its first feed (default) or every one' },
            title: { type: ['string', 'null'], maxLength: 300 },
            region: { type: ['string', 'null'], maxLength: 100 },
            language: { type: ['string', 'null'], description: 'Language tag (en, it, ar-SY) when the feed names none' },
          },
        },
        FeedPatch: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { url: { type: 'string', maxLength: 2048 }, title: { type: ['string', 'null'], maxLength: 300 }, region: { type: ['string', 'null'], maxLength: 100 }, enabled: { type: 'boolean' } },
        },
        Feed: {
          type: 'object',
          required: ['id', 'url', 'title', 'site_url', 'region', 'language', 'enabled', 'disabled_reason', 'last_fetched_at', 'last_status', 'last_error', 'last_error_kind', 'error_count', 'next_poll_at', 'poll_interval_s', 'entry_count', 'created_at', 'push'],
          properties: {
            id: { type: 'integer' },
            url: { type: 'string' },
            title: { type: ['string', 'null'] },
            site_url: { type: ['string', 'null'] },
            region: { type: ['string', 'null'] },
            language: { type: ['string', 'null'] },
            enabled: { type: 'boolean' },
            disabled_reason: { type: ['string', 'null'] },
            last_fetched_at: { type: ['string', 'null'], format: 'date-time' },
            last_status: { type: ['integer', 'null'], description: 'HTTP status of the last fetch' },
            last_error: { type: ['string', 'null'] },
            last_error_kind: { type: ['string', 'null'] },
            error_count: { type: 'integer', minimum: 0 },
            next_poll_at: { type: ['string', 'null'], format: 'date-time' },
            poll_interval_s: { type: ['integer', 'null'] },
            entry_count: { type: 'integer', minimum: 0 },
            created_at: { type: ['string', 'null'], format: 'date-time' },
            push: {
              type: 'object',
              description: 'WebSub: while subscribed, the publisher pushes new versions and the feed is polled only at POLL_MAX_INTERVAL',
              required: ['state', 'hub', 'expires_at'],
              properties: {
                state: { enum: ['subscribed', 'pending', 'none', 'failed'] },
                hub: { type: ['string', 'null'] },
                expires_at: { type: ['string', 'null'], format: 'date-time', description: 'End of the lease' },
              },
            },
          },
        },
        FeedList: { type: 'object', required: ['feeds'], properties: { feeds: { type: 'array', items: ref('Feed') } } },
        PollSummary: {
          type: 'object',
          required: ['feedId', 'url', 'outcome', 'status', 'inserted', 'linked', 'updated', 'unchanged', 'errorKind', 'error', 'nextPollAt', 'durationMs'],
          properties: {
            feedId: { type: 'integer' },
            url: { type: 'string' },
            outcome: { enum: ['ok', 'not-modified', 'unchanged', 'error', 'lease-lost'] },
            status: { type: ['integer', 'null'] },
            inserted: { type: 'integer', minimum: 0 },
            linked: { type: 'integer', minimum: 0 },
            updated: { type: 'integer', minimum: 0 },
            unchanged: { type: 'integer', minimum: 0 },
            errorKind: { type: ['string', 'null'] },
            error: { type: ['string', 'null'] },
            nextPollAt: { type: ['string', 'null'], format: 'date-time' },
            durationMs: { type: 'number', minimum: 0 },
          },
        },
        RefreshResult: {
          type: 'object',
          required: ['feed', 'result'],
          properties: {
            feed: ref('Feed'),
            result: { oneOf: [ref('PollSummary'), { type: 'null', description: 'Another worker held the feed; nothing was polled' }] },
          },
        },
        OpmlImportResult: {
          type: 'object',
          required: ['added', 'existing', 'rejected', 'skipped', 'complete', 'outlines'],
          properties: {
            added: { type: 'integer', description: 'Feeds added' },
            existing: { type: 'integer', description: 'Feeds subscribed already' },
            rejected: { type: 'array', items: { type: 'object', required: ['url', 'reason'], properties: { url: { type: 'string' }, reason: { type: 'string' } } } },
            skipped: { type: 'integer', description: 'Outlines not decided because the server shut down meanwhile' },
            complete: { type: 'boolean', description: 'False when a shutdown cut the import short' },
            outlines: {
              type: 'array',
              items: {
                type: 'object',
                required: ['url', 'result', 'feeds', 'discovered_from', 'reason'],
                properties: {
                  url: { type: 'string' },
                  result: { enum: ['added', 'existing', 'rejected', 'skipped'] },
                  feeds: { type: 'array', items: { $ref: '#/components/schemas/SubscribedFeed' } },
                  discovered_from: { type: ['string', 'null'], description: 'The web page the feed was found on' },
                  reason: { type: ['string', 'null'], description: 'Why it was refused or skipped, or why it was added without being checked' },
                },
              },
            },
          },
        },
        JsonFeed: {
          type: 'object',
          description: 'JSON Feed 1.1 (https://jsonfeed.org/version/1.1); items carry a _tributary extension with every source',
          required: ['version', 'title', 'items'],
          properties: {
            version: { const: 'https://jsonfeed.org/version/1.1' },
            title: { type: 'string' },
            home_page_url: { type: 'string' },
            feed_url: { type: 'string' },
            hubs: { type: 'array', description: 'WebSub hub (WEBSUB_HUB)', items: { type: 'object', required: ['type', 'url'], properties: { type: { type: 'string' }, url: { type: 'string' } } } },
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id'],
                properties: {
                  id: { type: 'string' },
                  url: { type: 'string' },
                  title: { type: 'string' },
                  content_html: { type: 'string' },
                  date_published: { type: 'string', format: 'date-time' },
                  _tributary: {
                    type: 'object',
                    required: ['story_id', 'sources'],
                    properties: {
                      story_id: { type: 'integer', description: 'The story (news event) of the item' },
                      sources: {
                        type: 'array',
                        description: "The item's feeds; with ?collapse=story followed by every other report's feeds (with item_id, title, date_published)",
                        items: {
                          type: 'object',
                          required: ['feed_id', 'feed_title', 'feed_url', 'url'],
                          properties: {
                            feed_id: { type: 'integer' },
                            feed_title: { type: ['string', 'null'] },
                            feed_url: { type: ['string', 'null'] },
                            url: { type: ['string', 'null'] },
                            item_id: { type: 'integer' },
                            title: { type: ['string', 'null'] },
                            date_published: { type: 'string', format: 'date-time' },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        SubscribedFeed: { type: 'object', required: ['id', 'url', 'status'], properties: { id: { type: 'integer' }, url: { type: 'string' }, status: { enum: ['added', 'existing'] } } },
      },
    },
  };
}
