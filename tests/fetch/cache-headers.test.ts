import { describe, expect, it } from 'vitest';
import { parseFreshForSeconds, parseRetryAfter } from '../../src/fetch/cache-headers.ts';

const NOW = Date.parse('2025-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', null, NOW)).toBe(120);
    expect(parseRetryAfter(' 0 ', null, NOW)).toBe(0);
  });
  it('reads an HTTP date relative to the server Date header, else to now', () => {
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:01:30 GMT', 'Sat, 01 Mar 2025 12:00:00 GMT', 0)).toBe(90);
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:05:00 GMT', null, NOW)).toBe(300);
    expect(parseRetryAfter('Sat, 01 Mar 2025 11:00:00 GMT', null, NOW)).toBe(0);
  });
  it('returns null when absent or unreadable', () => {
    expect(parseRetryAfter(null, null, NOW)).toBeNull();
    expect(parseRetryAfter('soon', null, NOW)).toBeNull();
    expect(parseRetryAfter('-5', null, NOW)).toBeNull();
  });
});

describe('parseFreshForSeconds', () => {
  it('prefers s-maxage, then max-age', () => {
    expect(parseFreshForSeconds('public, max-age=300', null, null, NOW)).toBe(300);
    expect(parseFreshForSeconds('max-age=300, s-maxage=600', null, null, NOW)).toBe(600);
    expect(parseFreshForSeconds('max-age="60"', null, null, NOW)).toBe(60);
  });
  it('is null for no-cache / no-store even with max-age, and when nothing is said', () => {
    expect(parseFreshForSeconds('no-cache, max-age=300', null, null, NOW)).toBeNull();
    expect(parseFreshForSeconds('no-store', 'Sat, 01 Mar 2025 13:00:00 GMT', null, NOW)).toBeNull();
    expect(parseFreshForSeconds(null, null, null, NOW)).toBeNull();
    expect(parseFreshForSeconds('public', null, null, NOW)).toBeNull();
  });
  it('uses Expires minus Date (or now) when there is no max-age', () => {
    expect(parseFreshForSeconds(null, 'Sat, 01 Mar 2025 13:00:00 GMT', 'Sat, 01 Mar 2025 12:30:00 GMT', 0)).toBe(1800);
    expect(parseFreshForSeconds('public', 'Sat, 01 Mar 2025 12:10:00 GMT', null, NOW)).toBe(600);
    expect(parseFreshForSeconds(null, 'Sat, 01 Mar 2025 11:00:00 GMT', null, NOW)).toBe(0);
    expect(parseFreshForSeconds(null, '0', null, NOW)).toBe(0);
    expect(parseFreshForSeconds(null, '-1', null, NOW)).toBe(0);
    expect(parseFreshForSeconds(null, '2099', null, NOW)).toBe(0);
  });
});
