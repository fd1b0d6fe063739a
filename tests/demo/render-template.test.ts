import { describe, expect, it } from 'vitest';
import { acceptsGzip, ifNoneMatchHits, notModifiedSince } from '../../src/demo/negotiation.ts';
import { renderFeedTemplate } from '../../src/demo/render-template.ts';

const NOW = new Date('2026-11-24T10:04:30.500Z');

describe('renderFeedTemplate', () => {
  it('renders RFC 822 and ISO dates relative to now, floored to the minute', () => {
    expect(renderFeedTemplate('<pubDate>{{rfc822:-90m}}</pubDate>', NOW)).toBe('<pubDate>Tue, 24 Nov 2026 08:34:00 +0000</pubDate>');
    expect(renderFeedTemplate('"{{iso:-3h}}"', NOW)).toBe('"2026-11-24T07:04:00Z"');
    expect(renderFeedTemplate('{{iso:-2d}} {{ iso : +1h }} {{rfc822:0m}}', NOW)).toBe(
      '2026-11-22T10:04:00Z 2026-11-24T11:04:00Z Tue, 24 Nov 2026 10:04:00 +0000',
    );
  });

  it('leaves everything else byte for byte', () => {
    const template = 'perché € “x” {not a placeholder} <![CDATA[a]]>';
    expect(renderFeedTemplate(template, NOW)).toBe(template);
  });

  it('refuses an unknown placeholder', () => {
    expect(() => renderFeedTemplate('<pubDate>{{rfc2822:-3h}}</pubDate>', NOW)).toThrow(/unknown placeholder/);
    expect(() => renderFeedTemplate('{{iso:-3w}}', NOW)).toThrow(/unknown placeholder/);
  });
});

describe('negotiation', () => {
  it('matches If-None-Match weakly, in lists and with *', () => {
    expect(ifNoneMatchHits('"a"', ['"a"'])).toBe(true);
    expect(ifNoneMatchHits('W/"a"', ['"a"'])).toBe(true);
    expect(ifNoneMatchHits('"x", "b"', ['"a"', '"b"'])).toBe(true);
    expect(ifNoneMatchHits('*', ['"a"'])).toBe(true);
    expect(ifNoneMatchHits('"ab"', ['"a"'])).toBe(false);
    expect(ifNoneMatchHits('', ['"a"'])).toBe(false);
  });

  it('compares If-Modified-Since with second precision and ignores garbage', () => {
    const lastModified = new Date('2026-11-24T10:04:30Z');
    expect(notModifiedSince('Tue, 24 Nov 2026 10:04:30 GMT', lastModified)).toBe(true);
    expect(notModifiedSince('Tue, 24 Nov 2026 10:05:00 GMT', lastModified)).toBe(true);
    expect(notModifiedSince('Tue, 24 Nov 2026 10:04:29 GMT', lastModified)).toBe(false);
    expect(notModifiedSince('yesterday', lastModified)).toBe(false);
  });

  it('accepts gzip only with a positive q-value', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=0.1, gzip;q=0')).toBe(false);
    expect(acceptsGzip('br')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
