/** Pure parts of WebSub: hub/self discovery in parse's normalised feed, and delivery signatures. */
import { describe, expect, it } from 'vitest';
import { parseFeed } from '../../src/parse/index.ts';
import { checkSignature, sameToken, signBody } from '../../src/websub/signature.ts';
import { pushView } from '../../src/websub/push-state.ts';
import type { SubscriptionRow } from '../../src/store/websub.ts';

describe('WebSub discovery in parsed feeds', () => {
  it('RSS: atom:link rel="hub" and rel="self", relative hrefs resolved', async () => {
    const rss = `<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T</title><link>https://pub.example/</link>
<atom:link rel="self" href="/feed.xml" type="application/rss+xml"/><atom:link rel="hub" href="https://hub.example/"/>
<item><title>a</title><link>https://pub.example/a</link></item></channel></rss>`;
    const parsed = await parseFeed(rss, { baseUrl: 'https://pub.example/feed.xml' });
    expect(parsed.feed.websub).toEqual({ hub: 'https://hub.example/', self: 'https://pub.example/feed.xml' });
  });

  it('Atom: link rel="hub" and rel="self"', async () => {
    const atom = `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>
<link rel="alternate" href="https://pub.example/"/><link rel="hub" href="https://hub.example/h"/><link rel="self" href="https://pub.example/feed.atom"/>
<entry><title>a</title><id>urn:a</id><link href="https://pub.example/a"/><updated>2024-01-01T00:00:00Z</updated></entry></feed>`;
    const parsed = await parseFeed(atom, { baseUrl: null });
    expect(parsed.feed.websub).toEqual({ hub: 'https://hub.example/h', self: 'https://pub.example/feed.atom' });
    expect(parsed.feed.link).toBe('https://pub.example/');
  });

  it('JSON Feed: hubs (type WebSub) and feed_url', async () => {
    const json = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1', title: 'T', feed_url: 'https://pub.example/feed.json',
      hubs: [{ type: 'rssCloud', url: 'https://cloud.example/' }, { type: 'WebSub', url: 'https://hub.example/' }],
      items: [{ id: '1', url: 'https://pub.example/1', title: 'a' }],
    });
    expect((await parseFeed(json, { baseUrl: null })).feed.websub).toEqual({ hub: 'https://hub.example/', self: 'https://pub.example/feed.json' });
  });

  it('a hub without a self link (or a self without a hub) is not advertised push', async () => {
    const onlySelf = `<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T</title>
<atom:link rel="self" href="https://pub.example/feed.xml"/><item><title>a</title></item></channel></rss>`;
    expect((await parseFeed(onlySelf, { baseUrl: null })).feed.websub).toBeUndefined();
    const onlyHub = JSON.stringify({ version: 'https://jsonfeed.org/version/1', title: 'T', hubs: [{ type: 'WebSub', url: 'https://hub.example/' }], items: [] });
    expect((await parseFeed(onlyHub, { baseUrl: null })).feed.websub).toBeUndefined();
  });
});

describe('WebSub delivery signatures', () => {
  const body = Buffer.from('<rss>the body</rss>');
  it('accepts sha256 and the legacy header with sha1/sha512, refuses everything else', () => {
    expect(checkSignature({ sha256: signBody(body, 's3cret'), legacy: undefined }, body, 's3cret')).toBe('valid');
    expect(checkSignature({ sha256: undefined, legacy: signBody(body, 's3cret', 'sha1') }, body, 's3cret')).toBe('valid');
    expect(checkSignature({ sha256: undefined, legacy: undefined }, body, 's3cret')).toBe('missing');
    expect(checkSignature({ sha256: signBody(body, 'other'), legacy: undefined }, body, 's3cret')).toBe('invalid');
    expect(checkSignature({ sha256: signBody(Buffer.from('tampered'), 's3cret'), legacy: undefined }, body, 's3cret')).toBe('invalid');
    // The -256 header is sha256 only; malformed values and unknown methods are refused.
    expect(checkSignature({ sha256: signBody(body, 's3cret', 'sha1'), legacy: undefined }, body, 's3cret')).toBe('invalid');
    expect(checkSignature({ sha256: 'sha256=zz', legacy: undefined }, body, 's3cret')).toBe('invalid');
    expect(checkSignature({ sha256: undefined, legacy: 'md5=abcdef' }, body, 's3cret')).toBe('invalid');
    expect(checkSignature({ sha256: 'sha256=abcd', legacy: undefined }, body, 's3cret')).toBe('invalid');
  });

  it('compares callback tokens of any length', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abcd')).toBe(false);
  });
});

