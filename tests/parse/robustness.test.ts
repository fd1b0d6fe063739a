import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FeedParseError, parseFeed } from '../../src/parse/index.ts';
import { normaliseItem, type RawItem } from '../../src/parse/normalise.ts';
import { repairXml } from '../../src/parse/xml-repair.ts';
import { fastestCpuMs } from './timing.ts';

const FEEDS = new URL('../fixtures/feeds/', import.meta.url);
const text = (name: string): string => readFileSync(new URL(name, FEEDS), 'utf8');

async function parseError(input: string, baseUrl: string | null = null): Promise<FeedParseError> {
  const err: unknown = await parseFeed(input, { baseUrl }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FeedParseError);
  return err as FeedParseError;
}

describe('broken-publisher.rss.xml: recovered, not rejected', async () => {
  const parsed = await parseFeed(text('broken-publisher.rss.xml'), { baseUrl: null });

  it('survives BOM, PHP junk, bare &, HTML entities and control characters', () => {
    expect(parsed.format).toBe('rss2');
    expect(parsed.feed).toEqual({ title: 'Café Levant & Friends — Blog', link: 'https://cafe-levant.example/', language: 'EN_gb', ttl_seconds: null });
    expect(parsed.items[0]).toEqual({
      guid: 'spice-guide-2017',
      url: 'https://cafe-levant.example/posts/spice-guide?ref=rss&utm_source=feed',
      title: 'Za’atar, sumac & pul biber: a spice guide…',
      published: '2017-11-06T14:30:00.000Z',
      updated: null,
      author: null,
      categories: ['Cooking', 'Spices'],
      enclosures: [],
      summary: 'Three spices every kitchen needs – and how to use them. Vendor: AT&T® partner &unknown; shop.',
      content_html: null,
    });
  });

  it('strips control characters, maps C1 references, reads zone-less dates as UTC, resolves against the feed link', () => {
    expect(parsed.items[1]).toMatchObject({
      title: 'Control characters in a title',
      url: 'https://cafe-levant.example/posts/control-chars',
      published: '2017-11-05T14:00:00.000Z',
      summary: 'Bell , escape , form feed and a curly quote ’from cp1252” reference.',
    });
  });

  it('keeps an exact duplicate once, drops an empty item, keeps a description-only item, in document order', () => {
    expect(parsed.items.map((i) => i.title)).toEqual([
      'Za’atar, sumac & pul biber: a spice guide…',
      'Control characters in a title',
      null,
      'Permalink guid only',
    ]);
    expect(parsed.items[2]).toMatchObject({ guid: null, url: null, summary: 'A note without a title or link: the kitchen is closed on Friday.' });
  });

  it('uses a permalink guid as the URL, reads "email (Name)" authors, drops javascript: enclosures and unparseable dates', () => {
    expect(parsed.items[3]).toEqual({
      guid: 'https://cafe-levant.example/posts/permalink-guid',
      url: 'https://cafe-levant.example/posts/permalink-guid',
      title: 'Permalink guid only',
      published: null,
      updated: null,
      author: 'Samir Khoury',
      categories: [],
      enclosures: [{ url: 'https://cafe-levant.example/media/plate.jpg', type: 'image/jpeg', length: null }],
      summary: null,
      content_html: null,
    });
  });
});

