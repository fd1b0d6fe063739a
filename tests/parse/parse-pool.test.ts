import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createParsePool } from '../../src/parse/parse-pool.ts';
import { parseFeed } from '../../src/parse/index.ts';
import { FeedParseError } from '../../src/parse/types.ts';
import { FIXTURES } from '../helpers/paths.ts';

describe('parse pool (worker threads)', () => {
  const pool = createParsePool(2);
  afterAll(() => pool.close());

  it('gives the same result as parsing on the main thread', async () => {
    const text = readFileSync(new URL('feeds/levant-wordpress.rss.xml', FIXTURES), 'utf8');
    const opts = { baseUrl: 'https://levantnews.example/feed/' };
    expect(await pool.parse(text, opts)).toEqual(await parseFeed(text, opts));
  });

  it('keeps FeedParseError and its advertised feed URL across the thread boundary', async () => {
    const html = '<html><head><link rel="alternate" type="application/rss+xml" href="/f.xml"></head><body>x</body></html>';
    const err = await pool.parse(html, { baseUrl: 'https://a.example/news/' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedParseError);
    expect((err as FeedParseError).advertisedFeedUrl).toBe('https://a.example/f.xml');
  });

  it('parses many documents concurrently and answers each its own', async () => {
    const docs = Array.from({ length: 40 }, (_, i) =>
      `<rss version="2.0"><channel><title>F${i}</title><item><title>item ${i}</title><guid>g${i}</guid></item></channel></rss>`);
    const results = await Promise.all(docs.map((d) => pool.parse(d, { baseUrl: null })));
    expect(results.map((r) => r.feed.title)).toEqual(docs.map((_, i) => `F${i}`));
  });
});
