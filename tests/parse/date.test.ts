// Run in a zone far from UTC, so a parser that falls back to local time gives a wrong answer.
process.env.TZ = 'America/New_York';

import { describe, expect, it } from 'vitest';
import { parseDate } from '../../src/parse/date.ts';

describe('parseDate', () => {
  it('runs in a non-UTC zone (guard for the table below)', () => {
    expect(new Date(2024, 0, 1).getTimezoneOffset()).toBe(300);
  });

  it.each([
    // RFC 822 / 2822
    ['Wed, 01 May 2024 10:00:00 GMT', '2024-05-01T10:00:00.000Z'],
    ['Wed, 01 May 2024 10:00:00 UT', '2024-05-01T10:00:00.000Z'],
    ['Wed, 01 May 2024 10:00:00 +0200', '2024-05-01T08:00:00.000Z'],
    ['Wed, 01 May 2024 10:00:00 -0430', '2024-05-01T14:30:00.000Z'],
    ['Wed, 01 May 2024 10:00 EDT', '2024-05-01T14:00:00.000Z'],
    ['Wed, 01 Jan 2024 10:00:00 EST', '2024-01-01T15:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 CDT', '2024-05-02T15:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 CST', '2024-05-02T16:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 MST', '2024-05-02T17:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 MDT', '2024-05-02T16:00:00.000Z'],
    ['Sun, 31 Dec 2023 23:30:00 PST', '2024-01-01T07:30:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 PDT', '2024-05-02T17:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 CET', '2024-05-02T09:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 CEST', '2024-05-02T08:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 EET', '2024-05-02T08:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 EEST', '2024-05-02T07:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 BST', '2024-05-02T09:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 IST', '2024-05-02T04:30:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 Z', '2024-05-02T10:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 A', '2024-05-02T09:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 M', '2024-05-01T22:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 N', '2024-05-02T11:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 Y', '2024-05-02T22:00:00.000Z'],
    ['02 May 2024 10:00:00 GMT', '2024-05-02T10:00:00.000Z'], // no day name
    ['Mon, 02 May 2024 10:00:00 GMT', '2024-05-02T10:00:00.000Z'], // wrong day name
    ['Thursday, 2 May 2024 10:00 GMT', '2024-05-02T10:00:00.000Z'],
    ['Thu, 02 May 24 10:00:00 GMT', '2024-05-02T10:00:00.000Z'], // 2-digit year
    ['Sat, 02 May 98 10:00:00 GMT', '1998-05-02T10:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00', '2024-05-02T10:00:00.000Z'], // no zone → UTC, not New York
    ['Thu, 02 May 2024', '2024-05-02T00:00:00.000Z'],
    ['Thu, 02 May 2024 10:00:00 GMT+0200 (Central European Summer Time)', '2024-05-02T08:00:00.000Z'],
    ['gio, 09 nov 2017 18:20:00 +0100', '2017-11-09T17:20:00.000Z'],
    ['mar, 01 mai 2024 10:00:00 +0200', '2024-05-01T08:00:00.000Z'],
    ['  Thu,  02   May 2024 10:00:00 GMT  ', '2024-05-02T10:00:00.000Z'],
    // ISO 8601 / RFC 3339 (Atom, JSON Feed, dc:date)
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T10:00:00.123Z', '2024-05-01T10:00:00.123Z'],
    ['2024-05-01T10:00:00+02:00', '2024-05-01T08:00:00.000Z'],
    ['2024-05-01T10:00:00-0500', '2024-05-01T15:00:00.000Z'],
    ['2024-05-01T10:00:00', '2024-05-01T10:00:00.000Z'], // no zone → UTC
    ['2024-05-01 10:00:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T10:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
  ])('%s → %s', (input, expected) => {
    expect(parseDate(input)).toBe(expected);
  });

  it.each([
    [''],
    ['   '],
    ['not a date'],
    ['yesterday afternoon'],
    ['31 Feb 2024 10:00:00 GMT'],
    ['2024-13-45T99:00:00Z'],
    ['2024-02-30'],
    ['Thu, 02 Foo 2024 10:00:00 GMT'],
    ['Thu, 02 May 2024 25:00:00 GMT'],
    ['Thu, 02 May 2024 10:00:00 XYZ'],
    ['1714557600'],
  ])('%j → null (never "now")', (input) => {
    expect(parseDate(input)).toBeNull();
  });

  it('returns null for non-strings', () => {
    expect(parseDate(null)).toBeNull();
    expect(parseDate(undefined)).toBeNull();
  });
});
