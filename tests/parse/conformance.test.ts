/**
 * Issue 9: one small fixture per behaviour (tests/fixtures/feeds/conformance), built from the
 * specs (RSS 2.0, RSS 1.0 and its modules, Atom 1.0 / 0.3, XML Namespaces, XML Base) and from how
 * real publishers get them wrong.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeFeedBytes } from '../../src/fetch/charset.ts';
import { parseFeed, type ParsedFeed } from '../../src/parse/index.ts';
import { repairXml } from '../../src/parse/xml-repair.ts';
import { fastestCpuMs } from './timing.ts';

const DIR = new URL('../fixtures/feeds/conformance/', import.meta.url);
const bytes = (name: string): Buffer => readFileSync(new URL(name, DIR));
const parse = (name: string, baseUrl: string | null = null): Promise<ParsedFeed> =>
  parseFeed(decodeFeedBytes(bytes(name), null).text, { baseUrl });

describe('namespaces are matched by URI, not by prefix', () => {
  it('reads Atom written with an atom: prefix', async () => {
    const parsed = await parse('ns-atom-prefixed.xml');
    expect(parsed.format).toBe('atom1');
    expect(parsed.feed).toEqual({ title: 'Prefixed Atom', link: 'https://prefixed.example/', language: 'en-US', ttl_seconds: null });
    expect(parsed.items).toEqual([
      {
        guid: 'tag:prefixed.example,2024:1',
        url: 'https://prefixed.example/1',
        title: 'Atom under a prefix',
        published: null,
        updated: '2024-05-01T10:00:00.000Z',
        author: 'Desk',
        categories: [],
        enclosures: [],
        summary: 'Every element carries atom:.',
        content_html: null,
      },
    ]);
  });

  it('reads RSS 1.0 whose elements carry an rss: prefix, with dc: under another prefix', async () => {
    const parsed = await parse('ns-rss1-prefixed.rdf');
    expect(parsed.format).toBe('rss1');
    expect(parsed.feed).toEqual({ title: 'Prefixed RSS 1.0', link: 'https://rdf.example/', language: 'de-DE', ttl_seconds: null });
    expect(parsed.items[0]).toMatchObject({
      url: 'https://rdf.example/1',
      title: 'RSS 1.0 item under rss:',
      author: 'Anna Schmidt',
      published: '2024-05-01T10:00:00.000Z',
      summary: 'Matched by namespace URI.',
    });
  });

  it('reads RSS 2.0 under a non-default prefix', async () => {
    const parsed = await parse('ns-rss2-prefixed.xml');
    expect(parsed.format).toBe('rss2');
    expect(parsed.feed.title).toBe('RSS 2.0 under r:');
    expect(parsed.items).toHaveLength(1);
    expect(parsed.items[0]).toMatchObject({ url: 'https://r.example/1', title: 'Prefixed RSS 2.0 item' });
  });

  it('reads RSS 0.90 (RDF in the Netscape namespace) as rss09', async () => {
    const parsed = await parse('rss090.rdf');
    expect(parsed.format).toBe('rss09');
    expect(parsed.items.map((i) => [i.title, i.url])).toEqual([['An RSS 0.90 item', 'https://rss090.example/1']]);
  });

  it('maps content:, dc:, media: and itunes: under unusual prefixes, and not a dc: prefix bound elsewhere', async () => {
    const parsed = await parse('ns-module-prefixes.xml');
    expect(parsed.items[0]).toMatchObject({
      author: 'Dana Scully',
      content_html: '<p>Body from <b>content:encoded</b>.</p>',
      enclosures: [{ url: 'https://mods.example/a.mp3', type: 'audio/mpeg', length: 1234 }],
      summary: 'The itunes summary.',
    });
    expect(parsed.items[1]).toMatchObject({ author: 'Fox Mulder', summary: 'Only an itunes:summary.' });
  });
});

describe('xml:base', () => {
  it('resolves nested relative bases level by level, and URLs inside content HTML (href, src, srcset, poster)', async () => {
    const parsed = await parse('base-nested.atom.xml', 'https://ignored.example/feed.atom');
    expect(parsed.feed.link).toBe('https://base.example/blog/');
    expect(parsed.items[0]).toMatchObject({
      url: 'https://base.example/blog/2024/post.html',
      enclosures: [{ url: 'https://base.example/blog/2024/audio/one.mp3', type: 'audio/mpeg', length: 10 }],
      content_html:
        '<p><a rel="noopener noreferrer" href="https://base.example/blog/2024/05/more.html">more</a> ' +
        '<img src="https://base.example/blog/2024/05/i.png" srcset="https://base.example/blog/2024/05/s.png 1x, https://base.example/abs.png 2x" />' +
        '<video src="https://base.example/blog/2024/05/v.mp4" poster="https://base.example/blog/2024/05/p.jpg"></video></p>',
    });
  });

  it('uses a link element\'s own base and an xml:base inside inline xhtml', async () => {
    const parsed = await parse('base-nested.atom.xml');
    expect(parsed.items[1]).toMatchObject({
      url: 'https://base.example/other/two.html',
      content_html:
        '<p><a rel="noopener noreferrer" href="https://base.example/blog/x.html">feed base</a></p>' +
        '<p><a rel="noopener noreferrer" href="https://base.example/deep/y.html">deep base</a></p>',
    });
  });

  it('applies RSS root and item bases to links, enclosures and description HTML', async () => {
    const parsed = await parse('base-rss.xml');
    expect(parsed.feed.link).toBe('https://rssbase.example/');
    expect(parsed.items[0]).toMatchObject({
      url: 'https://rssbase.example/news/sport/match.html',
      enclosures: [{ url: 'https://rssbase.example/news/sport/photo.jpg', type: 'image/jpeg', length: null }],
      content_html: '<a rel="noopener noreferrer" href="https://rssbase.example/news/sport/report.html">report</a>',
    });
  });
});

describe('text constructs and content', () => {
  it('removes the Atom xhtml wrapper div from content, summary and titles, and keeps two top-level divs', async () => {
    const parsed = await parse('atom-xhtml-wrapper.atom.xml');
    expect(parsed.feed.title).toBe('The xhtml feed');
    expect(parsed.items[0]).toMatchObject({
      title: 'Title with markup',
      summary: 'Summary & more',
      content_html: '<p>First</p><p>Second<br />line</p>',
    });
    expect(parsed.items[1]?.content_html).toBe('<div>one</div><div>two</div>');
  });

  it('decodes Atom 0.3 mode="base64" and mode="escaped", and keeps the text of naked markup', async () => {
    const parsed = await parse('atom03-modes.xml');
    expect(parsed.items[0]).toMatchObject({
      title: 'Base64 title é',
      summary: 'Escaped summary',
      content_html: '<p>Base64 <b>content</b></p>',
    });
    expect(parsed.items[1]).toMatchObject({
      title: 'Naked markup in a title',
      summary: 'A summary with child elements',
      content_html: 'A summary with <i>child</i> elements',
    });
  });

  it('decodes Atom 1.0 content of a non-text media type (base64)', async () => {
    const parsed = await parse('atom10-base64.atom.xml');
    expect(parsed.items[0]).toMatchObject({ summary: 'Example Atom content', content_html: '<p>Example Atom content</p>' });
  });

  it('takes content from content:encoded, then xhtml:body, body and fullitem; summaries from media: and itunes:', async () => {
    const parsed = await parse('content-sources.xml');
    expect(parsed.items.map((i) => [i.guid, i.content_html, i.summary])).toEqual([
      ['c1', '<p>Body in <b>xhtml:body</b>.</p>', 'Body in xhtml:body.'],
      ['c2', '<p>Body in a plain <em>body</em> element.</p>', 'Body in a plain body element.'],
      ['c3', '<p>Body in <i>fullitem</i>.</p>', 'Body in fullitem.'],
      ['c4', '<p>The full content.</p>', 'The short description.'],
      ['c5', null, 'Only a media:description.'],
      ['c6', null, 'A media:description inside media:group.'],
      ['c7', null, 'Only an itunes:summary.'],
    ]);
  });
});

describe('people, categories, language', () => {
  it('reads every RSS author form as a name, and strips markup from authors and categories like titles', async () => {
    const parsed = await parse('authors-rss.xml');
    expect(parsed.items.map((i) => [i.guid, i.author])).toEqual([
      ['a1', 'Jane Doe'],
      ['a2', 'John Roe'],
      ['a3', 'Ann Poe'],
      ['a4', 'Creator Name'],
      ['a5', 'Dc Author'],
      ['a6', 'Podcast Host'],
      ['a7', 'Eve & Co'],
      ['a8', 'only@authors.example'],
    ]);
    expect(parsed.items[6]?.categories).toEqual(['Bold & news']);
  });

  it('gives an Atom entry its own author, else its source\'s, else the feed\'s; categories are terms', async () => {
    const parsed = await parse('authors-atom.atom.xml');
    expect(parsed.items.map((i) => i.author)).toEqual(['Entry Author', 'Source Author', 'Feed Author']);
    expect(parsed.items[0]?.categories).toEqual(['politics', 'world']);
  });

  it('takes categories from category, dc:subject, media:category and itunes:category', async () => {
    const parsed = await parse('categories-modules.xml');
    expect(parsed.items[0]?.categories).toEqual(['Plain', 'Subject', 'Media/Category', 'Technology', 'Gadgets']);
  });

  it('keeps JSON Feed titles, authors and tags literal (the spec says they are plain text)', async () => {
    const parsed = await parseFeed(
      JSON.stringify({
        version: 'https://jsonfeed.org/version/1.1',
        title: 'AT&amp;T <b>news</b>',
        items: [{ id: 'j1', title: 'Use <b> for bold &amp; more', authors: [{ name: '<i>Ann</i>' }], tags: ['<tag>'], content_text: 'x' }],
      }),
      { baseUrl: null },
    );
    expect(parsed.feed.title).toBe('AT&amp;T <b>news</b>');
    expect(parsed.items[0]).toMatchObject({ title: 'Use <b> for bold &amp; more', author: '<i>Ann</i>', categories: ['<tag>'] });
  });

  it('reads the feed language from xml:lang and dc:language, case preserved', async () => {
    expect((await parse('language-xml-lang.xml')).feed.language).toBe('pt-BR');
    expect((await parse('language-dc.rdf')).feed.language).toBe('zh-Hant-TW');
  });
});

describe('documents publishers get wrong', () => {
  it('parses an internal DTD subset: plain-text entities expand; markup, nested and external ones stay literal', async () => {
    const parsed = await parse('dtd-internal-entities.xml');
    expect(parsed.feed.title).toBe('Harbour Press news');
    expect(parsed.items[0]).toMatchObject({
      title: 'Entities: Harbour Press, &markup;, &nested;, &file;',
      summary: 'Declared entities & an undefined &undefined; one.',
    });
  });

  it('costs milliseconds and no memory on billion laughs (nothing is expanded)', () => {
    const doc = readFileSync(new URL('../fixtures/feeds/billion-laughs.rss.xml', import.meta.url), 'utf8');
    const repaired = repairXml(doc);
    expect(repaired.length).toBeLessThan(doc.length); // the DOCTYPE went, nothing grew
    expect(fastestCpuMs(() => repairXml(doc))).toBeLessThan(50);
  });

  it('keeps every item of a truncated document (missing </rss> and half an element)', async () => {
    const parsed = await parse('broken-missing-close.xml');
    expect(parsed.items.map((i) => [i.title, i.url])).toEqual([
      ['First', 'https://broken.example/1'],
      ['Second', 'https://broken.example/2'],
      ['Third, cut off', 'https://broken.example/3'],
    ]);
  });

  it('reads a document whose root tag lost its ">"', async () => {
    const parsed = await parse('broken-root-gt.xml');
    expect(parsed.format).toBe('rss2');
    expect(parsed.items.map((i) => i.title)).toEqual(['Still read', 'Also read']);
  });

  it('skips markup junk between the prolog and the root (an unclosed <br> included)', async () => {
    const parsed = await parse('broken-junk-after-prolog.xml');
    expect(parsed.feed.title).toBe('PHP warning after the prolog');
    expect(parsed.items.map((i) => i.title)).toEqual(['Still read']);
  });

  it('keeps the good items around a broken one', async () => {
    const parsed = await parse('broken-middle.xml');
    expect(parsed.items.map((i) => i.title)).toEqual(['Good before', 'Bad unclosed markup', 'Good after']);
    expect(parsed.items[1]?.summary).toBe('x < y & z <3 <<'); // a "<" that cannot start a tag is text
  });

  it('ignores stray close tags, including an early </channel>', async () => {
    const parsed = await parse('broken-stray-close.xml');
    expect(parsed.items.map((i) => i.title)).toEqual(['Before the stray tags', 'After an early channel end', 'Last']);
  });

  it('reads windows-1252 bytes in a UTF-8 document as the characters meant, and repairs double-encoded UTF-8 only when the whole field does', async () => {
    const raw = bytes('encoding-cp1252-in-utf8.xml');
    expect(raw.includes(0x93)).toBe(true);
    const parsed = await parse('encoding-cp1252-in-utf8.xml');
    expect(parsed.items.map((i) => [i.title, i.summary])).toEqual([
      ['“Quoted” – 10 € café', null],
      ['It’s a café', 'été wasn’t real é'],
      ['Ã© next to a real é stays', null],
    ]);
  });
});

describe('sanitising', () => {
  it('keeps the text around a removed element, treats comments as comments and hides an unclosed one', async () => {
    const parsed = await parse('sanitize-comments.xml');
    expect(parsed.items.map((i) => [i.guid, i.summary, i.content_html])).toEqual([
      ['s1', 'safe description', 'safe  description'],
      ['s2', 'before middle after', 'before  middle  after'],
      ['s3', 'Visible text', '<p>Visible  text</p>'],
      ['s4', 'Shown', '<p>Shown</p>'],
      ['s5', 'kept too', null],
    ]);
  });
});
