import { describe, expect, it } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { renderOpml } from '../../src/opml/render-opml.ts';
import { escapeXmlAttribute as escapeXml } from '../../src/xml/escape.ts';
import { parseOpml } from '../../src/opml/parse-opml.ts';

const feed = (url: string, title: string | null, region: string | null, site_url: string | null = null) => ({ url, title, region, site_url });
const NOW = new Date('2024-05-01T10:00:00Z');

describe('renderOpml', () => {
  it('writes OPML 2.0 grouped by region, with region as category, and parses back to the same feeds', () => {
    const feeds = [
      feed('https://a.example/rss?x=1&y=2', 'A & <B> "quoted"', 'Europe', 'https://a.example/'),
      feed('https://b.example/atom', null, null),
      feed('https://c.example/feed', 'C', 'Middle East/North Africa'),
      feed('https://d.example/feed', "D's", 'Europe'),
    ];
    const xml = renderOpml(feeds, { title: 'Mine & yours', now: NOW });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<opml version="2.0">');
    expect(xml).toContain('<title>Mine &amp; yours</title>');
    expect(xml).toContain('<dateCreated>Wed, 01 May 2024 10:00:00 GMT</dateCreated>');
    expect(xml).toMatch(/<outline text="Europe" title="Europe">\s*<outline type="rss" text="A &amp; &lt;B&gt; &quot;quoted&quot;"[^>]*category="\/Europe"/);
    expect(xml).toContain('htmlUrl="https://a.example/"');

    const back = parseOpml(xml);
    expect(back.sort((x, y) => x.url.localeCompare(y.url))).toEqual(
      feeds.map((f) => ({ url: f.url, title: f.title, region: f.region })).sort((x, y) => x.url.localeCompare(y.url)),
    );
  });

  it('renders an empty list as a valid document', () => {
    const xml = renderOpml([], { title: 't', now: NOW });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(parseOpml(xml)).toEqual([]);
  });

  it('drops characters XML cannot carry and keeps line breaks as references', () => {
    expect(escapeXml('a\u0000b\u0007c\nd\uD800e\u{1F600}')).toBe('abc&#10;de\u{1F600}');
    const xml = renderOpml([feed('https://x.example/', 'bad\u0001title\ttab', null)], { title: 't', now: NOW });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(parseOpml(xml)[0]?.title).toBe('badtitle\ttab');
  });
});
