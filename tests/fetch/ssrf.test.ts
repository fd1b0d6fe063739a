import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetcher } from '../../src/fetch/fetcher.ts';
import type { FetchLimits, FetchOutcome } from '../../src/fetch/types.ts';
import { SAMPLE_RSS, startFaultServer, type FaultServer } from '../helpers/fault-server.ts';

const BASE: Omit<FetchLimits, 'allowPrivate'> = {
  timeoutMs: 1500,
  headersTimeoutMs: 800,
  maxBytes: 1024 * 1024,
  maxRedirects: 5,
  userAgent: 'Tributary/test',
};

let main: FaultServer; // 127.0.0.1, the only address allowed in most tests
let other: FaultServer; // 127.0.0.2: Linux routes all of 127/8 to lo

beforeAll(async () => {
  main = await startFaultServer();
  other = await startFaultServer({ host: '127.0.0.2' });
  main.route('/to-other', (_req, res) => {
    res.writeHead(302, { location: other.url('/feed.xml') });
    res.end();
  });
});

afterAll(async () => {
  await main?.close();
  await other?.close();
});

function errorOf(r: FetchOutcome) {
  if (r.kind !== 'error') throw new Error(`expected an error, got ${r.kind}`);
  return r;
}

describe('SSRF guard at connect time', () => {
  it('allows the listed CIDR but refuses a redirect hop outside it, before any request', async () => {
    const f = createFetcher({ ...BASE, allowPrivate: { all: false, cidrs: ['127.0.0.1/32'] } });
    try {
      expect((await f.fetchFeed({ url: main.url('/feed.xml') })).kind).toBe('ok');
      const r = errorOf(await f.fetchFeed({ url: main.url('/to-other') }));
      expect(r.errorKind).toBe('blocked');
      expect(r.message).toContain('address 127.0.0.2 is loopback');
      expect(r.redirects).toEqual([{ from: main.url('/to-other'), to: other.url('/feed.xml'), status: 302 }]);
      expect(main.count('/to-other')).toBe(1);
      // Refused before connecting (an IP literal never reaches the lookup hook), not just before sending.
      expect(other.connections()).toBe(0);
      expect(other.count()).toBe(0);
    } finally {
      await f.close();
    }
  });

  it('the same redirect works when the whole range is allowed (so the refusal above is the guard)', async () => {
    const f = createFetcher({ ...BASE, allowPrivate: { all: false, cidrs: ['127.0.0.0/8'] } });
    try {
      const r = await f.fetchFeed({ url: main.url('/to-other') });
      expect(r.kind).toBe('ok');
      expect(other.count('/feed.xml')).toBe(1);
    } finally {
      await f.close();
      other.resetRequests();
    }
  });

  it.each(['localhost', '127.0.0.1', '2130706433', '0x7f.1', '[::ffff:127.0.0.1]'])(
    'refuses http://%s:<port> with no private ranges allowed, without reaching the server',
    async (host) => {
      const f = createFetcher({ ...BASE, allowPrivate: { all: false, cidrs: [] } });
      main.resetRequests();
      const connectionsBefore = main.connections();
      try {
        const r = errorOf(await f.fetchFeed({ url: `http://${host}:${main.port}/feed.xml` }));
        expect(r.errorKind).toBe('blocked');
        expect(r.message).toMatch(/is loopback; private networks are not allowed/);
        expect(main.count()).toBe(0);
        expect(main.connections()).toBe(connectionsBefore);
      } finally {
        await f.close();
      }
    },
  );

  it('resolves names through the guarded lookup and filters what it returns', async () => {
    const asked: string[] = [];
    const lookup = async (host: string) => {
      asked.push(host);
      return [
        { address: '10.9.9.9', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ];
    };
    const allowLoopback = createFetcher({ ...BASE, allowPrivate: { all: false, cidrs: ['127.0.0.1/32'] } }, { lookup });
    const allowNothing = createFetcher({ ...BASE, allowPrivate: { all: false, cidrs: [] } }, { lookup });
    main.resetRequests();
    try {
      const ok = await allowLoopback.fetchFeed({ url: `http://feeds.example.test:${main.port}/feed.xml` });
      expect(ok.kind === 'ok' && ok.text).toBe(SAMPLE_RSS);
      expect(main.lastRequest('/feed.xml')?.headers.host).toBe(`feeds.example.test:${main.port}`);

      const connectionsBefore = main.connections();
      const refused = errorOf(await allowNothing.fetchFeed({ url: `http://rebind.example.test:${main.port}/feed.xml` }));
      expect(refused.errorKind).toBe('blocked');
      expect(refused.message).toContain('rebind.example.test resolves to address 10.9.9.9 is in a private network');
      expect(main.count()).toBe(1);
      expect(main.connections()).toBe(connectionsBefore);
      expect(asked).toEqual(['feeds.example.test', 'rebind.example.test']);
    } finally {
      await allowLoopback.close();
      await allowNothing.close();
    }
  });
});