describe('other formats and edge cases', () => {
  it('reads Atom 0.3 (issued/modified, escaped mode, inline xml content)', async () => {
    const parsed = await parseFeed(text('atom03.xml'), { baseUrl: null });
    expect(parsed.format).toBe('atom03');
    expect(parsed.feed).toEqual({ title: "Le Carnet d'Oran", link: 'http://carnet-oran.example/', language: 'fr-FR', ttl_seconds: null });
    expect(parsed.items[0]).toEqual({
      guid: 'tag:carnet-oran.example,2005:/2005/03/marche',
      url: 'http://carnet-oran.example/2005/03/marche-medina-jdida',
      title: 'Le marché de Medina Jdida',
      published: '2005-03-12T09:30:00.000Z',
      updated: '2005-03-12T18:30:02.000Z',
      author: 'Karim B.',
      categories: [],
      enclosures: [],
      summary: 'Balade au marché, un samedi matin.',
      content_html: '<p>Balade au marché de <a rel="noopener noreferrer" href="http://carnet-oran.example/tags/oran">Medina Jdida</a>.</p>',
    });
    expect(parsed.items[1]?.content_html).toBe('<div><p>Un <em>court</em> billet.</p></div>');
  });

  it('reads RSS 0.91 with the Netscape DOCTYPE, without fetching it', async () => {
    const parsed = await parseFeed(text('rss091.xml'), { baseUrl: null });
    expect(parsed.format).toBe('rss09');
    expect(parsed.feed.title).toBe('Beirut Daily Star Online');
    expect(parsed.items[0]).toMatchObject({
      url: 'http://dailystar-archive.example/article.asp?edition_id=1&categ_id=2&article_id=22561',
      title: 'Cedar Revolution: one year on',
      summary: "Lebanese gather in Martyrs' Square to mark the anniversary.",
    });
  });

  it('handles Atom link oddities: self/edit never win, <link>text</link>, invalid dates, xhtml titles, text content', async () => {
    const parsed = await parseFeed(text('atom-edge-cases.atom.xml'), { baseUrl: 'https://edge.example/feed.atom' });
    expect(parsed.feed.link).toBe('https://edge.example/');
    expect(parsed.items.map((i) => i.url)).toEqual(['https://edge.example/posts/1', 'https://edge.example/posts/2', null]);
    expect(parsed.items[0]).toMatchObject({
      published: null,
      updated: '2024-05-01T10:00:00.000Z',
      summary: 'Summary with markup and no content.',
      content_html: '<p>Summary with <em>markup</em> and no content.</p>',
    });
    expect(parsed.items[1]).toMatchObject({
      title: 'An XHTML title',
      content_html: '<p>Plain text content with &lt;angle&gt; brackets &amp; an ampersand.</p>',
    });
    expect(parsed.items[2]?.content_html).toBe('<a rel="noopener noreferrer">click</a>');
  });

  it('reads named zones, two-digit years, dc:date and atom:updated in RSS', async () => {
    const parsed = await parseFeed(text('named-zone-dates.rss.xml'), { baseUrl: null });
    const dates = parsed.items.map((i) => [i.title, i.published, i.updated]);
    const same = '2017-11-09T16:20:00.000Z';
    expect(dates).toEqual([
      ['CEST', same, null],
      ['EDT no seconds', same, null],
      ['two-digit year, wrong day name', same, null],
      ['IST', same, null],
      ['military Z', same, null],
      ['numeric offset', same, null],
      ['zone-less RFC 822', same, null],
      ['dc:date only', same, null],
      ['atom:updated', same, '2017-11-10T08:00:00.000Z'],
      ['garbage', null, null],
    ]);
  });
});

