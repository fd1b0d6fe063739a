import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { addFeed, ingest, series, startApp, type RunningApp } from './helpers.ts';
import { decodeCursor, encodeCursor } from '../../src/api/cursor.ts';

const token = (json: string) => Buffer.from(json, 'utf8').toString('base64url');
const valid = encodeCursor({ sortAt: '2024-05-01T00:00:00.000000Z', id: 3 });

/** [what is wrong, token] */
const MALFORMED: Array<[string, string]> = [
  ['impossible date 2026-02-30', token('["2026-02-30T10:00:00.000000Z",1]')],
  ['February 29 of a common year', token('["2025-02-29T10:00:00.000000Z",1]')],
  ['day 31 of a 30-day month', token('["2026-04-31T10:00:00.000000Z",1]')],
  ['day 00', token('["2026-01-00T10:00:00.000000Z",1]')],
  ['month 13', token('["2026-13-01T10:00:00.000000Z",1]')],
  ['month 00', token('["2026-00-10T10:00:00.000000Z",1]')],
  ['hour 24', token('["2026-01-01T24:00:00.000000Z",1]')],
  ['minute 60', token('["2026-01-01T10:60:00.000000Z",1]')],
  ['leap second 60', token('["2026-12-31T23:59:60.000000Z",1]')],
  ['year 0000', token('["0000-01-01T00:00:00.000000Z",1]')],
  ['a time zone other than Z', token('["2026-01-01T10:00:00.000000+02:00",1]')],
  ['milliseconds only', token('["2026-01-01T10:00:00.000Z",1]')],
  ['a date without time', token('["2026-01-01",1]')],
  ['id 0', token('["2026-01-01T10:00:00.000000Z",0]')],
  ['negative id', token('["2026-01-01T10:00:00.000000Z",-1]')],
  ['fractional id', token('["2026-01-01T10:00:00.000000Z",1.5]')],
  ['id beyond 2^53', token('["2026-01-01T10:00:00.000000Z",9007199254740993]')],
  ['id as a string', token('["2026-01-01T10:00:00.000000Z","1"]')],
  ['id as an exponent', token('["2026-01-01T10:00:00.000000Z",1e400]')],
  ['a third element', token('["2026-01-01T10:00:00.000000Z",1,"x"]')],
  ['an object', token('{"sortAt":"2026-01-01T10:00:00.000000Z","id":1}')],
  ['not JSON', token('hello')],
  ['SQL in the date', token('["2026-01-01T10:00:00.000000Z\' or 1=1--",1]')],
  ['base64 padding', `${valid}==`],
  ['trailing base64 junk bits', `${valid}A`],
  ['standard base64 alphabet', Buffer.from('["2024-05-01T00:00:00.000000Z",1023]>>>').toString('base64')],
];

describe('cursor tokens', () => {
  it('round-trip what encodeCursor writes, including the boundaries', () => {
    for (const key of [
      { sortAt: '2024-05-01T00:00:00.000000Z', id: 3 },
      { sortAt: '2024-02-29T23:59:59.999999Z', id: 1 },
      { sortAt: '0001-01-01T00:00:00.000000Z', id: Number.MAX_SAFE_INTEGER },
      { sortAt: '9999-12-31T23:59:59.999999Z', id: 42 },
    ]) {
      expect(decodeCursor(encodeCursor(key))).toEqual(key);
    }
  });

  it.each(MALFORMED)('refuse %s', (_what, t) => {
    expect(decodeCursor(t)).toBeNull();
  });
});

describe(`malformed cursors are a 400 problem, never a 500 (${backendName})`, () => {
  let t: TestDb;
  let app: RunningApp;

  beforeAll(async () => {
    t = await createTestDb();
    app = await startApp(t.db);
    const feed = await addFeed(t.db, { url: 'https://c.example/feed', title: 'C', region: 'europe', language: 'en' });
    await ingest(t.db, feed, series('c', 3, new Date('2024-05-01T00:00:00Z')), new Date('2024-05-02T00:00:00Z'));
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it.each(MALFORMED)('%s: /api/items and the reader page answer 400 problem+json naming the cursor', async (_what, t) => {
    for (const path of ['/api/items', '/']) {
      const res = await fetch(`${app.base}${path}?cursor=${t}`);
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as { errors: { parameter: string }[] };
      expect(body.errors.map((e) => e.parameter), path).toEqual(['cursor']);
    }
  });

  it.each(['since=2026-02-30', 'until=2025-02-29T10:00:00Z', 'since=2026-04-31T00:00:00%2B02:00', 'until=0000-01-01'])(
    'an impossible date in %s is a 400 naming the parameter, not a silent roll-over',
    async (qs) => {
      const res = await fetch(`${app.base}/api/items?${qs}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: { parameter: string }[] }).errors.map((e) => e.parameter)).toEqual([qs.split('=')[0]]);
    },
  );

  it('a leap day is a date', async () => {
    const res = await fetch(`${app.base}/api/items?since=2024-02-29&until=2024-02-29T12:00:00Z`);
    expect(res.status).toBe(200);
    await res.text();
  });

  it('a well-formed cursor past the last row gives an empty page', async () => {
    const res = await fetch(`${app.base}/api/items?cursor=${encodeCursor({ sortAt: '0001-01-01T00:00:00.000000Z', id: 1 })}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [], next_cursor: null });
  });
});
