import { describe, expect, it } from 'vitest';
import { checkFeedUrl, isAllowedAddress, isValidCidr, refusalReason, type LookupAll } from '../../src/fetch/address-guard.ts';
import { createFetcher } from '../../src/fetch/fetcher.ts';

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

describe('IPv6 forms that embed an IPv4 address are judged by that address', () => {
  const refused: [string, string][] = [
    ['::a9fe:a9fe', '169.254.169.254'], // IPv4-compatible: the cloud metadata service
    ['::127.0.0.1', '127.0.0.1'],
    ['::7f00:1', '127.0.0.1'],
    ['::a00:1', '10.0.0.1'],
    ['::ffff:a9fe:a9fe', '169.254.169.254'], // IPv4-mapped
    ['::ffff:0:a00:1', '10.0.0.1'], // IPv4-translated (RFC 2765)
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'], // NAT64
    ['64:ff9b::127.0.0.1', '127.0.0.1'],
    ['64:ff9b:1::c0a8:101', '192.168.1.1'], // local-use NAT64 (RFC 8215), /96 layout
    ['64:ff9b:1:a9fe:a9:fe00:808:808', '169.254.169.254'], // local-use NAT64, /48 layout, with 8.8.8.8 in the last 32 bits
    ['2002:a9fe:a9fe::1', '169.254.169.254'], // 6to4
    ['2002:7f00:1::', '127.0.0.1'],
    ['2002:c0a8:101:1::1', '192.168.1.1'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', '169.254.169.254'], // Teredo: client address inverted
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '127.0.0.1'],
  ];
  it.each(refused)('refuses %s (%s)', (ip, embedded) => {
    expect(isAllowedAddress(ip, NONE)).toBe(false);
    expect(isAllowedAddress(`[${ip}]`, NONE)).toBe(false);
    // ipaddr.js already unwraps some forms (mapped, ::a.b.c.d); the others are named with what they embed.
    expect(refusalReason(ip)).toMatch(new RegExp(`^address (${embedded.replaceAll('.', '\\.')}|\\S+ \\(embedding ${embedded.replaceAll('.', '\\.')}\\)) is `));
  });

  const allowed = ['::808:808', '64:ff9b::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7'];
  it.each(allowed)('allows %s, which embeds the public 8.8.8.8', (ip) => {
    expect(isAllowedAddress(ip, NONE)).toBe(true);
  });

  it('keeps :: and ::1 as the IPv6 unspecified and loopback addresses', () => {
    expect(refusalReason('::1')).toMatch(/^address ::1 is loopback/);
    expect(refusalReason('::')).toMatch(/^address :: is unspecified/);
  });

  it('an allow list may name the embedded IPv4 range', () => {
    const allow = { all: false, cidrs: ['169.254.0.0/16'] };
    expect(isAllowedAddress('::a9fe:a9fe', allow)).toBe(true);
    expect(isAllowedAddress('64:ff9b::a00:1', allow)).toBe(false);
  });
});

describe('refusalReason', () => {
  it('names the allow list when one is set', () => {
    expect(refusalReason('10.1.2.3', { all: false, cidrs: ['127.0.0.0/8', 'fd00::/8'] })).toBe(
      'address 10.1.2.3 is in a private network; not in ALLOW_PRIVATE_NETWORKS (127.0.0.0/8, fd00::/8)',
    );
    expect(refusalReason('10.1.2.3', NONE)).toBe(
      'address 10.1.2.3 is in a private network; private networks are not allowed (set ALLOW_PRIVATE_NETWORKS)',
    );
  });
});

describe('isValidCidr', () => {
  it.each(['127.0.0.0/8', '10.0.0.0/8', '0.0.0.0/0', '192.168.1.7/32', 'fd00::/8', '::1/128', '::ffff:0:0/96'])('accepts %s', (c) => {
    expect(isValidCidr(c)).toBe(true);
  });
  it.each(['127.0.0.0/99', '10.0.0.0/33', '::1/129', '10.0.0.0', '10.0.0/8', '300.0.0.0/8', 'garbage', '10.0.0.0/8/8', '/8', ' 10.0.0.0/8'])('refuses %s', (c) => {
    expect(isValidCidr(c)).toBe(false);
  });
});

