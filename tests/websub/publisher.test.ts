/**
 * WebSub publisher: with WEBSUB_HUB the merged feeds name the hub; committed entries ping the hub
 * for the changed topics (whole feed and the region's), debounced per topic across processes, and
 * retried with backoff when the hub fails.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { startTestHub, until, type TestHub } from '../helpers/websub-hub.ts';
import { startApp, type RunningApp } from '../api/helpers.ts';
import type { Runtime } from '../../src/runtime.ts';
import { insertFeed } from '../../src/store/feeds.ts';
import { runPolls } from '../../src/worker/poll-run.ts';
import { createPublisher } from '../../src/websub/publisher.ts';
import { createHubClient } from '../../src/websub/hub-client.ts';
import { topicsFor } from '../../src/websub/topics.ts';
import { silentLogger } from '../../src/observability/logger.ts';

const PUBLIC = 'https://news.example.org';

describe(`WebSub publisher (${backendName})`, () => {
  let t: TestDb;
  let hub: TestHub;
  let app: RunningApp;

  beforeAll(async () => {
    t = await createTestDb();
    hub = await startTestHub();
    app = await startApp(t.db, { PUBLIC_URL: PUBLIC, WEBSUB_HUB: hub.url });
  });
  afterAll(async () => {
    await app?.close();
    await hub?.close();
    await t?.drop();
  });
  beforeEach(() => {
    hub.pings.length = 0;
    hub.failPings = 0;
  });

  it('merged feeds (all formats, per region too) carry rel="hub" and rel="self"; filtered variants name no hub', async () => {
    const rss = await (await fetch(`${app.base}/feed.xml`)).text();
    expect(rss).toContain(`<atom:link href="${PUBLIC}/feed.xml" rel="self" type="application/rss+xml"/>`);
    expect(rss).toContain(`<atom:link href="${hub.url}" rel="hub"/>`);
    const atom = await (await fetch(`${app.base}/regions/europe/feed.atom`)).text();
    expect(atom).toContain(`<link rel="self" type="application/atom+xml" href="${PUBLIC}/feed.atom?region=europe"/>`);
    expect(atom).toContain(`<link rel="hub" href="${hub.url}"/>`);
    const json = (await (await fetch(`${app.base}/feed.json`)).json()) as { feed_url: string; hubs: { type: string; url: string }[] };
    expect(json.feed_url).toBe(`${PUBLIC}/feed.json`);
    expect(json.hubs).toEqual([{ type: 'WebSub', url: hub.url }]);
    // The self URLs of the hub-carrying documents are exactly the topics that get pinged.
    expect(topicsFor(PUBLIC, 'europe')).toContain(`${PUBLIC}/feed.atom?region=europe`);
    const filtered = (await (await fetch(`${app.base}/feed.json?lang=en`)).json()) as { hubs?: unknown };
    expect(filtered.hubs).toBeUndefined();
    expect(await (await fetch(`${app.base}/feed.xml?limit=5`)).text()).not.toContain('rel="hub"');
  });

  it('without WEBSUB_HUB no hub link is written', async () => {
    const plain = await startApp(t.db, { PUBLIC_URL: PUBLIC });
    try {
      expect(await (await fetch(`${plain.base}/feed.xml`)).text()).not.toContain('rel="hub"');
      expect(((await (await fetch(`${plain.base}/feed.json`)).json()) as { hubs?: unknown }).hubs).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('a poll that commits entries pings the hub for the whole feed and its region, never blocking the poll', async () => {
    const feedServer: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(`<?xml version="1.0"?><rss version="2.0"><channel><title>P</title><link>http://p.test/</link>
<item><title>One</title><link>http://p.test/1</link><guid>p1</guid><pubDate>${new Date().toUTCString()}</pubDate></item></channel></rss>`);
    });
    await new Promise<void>((r) => feedServer.listen(0, '127.0.0.1', r));
    const rt: Runtime = await testRuntime(t.db, { PUBLIC_URL: PUBLIC, WEBSUB_HUB: hub.url, WEBSUB_PING_INTERVAL: '1h' });
    try {
      const feed = await insertFeed(t.db, { url: `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/feed.xml`, region: 'Levant' });
      const totals = await runPolls(rt.pollDeps, { ...rt.pollSettings, notFetchedSince: new Date(), ids: [feed!.id] });
      expect(totals.inserted).toBe(1);
      const expected = [...topicsFor(PUBLIC, null), ...topicsFor(PUBLIC, 'levant')].sort();
      await until(() => hub.pings.length >= expected.length);
      await rt.websub.publisher!.flush();
      expect([...hub.pings].sort()).toEqual(expected);

      // Polled again with nothing new: no ping. Marked changed again within the interval: still none (debounced).
      await runPolls(rt.pollDeps, { ...rt.pollSettings, notFetchedSince: new Date(), ids: [feed!.id] });
      rt.websub.publisher!.changed(['levant']);
      await rt.websub.publisher!.flush();
      expect(hub.pings.length).toBe(expected.length);
    } finally {
      await rt.close();
      await new Promise<void>((r) => feedServer.close(() => r()));
    }
  });

  it('debounces each topic across processes and announces the last change once the interval has passed', async () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const client = createHubClient({ allow: { all: true, cidrs: [] }, timeoutMs: 3000, userAgent: 'test' });
    const make = () =>
      createPublisher({ db: t.db, hub: hub.url, publicUrl: 'https://debounce.example', client, logger: silentLogger, intervalSeconds: 10, now: () => clock, autoFlush: false });
    // Two processes on one database.
    const a = make();
    const b = make();
    try {
      a.changed([null]);
      b.changed([null]);
      await Promise.all([a.flush(), b.flush()]);
      const whole = topicsFor('https://debounce.example', null).sort();
      expect([...hub.pings].sort()).toEqual(whole);

      // 5 s later both see another change: debounced; after the interval, one of them announces it.
      clock = new Date(clock.getTime() + 5000);
      a.changed([null]);
      b.changed([null]);
      await Promise.all([a.flush(), b.flush()]);
      expect(hub.pings.length).toBe(3);
      clock = new Date(clock.getTime() + 6000);
      await Promise.all([a.flush(), b.flush()]);
      expect([...hub.pings].sort()).toEqual([...whole, ...whole].sort());
    } finally {
      await a.close();
      await b.close();
      await client.close();
    }
  });

  it('retries a failed ping with backoff, and gives up after the last attempt without throwing', async () => {
    const clock = new Date('2031-01-01T00:00:00Z');
    const client = createHubClient({ allow: { all: true, cidrs: [] }, timeoutMs: 3000, userAgent: 'test' });
    const make = (publicUrl: string, maxAttempts: number) =>
      createPublisher({ db: t.db, hub: hub.url, publicUrl, client, logger: silentLogger, intervalSeconds: 10, now: () => clock, autoFlush: false, retryBaseMs: 5, maxAttempts });
    const patient = make('https://retry.example', 10);
    const brief = make('https://give-up.example', 4);
    try {
      hub.failPings = 6; // six failures spread over the three topics' attempts, then the hub recovers
      patient.changed([null]);
      await patient.flush();
      expect(hub.failPings).toBe(0);
      expect([...hub.pings].sort()).toEqual(topicsFor('https://retry.example', null).sort());

      hub.pings.length = 0;
      hub.failPings = 1000;
      brief.changed([null]);
      await expect(brief.flush()).resolves.toBeUndefined();
      expect(hub.pings).toEqual([]);
      expect(hub.failPings).toBe(1000 - 3 * 4); // three topics, four attempts each
    } finally {
      await patient.close();
      await brief.close();
      await client.close();
    }
  });
});
