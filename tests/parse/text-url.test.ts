import { describe, expect, it } from 'vitest';
import { parseFeed } from '../../src/parse/index.ts';
import { collapseWhitespace, htmlToText, textToHtml, truncateOnWord } from '../../src/parse/text.ts';
import { resolveBase, resolveWebUrl } from '../../src/parse/url.ts';
import { fastestCpuMs } from './timing.ts';
import { repairXml } from '../../src/parse/xml-repair.ts';

describe('htmlToText', () => {
  it.each([
    ['<p>Caf&eacute; &amp; <b>bar</b></p>', 'Café & bar'],
    ['<p>one</p><p>two</p>three<br>four', 'one two three four'],
    ['a<script>var x = "<p>no</p>";</script>b<style>p{}</style>c', 'abc'],
    ['<!-- hidden -->shown', 'shown'],
    ['Lebanon&#8217;s &rsquo;quotes&#x2019; &nbsp; spaced', 'Lebanon’s ’quotes’ spaced'],
    ['1 < 2 and 3 > 2', '1 < 2 and 3 > 2'],
    ['x &lt;b&gt; y', 'x <b> y'],
    ['AT&T &unknown; &amp;amp;', 'AT&T &unknown; &amp;'],
    ['  \n\t spaced \u00a0 out \n ', 'spaced out'],
    ['<a title="x>y">link</a>', 'y">link'], // a ">" inside an attribute ends the tag for this simple scanner
  ])('%j → %j', (html, text) => {
    expect(htmlToText(html)).toBe(text);
  });

  it('is linear on 195 KB of "<" with no ">"', () => {
    const hostile = '<'.repeat(195_000);
    expect(htmlToText(hostile)).toBe(hostile);
    expect(fastestCpuMs(() => htmlToText(hostile))).toBeLessThan(100);
  });

  it('is linear on many unclosed tags and an unclosed script', () => {
    const started = performance.now();
    expect(htmlToText('<p>x' + '<a'.repeat(65_000))).toBe('x' + '<a'.repeat(65_000));
    expect(htmlToText('ok<script>' + '</scrip'.repeat(30_000))).toBe('ok');
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('text helpers', () => {
  it('collapses whitespace', () => {
    expect(collapseWhitespace(' a \n\n b\u00a0\u00a0c ')).toBe('a b c');
  });
  it('truncates on a word boundary with an ellipsis', () => {
    expect(truncateOnWord('short', 10)).toBe('short');
    expect(truncateOnWord('the quick brown fox jumps', 12)).toBe('the quick…');
    expect(truncateOnWord('x'.repeat(50), 10)).toBe('xxxxxxxxxx…');
  });
  it('turns plain text into escaped paragraphs', () => {
    expect(textToHtml('a < b & c\nline\n\n  next  ')).toBe('<p>a &lt; b &amp; c<br>line</p><p>next</p>');
    expect(textToHtml('  \n ')).toBeNull();
  });
});

describe('URLs', () => {
  it('resolves relative URLs and refuses non-web ones', () => {
    expect(resolveWebUrl('/a?b=1', 'https://x.example/dir/page')).toBe('https://x.example/a?b=1');
    expect(resolveWebUrl('c', 'https://x.example/dir/page')).toBe('https://x.example/dir/c');
    expect(resolveWebUrl('  https://y.example/p  ', null)).toBe('https://y.example/p');
    expect(resolveWebUrl('/a', null)).toBeNull();
    expect(resolveWebUrl('javascript:alert(1)', 'https://x.example/')).toBeNull();
    expect(resolveWebUrl('data:text/html,hi', 'https://x.example/')).toBeNull();
    expect(resolveWebUrl('ftp://x.example/f', null)).toBeNull();
    expect(resolveWebUrl('', 'https://x.example/')).toBeNull();
  });
  it('chains xml:base values', () => {
    expect(resolveBase('sub/', 'https://x.example/a/')).toBe('https://x.example/a/sub/');
    expect(resolveBase(null, 'https://x.example/a/')).toBe('https://x.example/a/');
    expect(resolveBase('https://other.example/', null)).toBe('https://other.example/');
  });

  const atom = (entryBase: string, feedBase = 'https://x.example/blog/') =>
    `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="${feedBase}"><title>t</title><link href="home/"/>` +
    `<entry ${entryBase}><id>1</id><title>e</title><link href="post-1"/>` +
    `<content type="html">&lt;a href="rel"&gt;r&lt;/a&gt;&lt;img src="/abs.png"&gt;</content></entry></feed>`;

  it('resolves against entry xml:base, then feed xml:base', async () => {
    const parsed = await parseFeed(atom('xml:base="2024/"'), { baseUrl: 'https://feeds.example/x.atom' });
    expect(parsed.feed.link).toBe('https://x.example/blog/home/');
    expect(parsed.items[0]?.url).toBe('https://x.example/blog/2024/post-1');
    expect(parsed.items[0]?.content_html).toBe(
      '<a rel="noopener noreferrer" href="https://x.example/blog/2024/rel">r</a><img src="https://x.example/abs.png" />',
    );
  });

  it('resolves a relative xml:base against the feed URL', async () => {
    const parsed = await parseFeed(atom('', '/blog/'), { baseUrl: 'https://feeds.example/x.atom' });
    expect(parsed.items[0]?.url).toBe('https://feeds.example/blog/post-1');
  });

  it('falls back to the feed URL, then the feed\'s own link', async () => {
    const rss = (link: string) =>
      `<rss version="2.0"><channel><title>t</title><link>${link}</link><item><title>i</title><link>/p/1</link></item></channel></rss>`;
    expect((await parseFeed(rss('https://site.example/'), { baseUrl: 'https://feeds.example/rss' })).items[0]?.url).toBe(
      'https://feeds.example/p/1',
    );
    expect((await parseFeed(rss('https://site.example/'), { baseUrl: null })).items[0]?.url).toBe('https://site.example/p/1');
    expect((await parseFeed(rss('/relative-only'), { baseUrl: null })).items[0]?.url).toBeNull();
  });
});

describe('repairXml', () => {
  it('escapes bare ampersands and maps HTML entities to numeric references', () => {
    expect(repairXml('<a>AT&T &eacute;&nbsp;&rsquo; &amp; &lt; &#233; &#x41; &foo; & &#</a>')).toBe(
      '<a>AT&amp;T &#233;&#160;&#8217; &amp; &lt; &#233; &#x41; &amp;foo; &amp; &amp;#</a>',
    );
  });
  it('strips forbidden control characters and fixes C1 references', () => {
    expect(repairXml('<a>x\u0000\u0007\u001b\u000cy\t\n &#150; &#1; &#x80;</a>')).toBe('<a>xy\t\n &#8211;  &#8364;</a>');
  });
  it('drops a BOM, junk before the prolog and a DOCTYPE', () => {
    expect(repairXml('\ufeff\n<b>Warning</b>: x\n<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "rss.dtd">\n<rss/>')).toBe(
      '<?xml version="1.0"?>\n\n<rss/>',
    );
    // An internal subset is dropped whole, even when a ">" hides inside an entity value.
    expect(repairXml('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "b>c">]>\n<rss/>')).toBe('<?xml version="1.0"?>\n\n<rss/>');
    expect(repairXml('junk <rss version="2.0"/>')).toBe('<rss version="2.0"/>');
  });
  it('expands plain-text internal entities within a budget, and never markup, nested or too long ones', () => {
    const k = 'k'.repeat(1000);
    const doc = `<!DOCTYPE rss [<!ENTITY k "${k}"><!ENTITY long "${'x'.repeat(2000)}"><!ENTITY amp2 "&#38;"><!ENTITY q '"quoted"'>]><rss>${'&k;'.repeat(100)}&long;&amp2;<a t="&q;"/></rss>`;
    const out = repairXml(doc);
    const expanded = out.split('&#107;&#107;').length > 1 ? (out.match(new RegExp(`(?:&#107;){1000}`, 'g')) ?? []).length : 0;
    expect(expanded).toBe(65); // 64 KB of expansions, then the rest stay literal
    expect(out).toContain('&amp;k;&amp;long;&amp;amp2;'); // the 66th reference, the long entity and one that expands to "&"
    expect(out).toContain('<a t="&#34;&#113;'); // a quote in an attribute is a reference, not the end of the value
  });

  it('leaves CDATA and comments alone except for forbidden characters', () => {
    expect(repairXml('<a><![CDATA[a & b &eacute;\u0001]]><!-- & --></a>')).toBe('<a><![CDATA[a & b &eacute;]]><!-- & --></a>');
  });
  it('is linear on dense input', () => {
    const input = `<a>${'&'.repeat(100_000)}${'&lt;'.repeat(100_000)}${'&eacute;'.repeat(20_000)}</a>`;
    const out = repairXml(input);
    // CPU time, best of three: a busy machine must not fail a test about algorithmic cost.
    expect(fastestCpuMs(() => repairXml(input))).toBeLessThan(1000);
    expect(out.length).toBe(3 + 500_000 + 400_000 + 120_000 + 4);
  });
});