describe('checkFeedUrl', () => {
  it.each([
    ['ftp://example.com/feed.xml', /only http and https/],
    ['javascript:alert(1)', /only http and https/],
    ['file:///etc/passwd', /only http and https/],
    ['not a url', /not a valid absolute URL/],
    ['/feed.xml', /not a valid absolute URL/],
    ['http://user:pass@example.com/feed', /user name or password/],
    ['http://user@example.com/feed', /user name or password/],
  ])('refuses %s', (url, reason) => {
    const r = checkFeedUrl(url, NONE);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it.each([
    'http://2130706433/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://[::1]/',
    'http://[::ffff:7f00:1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::a9fe:a9fe]/latest/meta-data/',
    'http://[::127.0.0.1]/',
    'http://[::a00:1]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[2002:a9fe:a9fe::]/',
    'http://[2001:0:4136:e378:8000:63bf:5601:5601]/',
  ])('refuses the IP literal %s', (url) => {
    const r = checkFeedUrl(url, NONE);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^address .* is .*; private networks are not allowed \(set ALLOW_PRIVATE_NETWORKS\)$/);
  });

  it('explains a loopback refusal in a sentence', () => {
    expect(checkFeedUrl('http://2130706433/feed', NONE)).toEqual({
      ok: false,
      reason: 'address 127.0.0.1 is loopback; private networks are not allowed (set ALLOW_PRIVATE_NETWORKS)',
    });
    expect(checkFeedUrl('http://10.0.0.1/feed', { all: false, cidrs: ['127.0.0.0/8'] })).toEqual({
      ok: false,
      reason: 'address 10.0.0.1 is in a private network; not in ALLOW_PRIVATE_NETWORKS (127.0.0.0/8)',
    });
  });

  it('does not resolve host names: those are judged at connect time, so an offline add works', () => {
    expect(checkFeedUrl('http://localhost/feed.xml', NONE)).toEqual({ ok: true, url: 'http://localhost/feed.xml' });
    expect(checkFeedUrl('http://nowhere.invalid/feed', NONE)).toEqual({ ok: true, url: 'http://nowhere.invalid/feed' });
  });

  it('returns the normalised URL, without a fragment', () => {
    expect(checkFeedUrl('  HTTPS://Feeds.Example.COM:443/a/../rss?x=1#top ', NONE)).toEqual({ ok: true, url: 'https://feeds.example.com/rss?x=1' });
  });

  it('accepts private literals when allowed', () => {
    expect(checkFeedUrl('http://10.1.2.3/feed', { all: false, cidrs: ['10.0.0.0/8'] }).ok).toBe(true);
    expect(checkFeedUrl('http://[::1]/feed', { all: true, cidrs: [] }).ok).toBe(true);
  });
});

describe('the guarded fetcher applies the same rule at connect time', () => {
  const limits = {
    timeoutMs: 2000,
    headersTimeoutMs: 1000,
    maxBytes: 1024 * 1024,
    maxRedirects: 5,
    allowPrivate: NONE,
    userAgent: 'Tributary/test',
  };

  it.each(['http://[::a9fe:a9fe]/latest/meta-data/', 'http://[::127.0.0.1]/', 'http://[64:ff9b::7f00:1]/', 'http://[2002:7f00:1::]/'])(
    'refuses the literal %s before connecting',
    async (url) => {
      const f = createFetcher(limits);
      try {
        const r = await f.fetchFeed({ url });
        expect(r.kind).toBe('error');
        if (r.kind === 'error') {
          expect(r.errorKind).toBe('blocked');
          expect(r.message).toMatch(/embedding (169\.254\.169\.254|127\.0\.0\.1)/);
        }
      } finally {
        await f.close();
      }
    },
  );

  it('refuses a host name that resolves to an IPv4-compatible address', async () => {
    const lookup: LookupAll = async () => [{ address: '::a9fe:a9fe', family: 6 }];
    const f = createFetcher(limits, { lookup });
    try {
      const r = await f.fetchFeed({ url: 'http://metadata.example/latest' });
      expect(r.kind === 'error' && r.errorKind).toBe('blocked');
      expect(r.kind === 'error' && r.message).toContain('metadata.example resolves to address ::a9fe:a9fe (embedding 169.254.169.254) is link-local');
    } finally {
      await f.close();
    }
  });
});
