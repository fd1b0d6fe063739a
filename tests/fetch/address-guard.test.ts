import { describe, expect, it } from 'vitest';
import { checkFeedUrl, isAllowedAddress, type LookupAll } from '../../src/fetch/address-guard.ts';

const NONE = { all: false, cidrs: [] };

describe('isAllowedAddress', () => {
  const refused = [
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.1',
    '192.168.1.1',
    '169.254.169.254', // cloud metadata service
    '100.64.0.1', // carrier-grade NAT
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    '::ffff:127.0.0.1', // IPv4-mapped loopback
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    'not an ip',
    '',
  ];
  it.each(refused)('refuses %s by default', (ip) => {
    expect(isAllowedAddress(ip, NONE)).toBe(false);
  });

  const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'];
  it.each(allowed)('allows public %s', (ip) => {
    expect(isAllowedAddress(ip, NONE)).toBe(true);
  });

  it('allows everything with all: true', () => {
    for (const ip of ['127.0.0.1', '::1', '169.254.169.254']) expect(isAllowedAddress(ip, { all: true, cidrs: [] })).toBe(true);
  });

  it('allows exactly the listed CIDR ranges', () => {
    const allow = { all: false, cidrs: ['10.0.0.0/8', '127.0.0.1/32', 'fd00::/8'] };
    expect(isAllowedAddress('10.1.2.3', allow)).toBe(true);
    expect(isAllowedAddress('127.0.0.1', allow)).toBe(true);
    expect(isAllowedAddress('::ffff:127.0.0.1', allow)).toBe(true);
    expect(isAllowedAddress('fd00::5', allow)).toBe(true);
    expect(isAllowedAddress('127.0.0.2', allow)).toBe(false);
    expect(isAllowedAddress('192.168.0.1', allow)).toBe(false);
    expect(isAllowedAddress('::1', allow)).toBe(false);
    expect(isAllowedAddress('8.8.8.8', allow)).toBe(true);
  });

  it('ignores malformed CIDRs instead of allowing everything', () => {
    expect(isAllowedAddress('127.0.0.1', { all: false, cidrs: ['garbage', '127.0.0.1/99'] })).toBe(false);
  });
});

describe('checkFeedUrl', () => {
  const publicLookup: LookupAll = async () => [{ address: '93.184.216.34', family: 4 }];

  it.each([
    ['ftp://example.com/feed.xml', /only http and https/],
    ['javascript:alert(1)', /only http and https/],
    ['file:///etc/passwd', /only http and https/],
    ['not a url', /not a valid URL/],
    ['http://user:pass@example.com/feed', /user name or password/],
    ['http://user@example.com/feed', /user name or password/],
  ])('refuses %s', async (url, reason) => {
    const r = await checkFeedUrl(url, NONE, publicLookup);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it.each(['http://2130706433/', 'http://0x7f.1/', 'http://127.1/', 'http://[::1]/', 'http://[::ffff:7f00:1]/', 'http://169.254.169.254/latest/meta-data/'])(
    'refuses the IP literal %s without a lookup',
    async (url) => {
      const lookup: LookupAll = async () => {
        throw new Error('lookup must not be called for literals');
      };
      const r = await checkFeedUrl(url, NONE, lookup);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/^address .* is .*; private networks are not allowed \(set ALLOW_PRIVATE_NETWORKS\)$/);
    },
  );

  it('explains a loopback refusal in a sentence', async () => {
    const r = await checkFeedUrl('http://2130706433/feed', NONE);
    expect(r).toEqual({ ok: false, reason: 'address 127.0.0.1 is loopback; private networks are not allowed (set ALLOW_PRIVATE_NETWORKS)' });
  });

  it('refuses localhost through the real resolver', async () => {
    const r = await checkFeedUrl('http://localhost/feed.xml', NONE);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^localhost resolves to address (127\.0\.0\.1|::1) is loopback/);
  });

  it('accepts localhost when its range is allowed', async () => {
    const r = await checkFeedUrl('http://localhost:8080/feed.xml', { all: false, cidrs: ['127.0.0.0/8', '::1/128'] });
    expect(r).toEqual({ ok: true, url: 'http://localhost:8080/feed.xml' });
  });

  it('refuses a name when any of its addresses is private', async () => {
    const lookup: LookupAll = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const r = await checkFeedUrl('https://feeds.example.com/rss', NONE, lookup);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('feeds.example.com resolves to address 10.0.0.7 is in a private network');
  });

  it('accepts a public name and returns the normalised URL', async () => {
    const r = await checkFeedUrl('  HTTPS://Feeds.Example.COM:443/a/../rss?x=1 ', NONE, publicLookup);
    expect(r).toEqual({ ok: true, url: 'https://feeds.example.com/rss?x=1' });
  });

  it('reports a name that does not resolve', async () => {
    const lookup: LookupAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    };
    const r = await checkFeedUrl('http://nowhere.invalid/', NONE, lookup);
    expect(r).toEqual({ ok: false, reason: 'host nowhere.invalid could not be resolved (ENOTFOUND)' });
  });

  it('accepts private literals when allowed', async () => {
    expect((await checkFeedUrl('http://10.1.2.3/feed', { all: false, cidrs: ['10.0.0.0/8'] })).ok).toBe(true);
    expect((await checkFeedUrl('http://[::1]/feed', { all: true, cidrs: [] })).ok).toBe(true);
  });
});