describe('hostile documents', () => {
  it('parses billion laughs without expanding it: the nested entity stays literal text, in milliseconds', async () => {
    const doc = text('billion-laughs.rss.xml');
    const parsed = await parseFeed(doc, { baseUrl: null });
    expect(JSON.stringify(parsed)).toContain('&lol9;');
    expect(JSON.stringify(parsed).length).toBeLessThan(doc.length * 2); // nothing was multiplied
    expect(fastestCpuMs(() => repairXml(doc))).toBeLessThan(50);
  });

  it('never reads an external entity (XXE): it stays literal text', async () => {
    const parsed = await parseFeed(text('xxe.rss.xml'), { baseUrl: null });
    const out = JSON.stringify(parsed);
    expect(out).toContain('&xxe;');
    expect(out).not.toContain('root:');
  });

  it('drops a plain DOCTYPE (RSS 0.91 DTD reference) and parses the feed', async () => {
    const parsed = await parseFeed(text('rss091.xml'), { baseUrl: null });
    expect(parsed.items.length).toBeGreaterThan(0);
  });

  it('normalises a 195 KB description of "<" with no ">" in well under 100 ms', () => {
    const hostile = '<'.repeat(195_000);
    const raw: RawItem = {
      base: null, guid: 'g', link: null, title: { value: 'x', kind: 'html' }, published: null, updated: null,
      authors: [], categories: [], enclosures: [], content: null, summary: { value: hostile, kind: 'html' },
    };
    const item = normaliseItem(raw, null);
    expect(fastestCpuMs(() => normaliseItem(raw, null))).toBeLessThan(100);
    expect(item.summary).toBe(`${'<'.repeat(1000)}…`);
    expect(item.content_html).toBeNull();
  });

  it('parses a feed whose description is 195 KB of "<" without blocking (rss-parser\'s snippet would take seconds)', async () => {
    const body = '<'.repeat(195_000);
    const xml = `<rss version="2.0"><channel><title>t</title><item><title>x</title><description><![CDATA[${body}]]></description><content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<p>${body}</p>]]></content:encoded></item></channel></rss>`;
    const started = performance.now();
    const parsed = await parseFeed(xml, { baseUrl: null });
    // Generous for busy machines; rss-parser's snippet path alone takes ~6 s on an idle one.
    expect(performance.now() - started).toBeLessThan(4000);
    expect(parsed.items[0]?.summary?.length).toBe(1001);
    expect(parsed.items[0]?.content_html).toBe(`<p>${'&lt;'.repeat(195_000)}</p>`);
  });
});

describe('not a feed', () => {
  it('explains an HTML page and points at the feed it advertises', async () => {
    const err = await parseError(text('html-page-with-alternate.html'), 'https://levantnews.example/');
    expect(err.advertisedFeedUrl).toBe('https://levantnews.example/feed/?format=rss&lang=en');
    expect(err.message).toBe('not a feed (got an HTML page); the page advertises a feed at https://levantnews.example/feed/?format=rss&lang=en');
  });

  it('explains an HTML page without a feed', async () => {
    const err = await parseError(text('html-page-no-feed.html'));
    expect(err.message).toBe('not a feed (got an HTML page)');
    expect(err.advertisedFeedUrl).toBeNull();
  });

  it.each([
    ['', 'empty document: no feed content'],
    [' \n\t', 'empty document: no feed content'],
    ['\ufeff', 'empty document: no feed content'],
    ['hello world', 'not a feed (no XML or JSON document found)'],
    ['<foo><bar/></foo>', "not a feed (the document's root element is <foo>, not rss, RDF or feed)"],
    ['{"version": "1", "items": []}', 'not a feed (JSON without a jsonfeed.org version)'],
    ['[1, 2]', 'not a feed (no XML or JSON document found)'],
  ])('%j → %s', async (input, message) => {
    expect((await parseError(input)).message).toBe(message);
  });

  it('recovers a truncated document and wraps JSON errors into FeedParseError', async () => {
    const parsed = await parseFeed('<rss version="2.0"><channel><title>unclosed</title><item><title>kept', { baseUrl: null });
    expect(parsed.feed.title).toBe('unclosed');
    expect(parsed.items.map((i) => i.title)).toEqual(['kept']);
    const bad = await parseError('{"version": "https://jsonfeed.org/version/1.1", "items": [');
    expect(bad.message).toMatch(/^not a feed \(invalid JSON/);
  });

  it('tolerates a JSON Feed with only the required fields and odd types', async () => {
    const parsed = await parseFeed(
      JSON.stringify({ version: 'https://jsonfeed.org/version/1', title: 7, items: [{ id: 'a', content_text: 'hi', tags: 'x', attachments: {} }, 'junk', {}] }),
      { baseUrl: null },
    );
    expect(parsed.feed).toEqual({ title: null, link: null, language: null, ttl_seconds: null });
    expect(parsed.items).toEqual([
      { guid: 'a', url: null, title: null, published: null, updated: null, author: null, categories: [], enclosures: [], summary: 'hi', content_html: '<p>hi</p>' },
    ]);
  });
});
