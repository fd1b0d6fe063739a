import { z } from 'zod';
import { HttpProblem } from './problem.ts';
import { decodeCursor } from './cursor.ts';
import { isCalendarDate } from './calendar.ts';
import type { EntryFilter, EntryKey } from '../store/entry-queries.ts';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
export const MAX_Q_LENGTH = 500;
const MAX_FEED_IDS = 100;
const MAX_INT4 = 2147483647;

const SINGLE = 'must be given once, as a plain value';

/** A scalar query value: Express's simple parser gives an array for a repeated key, which is refused. */
const scalar = () =>
  z
    .string({ error: SINGLE })
    .refine((v) => !v.includes('\u0000'), 'must not contain NUL bytes')
    // An empty value (an untouched form field) means "not given".
    .transform((v) => (v === '' ? undefined : v));

const limit = scalar().transform((v, ctx) => {
  if (v === undefined) return DEFAULT_LIMIT;
  const n = /^\d{1,6}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    ctx.addIssue({ code: 'custom', message: `must be a whole number from 1 to ${MAX_LIMIT}` });
    return z.NEVER;
  }
  return n;
});

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

const timestamp = scalar().transform((v, ctx) => {
  if (v === undefined) return undefined;
  const d = ISO_TIMESTAMP.test(v) && isCalendarDate(Number(v.slice(0, 4)), Number(v.slice(5, 7)), Number(v.slice(8, 10))) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date or date-time with a time zone, e.g. 2024-05-01T10:00:00Z' });
    return z.NEVER;
  }
  return d;
});

const q = scalar().refine((v) => v === undefined || v.length <= MAX_Q_LENGTH, `must be at most ${MAX_Q_LENGTH} characters`);

const region = scalar().refine((v) => v === undefined || (v.length <= 100 && !/[\u0000-\u001f]/.test(v)), 'must be at most 100 printable characters');

const lang = scalar()
  .refine((v) => v === undefined || /^[a-z]{2,3}([_-][a-z0-9]{1,8})*$/i.test(v), 'must be a language tag such as en, it or ar-SY')
  .transform((v) => v?.toLowerCase().split(/[_-]/)[0]);

