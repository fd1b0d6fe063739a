import { describe, expect, it } from 'vitest';
import { canonicalUrl, isTrackingParam, stripTrackingParams } from '../../src/dedupe/canonical-url.ts';

describe('canonicalUrl', () => {
  it.each([
    ['scheme and host lower-cased, path case kept', 'HTTPS://News.EXAMPLE.com/World/Story', 'https://news.example.com/World/Story'],
    ['default http port dropped', 'http://example.com:80/a', 'http://example.com/a'],
    ['default https port dropped', 'https://example.com:443/a', 'https://example.com/a'],
    ['other port kept', 'https://example.com:8443/a', 'https://example.com:8443/a'],
    ['empty path becomes /', 'https://example.com', 'https://example.com/'],
    ['fragment dropped', 'https://example.com/a#comments', 'https://example.com/a'],
    ['utm_* removed', 'https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x', 'https://example.com/a'],
    ['tracking keys in any case', 'https://example.com/a?UTM_Source=rss&id=3', 'https://example.com/a?id=3'],
    ['fbclid, gclid removed', 'https://example.com/a?fbclid=IwAR0&id=7&gclid=Cj0', 'https://example.com/a?id=7'],
    ['mc_cid, mc_eid removed', 'https://example.com/a?mc_cid=abc&mc_eid=def&p=2', 'https://example.com/a?p=2'],
    ['Matomo, HubSpot, Olytics, Vero removed', 'https://example.com/a?mtm_campaign=a&pk_kwd=b&_hsenc=c&_hsmi=d&oly_enc_id=e&vero_id=f&q=1', 'https://example.com/a?q=1'],
    ['msclkid, igshid, yclid, ref_src removed', 'https://example.com/a?msclkid=1&igshid=2&yclid=3&ref_src=twsrc', 'https://example.com/a'],
    ['remaining params sorted by key', 'https://example.com/a?z=1&b=2&a=3', 'https://example.com/a?a=3&b=2&z=1'],
    ['same key sorted by value', 'https://example.com/a?tag=b&tag=a', 'https://example.com/a?tag=a&tag=b'],
    ['empty ? dropped', 'https://example.com/a?', 'https://example.com/a'],
    ['? left empty after stripping dropped', 'https://example.com/a?utm_source=x', 'https://example.com/a'],
    ['empty segments dropped', 'https://example.com/a?&b=1&&a=2&', 'https://example.com/a?a=2&b=1'],
    ['IDN host as punycode', 'https://Bücher.example/straße', 'https://xn--bcher-kva.example/stra%C3%9Fe'],
    ['spaces percent-encoded', 'https://example.com/a b?q=x y', 'https://example.com/a%20b?q=x%20y'],
    ['encoding of kept params not rewritten', 'https://example.com/s?q=a%2Fb&x=%7E', 'https://example.com/s?q=a%2Fb&x=%7E'],
    ['surrounding whitespace ignored', '  https://example.com/a  ', 'https://example.com/a'],
    ['ref is not a tracking param (kept)', 'https://example.com/a?ref=main', 'https://example.com/a?ref=main'],
  ])('%s', (_name, input, expected) => {
    expect(canonicalUrl(input)).toBe(expected);
  });

  it.each([
    ['ftp', 'ftp://example.com/file'],
    ['mailto', 'mailto:someone@example.com'],
    ['javascript', 'javascript:alert(1)'],
    ['relative', '/news/1'],
    ['garbage', 'not a url'],
    ['empty', ''],
    ['bad host', 'http://exa mple.com/'],
  ])('is null for %s', (_name, input) => {
    expect(canonicalUrl(input)).toBeNull();
  });

  it('gives two syndicated copies of one article the same key', () => {
    const a = canonicalUrl('https://www.example.com/2024/05/story?id=9&utm_source=feedA#top');
    const b = canonicalUrl('HTTPS://WWW.EXAMPLE.COM:443/2024/05/story?utm_medium=rss&id=9');
    expect(a).toBe('https://www.example.com/2024/05/story?id=9');
    expect(b).toBe(a);
  });
});

describe('stripTrackingParams', () => {
  it('removes only tracking params, keeping order and fragment', () => {
    expect(stripTrackingParams('https://example.com/a?z=1&utm_source=x&b=2&fbclid=q#para')).toBe(
      'https://example.com/a?z=1&b=2#para',
    );
  });
  it('drops the ? when nothing is left', () => {
    expect(stripTrackingParams('https://example.com/a?utm_source=x&gclid=1')).toBe('https://example.com/a');
  });
  it('leaves a clean URL unchanged', () => {
    expect(stripTrackingParams('https://example.com/Path/To?id=1')).toBe('https://example.com/Path/To?id=1');
  });
  it('is null for non-http URLs', () => {
    expect(stripTrackingParams('javascript:alert(1)')).toBeNull();
  });
});

describe('isTrackingParam', () => {
  it('knows exact names and prefixes, not look-alikes', () => {
    expect(isTrackingParam('utm_whatever')).toBe(true);
    expect(isTrackingParam('gbraid')).toBe(true);
    expect(isTrackingParam('utm')).toBe(false);
    expect(isTrackingParam('id')).toBe(false);
    expect(isTrackingParam('page')).toBe(false);
  });
});