describe('push state shown by /api/feeds', () => {
  const row = (over: Partial<SubscriptionRow>): SubscriptionRow => ({
    feed_id: 1, hub: 'https://hub.example/', topic: 't', token: 'x', secret: 'y', state: 'subscribed', pending_mode: null,
    pending_since: null, lease_seconds: 60, expires_at: new Date('2030-01-01T00:00:00Z'), ending: false, attempts: 0,
    next_attempt_at: null, last_error: null, ...over,
  });
  const now = new Date('2029-12-31T00:00:00Z');
  it('subscribed only within the lease; pending, failed; none when lapsed or ending', () => {
    expect(pushView(row({}), now)).toEqual({ state: 'subscribed', hub: 'https://hub.example/', expires_at: '2030-01-01T00:00:00.000Z' });
    expect(pushView(row({}), new Date('2030-01-02T00:00:00Z')).state).toBe('none');
    expect(pushView(row({ state: 'pending', expires_at: null }), now).state).toBe('pending');
    expect(pushView(row({ state: 'failed' }), now).state).toBe('failed');
    expect(pushView(row({ ending: true }), now).state).toBe('none');
    expect(pushView(null, now)).toEqual({ state: 'none', hub: null, expires_at: null });
  });
});

describe('WebSub settings', () => {
  it('defaults, durations, and WEBSUB_HUB only with PUBLIC_URL', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config/env.ts');
    const d = loadConfig({});
    expect([d.WEBSUB_HUB, d.WEBSUB_PING_INTERVAL, d.WEBSUB_LEASE]).toEqual([undefined, 10, 7 * 86400]);
    const c = loadConfig({ WEBSUB_HUB: 'https://hub.example/', PUBLIC_URL: 'https://news.example', WEBSUB_PING_INTERVAL: '30s', WEBSUB_LEASE: '1d' });
    expect([c.WEBSUB_HUB, c.WEBSUB_PING_INTERVAL, c.WEBSUB_LEASE]).toEqual(['https://hub.example/', 30, 86400]);
    expect(() => loadConfig({ WEBSUB_HUB: 'https://hub.example/' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEBSUB_HUB: 'https://hub.example/' })).toThrow(/WEBSUB_HUB: needs PUBLIC_URL/);
    expect(() => loadConfig({ WEBSUB_HUB: 'ftp://hub.example/', PUBLIC_URL: 'https://n.example' })).toThrow(/WEBSUB_HUB/);
    expect(() => loadConfig({ WEBSUB_PING_INTERVAL: '0s' })).toThrow(/WEBSUB_PING_INTERVAL/);
    expect(() => loadConfig({ WEBSUB_LEASE: 'forever' })).toThrow(/WEBSUB_LEASE/);
  });
});

describe('hub requests and the SSRF policy', () => {
  it('a hub on a private address is refused unless ALLOW_PRIVATE_NETWORKS allows it', async () => {
    const { createServer } = await import('node:http');
    const { createHubClient } = await import('../../src/websub/hub-client.ts');
    const server = createServer((_req, res) => res.writeHead(202).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hub = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const strict = createHubClient({ allow: { all: false, cidrs: [] }, timeoutMs: 3000, userAgent: 'test' });
    const open = createHubClient({ allow: { all: false, cidrs: ['127.0.0.0/8'] }, timeoutMs: 3000, userAgent: 'test' });
    try {
      const refused = await strict.post(hub, { 'hub.mode': 'publish', 'hub.url': 'https://x.example/feed.xml' });
      expect(refused.ok).toBe(false);
      expect(refused.ok ? '' : refused.error).toMatch(/^hub /);
      expect(await open.post(hub, { 'hub.mode': 'publish', 'hub.url': 'https://x.example/feed.xml' })).toEqual({ ok: true, status: 202 });
      const bad = await strict.post('ftp://hub.example/', {});
      expect(bad.ok).toBe(false);
    } finally {
      await strict.close();
      await open.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