const feedIds = z
  .union([z.string(), z.array(z.string())], { error: 'must be feed ids' })
  .transform((v, ctx) => {
    const values = (Array.isArray(v) ? v : [v]).filter((x) => x !== '');
    if (values.length > MAX_FEED_IDS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_FEED_IDS} feed ids` });
      return z.NEVER;
    }
    const ids: number[] = [];
    for (const x of values) {
      const n = /^\d{1,10}$/.test(x) ? Number(x) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > MAX_INT4) {
        ctx.addIssue({ code: 'custom', message: 'must be a positive whole number (a feed id); repeat the parameter for several feeds' });
        return z.NEVER;
      }
      ids.push(n);
    }
    return ids.length > 0 ? [...new Set(ids)].sort((a, b) => a - b) : undefined;
  });

const cursor = scalar().transform((v, ctx): EntryKey | undefined => {
  if (v === undefined) return undefined;
  const key = decodeCursor(v);
  if (!key) {
    ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
    return z.NEVER;
  }
  return key;
});

const collapse = scalar().transform((v, ctx): 'story' | undefined => {
  if (v === undefined || v === 'story') return v;
  ctx.addIssue({ code: 'custom', message: 'must be story (one entry per story)' });
  return z.NEVER;
});

const filterShape = { feed: feedIds.optional(), region: region.optional(), q: q.optional(), lang: lang.optional() };

const feedQuery = z.object({ ...filterShape, limit: limit.optional(), collapse: collapse.optional() });
const itemsQuery = z.object({
  ...filterShape,
  limit: limit.optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
  cursor: cursor.optional(),
});
const storiesQuery = itemsQuery;
const storyId = scalar().transform((v, ctx) => {
  if (v === undefined) return undefined;
  const n = /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    ctx.addIssue({ code: 'custom', message: 'must be a story id (a positive whole number)' });
    return z.NEVER;
  }
  return n;
});
const itemsWithStoryQuery = itemsQuery.extend({ story: storyId.optional(), collapse: collapse.optional() });
const streamQuery = z.object({ ...filterShape, since: timestamp.optional() });
const readerQuery = z.object({ ...filterShape, collapse: collapse.optional(), cursor: cursor.optional(), newer: cursor.optional() });

export interface ListParams {
  filter: EntryFilter;
  limit: number;
  cursor: EntryKey | undefined;
}

type Mode = 'strict' | 'lenient';

/**
 * Validates a query string parsed by Express's simple parser (values are strings or string arrays).
 * Bracketed keys (`q[]`, `a[b]`) are always refused so nesting never slips through as an unknown key;
 * `strict` also refuses any other unknown key (the JSON API), `lenient` ignores them (feed readers
 * and browsers add cache busters).
 */
function parseWith<S extends z.ZodObject>(schema: S, query: unknown, mode: Mode): z.output<S> {
  const input = (query ?? {}) as Record<string, unknown>;
  const known = Object.keys(schema.shape);
  for (const key of Object.keys(input)) {
    if (known.includes(key)) continue;
    if (mode === 'strict' || /[[\]]/.test(key)) {
      throw problem([{ parameter: key, reason: known.includes(key.replace(/\[.*$/, '')) ? SINGLE : `unknown parameter; expected one of ${known.join(', ')}` }]);
    }
  }
  const picked = Object.fromEntries(known.filter((k) => input[k] !== undefined).map((k) => [k, input[k]]));
  const r = schema.safeParse(picked);
  if (!r.success) {
    throw problem(r.error.issues.map((i) => ({ parameter: String(i.path[0] ?? 'query'), reason: i.message })));
  }
  return r.data;
}

function problem(errors: { parameter: string; reason: string }[]): HttpProblem {
  const detail = errors.map((e) => `${e.parameter}: ${e.reason}`).join('; ');
  return new HttpProblem(400, 'Bad Request', detail, { errors });
}

function toFilter(p: { feed?: number[] | undefined; region?: string | undefined; q?: string | undefined; lang?: string | undefined; collapse?: 'story' | undefined }): EntryFilter {
  return { feedIds: p.feed, region: p.region, q: p.q?.trim() || undefined, lang: p.lang, collapse: p.collapse };
}

/** `/feed.xml` and friends: filters and limit. */
export function parseFeedQuery(query: unknown): ListParams {
  const p = parseWith(feedQuery, query, 'lenient');
  return { filter: toFilter(p), limit: p.limit ?? DEFAULT_LIMIT, cursor: undefined };
}

/** `/api/items`: filters, time range, story, limit and cursor. */
export function parseItemsQuery(query: unknown): ListParams {
  const p = parseWith(itemsWithStoryQuery, query, 'strict');
  return {
    filter: { ...toFilter(p), since: p.since, until: p.until, storyIds: p.story === undefined ? undefined : [p.story] },
    limit: p.limit ?? DEFAULT_LIMIT,
    cursor: p.cursor,
  };
}

/** `/api/stream`: the /api/items filters that apply to entries as they arrive (no page, cursor or end). */
export function parseStreamQuery(query: unknown): EntryFilter {
  const p = parseWith(streamQuery, query, 'strict');
  return { ...toFilter(p), since: p.since };
}

/** `/api/stories`: the same filters, time range (of a story's last activity), limit and cursor. */
export function parseStoriesQuery(query: unknown): ListParams {
  const p = parseWith(storiesQuery, query, 'strict');
  return { filter: { ...toFilter(p), since: p.since, until: p.until, collapse: undefined }, limit: p.limit ?? DEFAULT_LIMIT, cursor: p.cursor };
}

export interface ReaderParams extends ListParams {
  /** The page of entries just newer than this position (the "Newer" link); excludes `cursor`. */
  newer: EntryKey | undefined;
}

/** The reader page: filters and a position (older than `cursor`, or newer than `newer`), fixed page size. */
export function parseReaderQuery(query: unknown): ReaderParams {
  const p = parseWith(readerQuery, query, 'lenient');
  if (p.cursor && p.newer) throw problem([{ parameter: 'newer', reason: 'give either cursor (older entries) or newer, not both' }]);
  return { filter: toFilter(p), limit: DEFAULT_LIMIT, cursor: p.cursor, newer: p.newer };
}

/** A path id: a positive whole number within the column's range. */
export function parseId(value: unknown, parameter = 'id', max = Number.MAX_SAFE_INTEGER): number {
  const s = typeof value === 'string' ? value : '';
  const n = /^\d{1,16}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw problem([{ parameter, reason: 'must be a positive whole number' }]);
  return n;
}

/** Canonical text of the filters, for cache keys and ETags: equal filters give equal text. */
export function filterKey(p: ListParams): string {
  const f = p.filter;
  return JSON.stringify([f.feedIds ?? null, f.region?.toLowerCase() ?? null, f.q ?? null, f.lang ?? null, p.limit, f.collapse ?? null]);
}
