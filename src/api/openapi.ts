import { DEFAULT_LIMIT, MAX_LIMIT, MAX_Q_LENGTH } from './params.ts';
import { VERSION } from '../version.ts';

type Json = Record<string, unknown>;

const problem = (description: string): Json => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const query = (name: string, description: string, schema: Json, extra: Json = {}): Json => ({ name, in: 'query', description, schema, ...extra });
const pathId = (name = 'id'): Json => ({ name, in: 'path', required: true, schema: { type: 'integer', minimum: 1 } });

const filterParams: Json[] = [
  query('feed', 'Only entries carried by these feeds (repeat the parameter for several).', { type: 'array', items: { type: 'integer', minimum: 1 } }, { style: 'form', explode: true }),
  query('region', 'Only entries from feeds of this region.', { type: 'string', maxLength: 100 }),
  query('q', 'Full-text search (websearch syntax: words, "phrases", -exclusions, or).', { type: 'string', maxLength: MAX_Q_LENGTH }),
  query('lang', 'Only entries in this language (primary subtag, e.g. en, it, ar).', { type: 'string' }),
  query('limit', 'How many entries.', { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
];

const feedResponses = (mediaType: string): Json => ({
  '200': { description: 'The merged feed, newest first', headers: cacheHeaders, content: { [mediaType]: { schema: { type: 'string' } } } },
  '304': { description: 'Not modified (If-None-Match / If-Modified-Since)' },
  '400': problem('Malformed parameter'),
});
const cacheHeaders: Json = { ETag: { schema: { type: 'string' } }, 'Last-Modified': { schema: { type: 'string' } }, 'Cache-Control': { schema: { type: 'string' } } };

const mergedFeed = (format: string, mediaType: string, region: boolean): Json => ({
  get: {
    summary: `Merged feed (${format})${region ? ' of one region' : ''}`,
    tags: ['feeds output'],
    parameters: region ? [{ name: 'region', in: 'path', required: true, schema: { type: 'string' } }, ...filterParams.filter((p) => p.name !== 'region')] : filterParams,
    responses: feedResponses(mediaType),
  },
});

const bearer = [{ bearerAuth: [] }];
const feedBody: Json = { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/FeedInput' } } } };
const adminErrors: Json = { '400': problem('Invalid input'), '401': problem('Missing or wrong bearer token') };

/** OpenAPI 3.1 description of every route of the app (a test checks it against the router). */
export function openApiDocument(serverUrl?: string): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'Tributary', version: VERSION, description: 'Self-hosted news feed aggregator: merged feeds and a JSON API.' },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths: {
      '/': { get: { summary: 'Reader page (HTML)', tags: ['reader'], parameters: [...filterParams.filter((p) => p.name !== 'limit'), query('cursor', 'Page token from the "Older" link.', { type: 'string' })], responses: { '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } }, '400': problem('Malformed parameter') } } },
      '/assets/reader.css': { get: { summary: 'Reader stylesheet', tags: ['reader'], responses: { '200': { description: 'CSS', content: { 'text/css': { schema: { type: 'string' } } } } } } },
      '/favicon.ico': { get: { summary: 'No icon (204), so browsers stop asking', tags: ['reader'], responses: { '204': { description: 'No content' } } } },
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
          ],
          responses: {
            '200': { description: 'A page of items', headers: { ETag: { schema: { type: 'string' } } }, content: { 'application/json': { schema: { $ref: '#/components/schemas/ItemPage' } } } },
            '304': { description: 'Not modified (If-None-Match): no entry changed since this ETag' },
            '400': problem('Malformed parameter'),
          },
        },
      },
      '/api/items/{id}': {
        get: {
          summary: 'One entry with all its sources',
          tags: ['items'],
          parameters: [pathId()],
          responses: { '200': { description: 'The item', content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } }, '400': problem('Malformed id'), '404': problem('Unknown id') },
        },
      },
      '/api/feeds': {
        get: { summary: 'List subscribed feeds with their state', tags: ['admin'], responses: { '200': { description: 'Feeds', content: { 'application/json': { schema: { type: 'object' } } } } } },
        post: { summary: 'Subscribe to a feed', tags: ['admin'], security: bearer, requestBody: feedBody, responses: { '201': { description: 'Created' }, ...adminErrors, '409': problem('Already subscribed') } },
      },
      '/api/feeds/{id}': {
        get: { summary: 'One feed', tags: ['admin'], parameters: [pathId()], responses: { '200': { description: 'The feed' }, '404': problem('Unknown id') } },
        patch: { summary: 'Change title, region or enabled', tags: ['admin'], security: bearer, parameters: [pathId()], requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { title: { type: ['string', 'null'] }, region: { type: ['string', 'null'] }, enabled: { type: 'boolean' } } } } } }, responses: { '200': { description: 'Updated' }, ...adminErrors, '404': problem('Unknown id') } },
        delete: { summary: 'Unsubscribe (entries only this feed carried are removed)', tags: ['admin'], security: bearer, parameters: [pathId()], responses: { '204': { description: 'Deleted' }, ...adminErrors, '404': problem('Unknown id') } },
      },
      '/api/feeds/{id}/refresh': {
        post: { summary: 'Poll the feed now', tags: ['admin'], security: bearer, parameters: [pathId()], responses: { '200': { description: 'Poll summary' }, ...adminErrors, '404': problem('Unknown id') } },
      },
      '/api/opml': {
        get: { summary: 'Export subscriptions as OPML', tags: ['admin'], responses: { '200': { description: 'OPML', content: { 'text/x-opml': { schema: { type: 'string' } } } } } },
        post: { summary: 'Import subscriptions from OPML', tags: ['admin'], security: bearer, requestBody: { required: true, content: { 'text/x-opml': { schema: { type: 'string' } }, 'application/xml': { schema: { type: 'string' } } } }, responses: { '200': { description: 'Import summary' }, ...adminErrors } },
      },
      '/api/openapi.json': { get: { summary: 'This document', tags: ['meta'], responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
      '/healthz': { get: { summary: 'Liveness', tags: ['meta'], responses: { '200': { description: 'Process up', content: { 'application/json': { schema: { type: 'object', properties: { status: { const: 'ok' } } } } } } } } },
      '/readyz': { get: { summary: 'Readiness (database answers)', tags: ['meta'], responses: { '200': { description: 'Ready' }, '503': problem('Database not reachable') } } },
      '/metrics': { get: { summary: 'Prometheus metrics', tags: ['meta'], responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
      schemas: {
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
        Source: { type: 'object', properties: { feed_id: { type: 'integer' }, feed_title: { type: ['string', 'null'] }, url: { type: ['string', 'null'] } } },
        Item: {
          type: 'object',
          required: ['id', 'sources'],
          properties: {
            id: { type: 'integer' },
            url: { type: ['string', 'null'], description: 'Article URL without tracking parameters' },
            title: { type: ['string', 'null'] },
            published: { type: ['string', 'null'], format: 'date-time' },
            updated: { type: ['string', 'null'], format: 'date-time' },
            author: { type: ['string', 'null'] },
            summary: { type: ['string', 'null'] },
            content_html: { type: ['string', 'null'] },
            categories: { type: 'array', items: { type: 'string' } },
            enclosures: { type: 'array', items: { type: 'object', properties: { url: { type: 'string' }, type: { type: ['string', 'null'] }, length: { type: ['integer', 'null'] } } } },
            language: { type: ['string', 'null'] },
            sources: { type: 'array', items: { $ref: '#/components/schemas/Source' } },
          },
        },
        ItemPage: { type: 'object', required: ['items', 'next_cursor'], properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Item' } }, next_cursor: { type: ['string', 'null'] } } },
        FeedInput: { type: 'object', required: ['url'], properties: { url: { type: 'string', format: 'uri' }, title: { type: 'string' }, region: { type: 'string' }, language: { type: 'string' } } },
      },
    },
  };
}
