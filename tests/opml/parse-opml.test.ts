import { describe, expect, it } from 'vitest';
import { parseOpml, OpmlError } from '../../src/opml/parse-opml.ts';

const opml = (body: string, head = '<head><title>t</title></head>') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">${head}<body>${body}</body></opml>`;

describe('parseOpml', () => {
  it('reads nested outlines, taking the region from the nearest folder', () => {
    const feeds = parseOpml(
      opml(`
        <outline text="Europe">
          <outline text="Italy">
            <outline type="rss" text="ANSA" xmlUrl="https://ansa.example/rss.xml"/>
          </outline>
          <outline type="rss" text="EUobserver" title="EU Observer" xmlUrl="https://euobs.example/rss"/>
        </outline>
        <outline type="rss" text="Loose" xmlUrl="https://loose.example/feed"/>`),
    );
    expect(feeds).toEqual([
      { url: 'https://ansa.example/rss.xml', title: 'ANSA', region: 'Italy' },
      { url: 'https://euobs.example/rss', title: 'EU Observer', region: 'Europe' },
      { url: 'https://loose.example/feed', title: 'Loose', region: null },
    ]);
  });

  it('prefers the category attribute (first path segment) over the folder', () => {
    const feeds = parseOpml(
      opml(`
        <outline text="Folder">
          <outline text="A" xmlUrl="https://a.example/f" category="/Middle East/Syria,/News"/>
          <outline text="B" xmlUrl="https://b.example/f" category="Africa"/>
          <outline text="C" xmlUrl="https://c.example/f" category=" / "/>
        </outline>`),
    );
    expect(feeds.map((f) => f.region)).toEqual(['Middle East', 'Africa', 'Folder']);
  });

  it('decodes XML entities and character references in attributes, and matches attribute names case-insensitively', () => {
    const [feed] = parseOpml(opml(`<outline TEXT="Caf&#233; &amp; &lt;b&gt; &#x41;" XMLURL="https://x.example/?a=1&amp;b=2"/>`));
    expect(feed).toEqual({ url: 'https://x.example/?a=1&b=2', title: 'Café & <b> A', region: null });
  });

  it('dedupes by URL (first wins), skips folders without xmlUrl, and treats a text equal to the URL as no title', () => {
    const feeds = parseOpml(
      opml(`
        <outline text="https://a.example/f" xmlUrl="https://a.example/f"/>
        <outline text="again" xmlUrl="https://a.example/f"/>
        <outline text="empty folder"/>`),
    );
    expect(feeds).toEqual([{ url: 'https://a.example/f', title: null, region: null }]);
  });

  it('accepts an empty body and a byte-order mark', () => {
    expect(parseOpml('\uFEFF<opml version="2.0"><head/><body/></opml>')).toEqual([]);
  });

  it.each([
    ['plain text', 'this is not xml'],
    ['an empty string', ''],
    ['an RSS document', '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'],
    ['HTML', '<html><body><p>hi</p></body></html>'],
    ['OPML without body', '<opml version="2.0"><head/></opml>'],
    ['unclosed tags', '<opml version="2.0"><body><outline text="a" xmlUrl="https://a.example/"></body></opml>'],
  ])('throws a clear OpmlError for %s', (_name, text) => {
    expect(() => parseOpml(text)).toThrow(OpmlError);
    expect(() => parseOpml(text)).toThrow(/^not OPML: /);
  });

  it('refuses a billion-laughs document quickly, without expanding it', () => {
    const levels = Array.from({ length: 9 }, (_, i) =>
      `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('');
    const bomb = `<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY lol0 "lol">${levels}]>` + opml(`<outline text="&lol9;" xmlUrl="https://a.example/"/>`).replace(/^<\?xml[^>]*>/, '');
    const started = performance.now();
    expect(() => parseOpml(bomb)).toThrow(/entity declarations/);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('refuses an external entity (XXE)', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://a.example/"/></body></opml>`;
    expect(() => parseOpml(xxe)).toThrow(OpmlError);
  });

  it('leaves an undeclared entity as text instead of expanding anything', () => {
    const [feed] = parseOpml(opml(`<outline text="a &foo; b" xmlUrl="https://a.example/"/>`));
    expect(feed?.title).toBe('a &foo; b');
  });
});
