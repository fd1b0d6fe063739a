import { describe, expect, it } from 'vitest';
import { sanitizeContent } from '../../src/parse/sanitize.ts';

const BASE = 'https://news.example/2024/05/story.html';

describe('sanitizeContent', () => {
  it.each([
    ['<script>alert(1)</script><p>ok</p>', '<p>ok</p>'],
    ['<p>a</p><SCRIPT SRC="https://evil.example/x.js"></SCRIPT>', '<p>a</p>'],
    ['<img src=x onerror=alert(1)>', '<img src="https://news.example/2024/05/x" />'],
    ['<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'],
    ['<a href="JaVaScRiPt&colon;alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'],
    ['<a href=" javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'],
    ['<svg onload=alert(1)><circle r="1"/></svg>after', 'after'],
    ['<iframe src="https://evil.example/"></iframe>after', 'after'],
    ['<style>body{display:none}</style>after', 'after'],
    ['<a href="data:text/html,<script>alert(1)</script>">d</a>', '<a rel="noopener noreferrer">d</a>'],
    ['<img src="data:image/svg+xml;base64,PHN2Zz4=">', null],
    ['<object data="x.swf"></object><embed src="x.swf">after', 'after'],
    ['<form action="/steal"><input name="p"><button>go</button></form>after', 'after'],
    ['<p onclick="alert(1)" style="position:fixed" class="x" id="y">t</p>', '<p>t</p>'],
    ['<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>', null],
    ['<div><body onload=alert(1)>t</div>', '<div>t</div>'],
    ['safe <iframe src="https://evil.example/"></iframe> description', 'safe  description'],
    ['safe <iframe src="https://evil.example/"> description', 'safe  description'],
    ['a <script src="x.js"/> b <iframe src="y"/> c', 'a  b  c'],
    ['<p>a</p><!-- hidden <b>x</b> --><p>b</p>', '<p>a</p><p>b</p>'],
    ['<p>shown</p><!-- unclosed <b>secret</b>', '<p>shown</p>'],
    ['<img srcset="javascript:alert(1) 1x">', null],
    ['<video poster="javascript:alert(1)" src="data:video/mp4,x" autoplay onplay="alert(1)">v</video>', '<video>v</video>'],
    ['<a href="/x" title="&quot;&gt;<script>">t</a>', '<a title="&quot;&gt;&lt;script&gt;" rel="noopener noreferrer" href="https://news.example/x">t</a>'],
  ])('%s', (input, expected) => {
    expect(sanitizeContent(input, BASE)).toBe(expected);
  });

  it('keeps common formatting, figures, quotes, lists and tables', () => {
    const html =
      '<h2>T</h2><p><strong>b</strong> <em>i</em> <code>c</code></p><figure><img src="/i.jpg" alt="a"><figcaption>f</figcaption></figure>' +
      '<blockquote cite="/q">q</blockquote><ul><li>1</li></ul><ol start="3"><li>3</li></ol><table><tr><td colspan="2">x</td></tr></table>';
    expect(sanitizeContent(html, BASE)).toBe(
      '<h2>T</h2><p><strong>b</strong> <em>i</em> <code>c</code></p><figure><img alt="a" src="https://news.example/i.jpg" /><figcaption>f</figcaption></figure>' +
        '<blockquote cite="https://news.example/q">q</blockquote><ul><li>1</li></ul><ol start="3"><li>3</li></ol><table><tr><td colspan="2">x</td></tr></table>',
    );
  });

  it('absolutises links and adds rel="noopener noreferrer" (replacing the publisher\'s)', () => {
    expect(sanitizeContent('<a href="../other?a=1&amp;b=2" rel="me" target="_blank">o</a>', BASE)).toBe(
      '<a rel="noopener noreferrer" href="https://news.example/2024/other?a=1&amp;b=2">o</a>',
    );
    expect(sanitizeContent('<a href="//cdn.example/x">c</a>', BASE)).toBe('<a rel="noopener noreferrer" href="https://cdn.example/x">c</a>');
    expect(sanitizeContent('<a href="mailto:desk@news.example">m</a>', BASE)).toBe('<a rel="noopener noreferrer" href="mailto:desk@news.example">m</a>');
  });

  it('resolves srcset candidates and video posters', () => {
    expect(sanitizeContent('<img src="a.png" srcset="a.png 1x,b.png 2x, https://cdn.example/c.png 3x" alt="x">', BASE)).toBe(
      '<img alt="x" src="https://news.example/2024/05/a.png" srcset="https://news.example/2024/05/a.png 1x, https://news.example/2024/05/b.png 2x, https://cdn.example/c.png 3x" />',
    );
    expect(sanitizeContent('<video src="v.mp4" poster="p.jpg" controls></video>', BASE)).toBe(
      '<video controls="" src="https://news.example/2024/05/v.mp4" poster="https://news.example/2024/05/p.jpg"></video>',
    );
  });

  it('drops relative URLs it cannot resolve without a base', () => {
    expect(sanitizeContent('<a href="/x">x</a><img src="/i.jpg">', null)).toBe('<a rel="noopener noreferrer">x</a>');
  });

  it('keeps escaped text escaped', () => {
    expect(sanitizeContent('<p>x &amp;lt; y &lt;b&gt; 1 < 2 &eacute;</p>', BASE)).toBe('<p>x &amp;lt; y &lt;b&gt; 1 &lt; 2 é</p>');
    expect(sanitizeContent('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>', BASE)).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  });

  it('returns null when nothing is left', () => {
    expect(sanitizeContent('  <script>x</script>  ', BASE)).toBeNull();
    expect(sanitizeContent('', BASE)).toBeNull();
  });

  it('is fast on 195 KB of "<" and of "&lt;"', () => {
    for (const body of ['<'.repeat(195_000), '&lt;'.repeat(195_000)]) {
      const started = performance.now();
      const out = sanitizeContent(`<p>${body}</p>`, BASE);
      // Generous (tens of ms on an idle machine; CI may be busy): a quadratic path takes many seconds.
      expect(performance.now() - started).toBeLessThan(3000);
      expect(out).toBe(`<p>${'&lt;'.repeat(195_000)}</p>`);
    }
  });
});
