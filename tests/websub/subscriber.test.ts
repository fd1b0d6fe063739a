/**
 * WebSub subscriber end to end: a feed advertising a local hub is subscribed after a poll, the hub
 * verifies intent at our callback, signed deliveries are stored like a poll, anything else is
 * refused and changes nothing; leases are renewed and expire; a hub that is down is recorded while
 * polling goes on; removing or disabling a feed unsubscribes it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { startTestHub, until, type TestHub } from '../helpers/websub-hub.ts';
import { createApp } from '../../src/api/app.ts';
import type { Runtime } from '../../src/runtime.ts';
import { insertFeed } from '../../src/store/feeds.ts';
import { getSubscription } from '../../src/store/websub.ts';
import { refreshFeed } from '../../src/worker/poll-once.ts';
import { runPolls } from '../../src/worker/poll-run.ts';
import type { FeedPollSummary } from '../../src/worker/poll-feed.ts';
import { createSubscriber } from '../../src/websub/subscriber.ts';
import { createHubClient } from '../../src/websub/hub-client.ts';
import { silentLogger } from '../../src/observability/logger.ts';

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toUTCString();

function rss(hub: string | null, self: string, items: { guid: string; title: string }[]): string {
  const links = hub === null ? '' : `<atom:link rel="hub" href="${hub}"/><atom:link rel="self" href="${self}"/>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Pushed Wire</title><link>http://pushed.test/</link>${links}
${items.map((i, n) => `<item><title>${i.title}</title><link>http://pushed.test/${i.guid}</link><guid>${i.guid}</guid><pubDate>${hoursAgo(n + 1)}</pubDate></item>`).join('\n')}
</channel></rss>`;
}

interface FeedServer {
  url: string;
  body: string;
  close(): Promise<void>;
}

async function startFeedServer(): Promise<FeedServer> {
  const state = { url: '', body: '', close: async () => undefined } as FeedServer;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(state.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.xml`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}

/** Polls one feed once. (refreshFeed may poll a fast feed twice: it claims feeds not fetched since start + 1 s.) */
async function pollNow(rt: Runtime, id: number): Promise<FeedPollSummary | null> {
  const seen: FeedPollSummary[] = [];
  await runPolls(rt.pollDeps, { ...rt.pollSettings, notFetchedSince: new Date(), ids: [id], onFeed: (s) => seen.push(s) });
  return seen[0] ?? null;
}

describe(`WebSub subscriber (${backendName})`, () => {
  let t: TestDb;
  let rt: Runtime;
  let hub: TestHub;
  let feeds: FeedServer;
  let server: Server;
  let base: string;
  const ADMIN = 'websub-admin-token';

  beforeAll(async () => {
    t = await createTestDb();
    hub = await startTestHub();
    feeds = await startFeedServer();
    // The callback URL is PUBLIC_URL/websub/…: listen first, then build the app on that address.
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    rt = await testRuntime(t.db, { PUBLIC_URL: base, ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: '0', POLL_MAX_INTERVAL: '6h', POLL_MIN_INTERVAL: '5m' });
    const app = createApp({
      db: t.db,
      config: rt.config,
      logger: silentLogger,
      metrics: rt.metrics,
      refreshFeed: (id) => refreshFeed(rt, id),
      subscribe: { db: t.db, fetcher: rt.fetcher, allow: rt.config.ALLOW_PRIVATE_NETWORKS },
      websub: { subscriber: rt.websub.subscriber, publisher: rt.websub.publisher, parse: rt.pollDeps.parse },
    });
    server.on('request', app);
  });
  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    await rt?.close();
    await hub?.close();
    await feeds?.close();
    await t?.drop();
  });
  beforeEach(() => {
    hub.failRequestsWith = null;
    hub.autoVerify = true;
    hub.grantLeaseSeconds = null;
  });

  const pushOf = async (id: number) => {
    const body = (await (await fetch(`${base}/api/feeds`)).json()) as { feeds: { id: number; push: { state: string; hub: string | null; expires_at: string | null } }[] };
    return body.feeds.find((f) => f.id === id)!.push;
  };
  const entryCount = async () => Number((await t.db.query<{ n: string }>('select count(*) as n from entries')).rows[0]!.n);
  const topicOf = (id: number) => `http://pushed.test/topic/${id}`;

  /** A feed that advertises the hub, polled once; resolves when the hub has verified the subscription. */
  async function subscribedFeed(name: string): Promise<number> {
    const row = await insertFeed(t.db, { url: `${feeds.url}?${name}`, region: 'europe' });
    const id = row!.id;
    feeds.body = rss(hub.url, topicOf(id), [{ guid: `${name}-1`, title: `${name} first` }]);
    const polled = await pollNow(rt, id);
    expect(polled?.outcome).toBe('ok');
    await until(() => [...hub.subscriptions.values()].some((s) => s.topic === topicOf(id)));
    await until(async () => (await getSubscription(t.db, id))?.state === 'subscribed');
    return id;
  }

  it('subscribes a feed whose document advertises a hub, verified at our callback, and holds its polling', async () => {
    const id = await subscribedFeed('verify');
    const req = hub.requests.find((r) => r.form['hub.topic'] === topicOf(id))!;
    expect(req.mode).toBe('subscribe');
    expect(req.form['hub.callback']).toMatch(new RegExp(`^${base}/websub/${id}/[A-Za-z0-9_-]{20,}$`));
    expect(req.form['hub.lease_seconds']).toBe(String(7 * 86400));
    expect(req.form['hub.secret']!.length).toBeGreaterThanOrEqual(32);
    expect(req.verification).toEqual({ status: 200, echoed: true });

    const push = await pushOf(id);
    expect(push.state).toBe('subscribed');
    expect(push.hub).toBe(hub.url);
    expect(Date.parse(push.expires_at!)).toBeGreaterThan(Date.now() + 6 * 86400_000);
    // While pushed, the next poll is POLL_MAX_INTERVAL (6 h) after the last one: a safety net only.
    const feed = (await t.db.query<{ next_poll_at: Date; last_fetched_at: Date }>('select next_poll_at, last_fetched_at from feeds where id = $1', [id])).rows[0]!;
    expect(new Date(feed.next_poll_at).getTime()).toBeGreaterThanOrEqual(new Date(feed.last_fetched_at).getTime() + 6 * 3600_000);

    // A replayed verification (no longer pending) and one for another topic are refused.
    expect((await hub.verify(req)).status).toBe(404);
    const r = await fetch(`${req.form['hub.callback']}?hub.mode=subscribe&hub.topic=${encodeURIComponent('http://evil.test/')}&hub.challenge=x`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('stores signed deliveries like a poll; unsigned, wrongly signed, unknown, oversized and non-feed ones change nothing', async () => {
    const id = await subscribedFeed('deliver');
    const before = await entryCount();
    const next = rss(hub.url, topicOf(id), [{ guid: 'deliver-2', title: 'Pushed story' }, { guid: 'deliver-1', title: 'deliver first' }]);

    expect((await hub.deliver(topicOf(id), next, { sign: 'none' })).map((r) => r.status)).toEqual([403]);
    expect((await hub.deliver(topicOf(id), next, { sign: 'wrong' })).map((r) => r.status)).toEqual([403]);
    const callback = [...hub.subscriptions.values()].find((s) => s.topic === topicOf(id))!.callback;
    const unknown = await fetch(callback.replace(/[^/]+$/, 'not-the-token'), { method: 'POST', body: next });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await hub.deliver(topicOf(id), 'this is no feed')).map((r) => r.status)).toEqual([400]);
    const huge = `<rss>${' '.repeat(rt.config.FETCH_MAX_BYTES + 10)}</rss>`;
    expect((await hub.deliver(topicOf(id), huge)).map((r) => r.status)).toEqual([413]);
    expect(await entryCount()).toBe(before);

    const stored = await hub.deliver(topicOf(id), next);
    expect(stored.map((r) => r.status)).toEqual([200]);
    expect(JSON.parse(stored[0]!.body)).toMatchObject({ inserted: 1, unchanged: 1 });
    const items = (await (await fetch(`${base}/api/items?feed=${id}`)).json()) as { items: { title: string }[] };
    expect(items.items.map((i) => i.title)).toContain('Pushed story');

    // X-Hub-Signature (sha1) is accepted too; the same document again stores nothing new.
    const again = await hub.deliver(topicOf(id), next, { sign: 'sha1' });
    expect(again.map((r) => r.status)).toEqual([200]);
    expect(JSON.parse(again[0]!.body)).toMatchObject({ inserted: 0, unchanged: 2 });
  });

  it('renews a lease before it ends and lets a lapsed one expire, resuming adaptive polling', async () => {
    const id = await subscribedFeed('lease');
    const sub = (await getSubscription(t.db, id))!;
    // A subscriber whose clock runs ahead: past the renewal point (80% of the lease), then past its end.
    let clock = new Date(Date.now() + sub.lease_seconds! * 850);
    const client = createHubClient({ allow: { all: true, cidrs: [] }, timeoutMs: 3000, userAgent: 'test' });
    const ahead = createSubscriber({ db: t.db, client, logger: silentLogger, publicUrl: base, leaseSeconds: 3600, pollMaxSeconds: 6 * 3600, now: () => clock });
    const before = hub.requests.filter((r) => r.form['hub.topic'] === topicOf(id)).length;
    await ahead.maintain();
    await until(() => hub.requests.filter((r) => r.form['hub.topic'] === topicOf(id) && r.verification?.echoed).length === before + 1);
    const renewed = (await getSubscription(t.db, id))!;
    expect(renewed.state).toBe('subscribed');
    expect(renewed.token).toBe(sub.token);
    expect(renewed.lease_seconds).toBe(3600);
    expect(new Date(renewed.next_attempt_at!).getTime()).toBeLessThan(new Date(renewed.expires_at!).getTime());

    // The hub is down at renewal time, and the lease runs out: expired, the feed is due again.
    hub.failRequestsWith = 503;
    clock = new Date(new Date(renewed.expires_at!).getTime() + 1000);
    await ahead.maintain();
    // Expired, then the resubscription the job tried at once failed (the hub is down): retried later.
    const lapsed = (await getSubscription(t.db, id))!;
    expect(lapsed.state).toBe('failed');
    expect(lapsed.last_error).toMatch(/503/);
    const feed = (await t.db.query<{ next_poll_at: Date }>('select next_poll_at from feeds where id = $1', [id])).rows[0]!;
    expect(new Date(feed.next_poll_at).getTime()).toBeLessThanOrEqual(clock.getTime());
    expect((await pushOf(id)).state).toBe('failed');
    const refused = await hub.deliver(topicOf(id), rss(hub.url, topicOf(id), [{ guid: 'late', title: 'Too late' }]));
    expect(refused.map((r) => r.status)).toEqual([410]);
    await client.close();
  });

  it('records a hub that is down as failed and keeps polling the feed adaptively', async () => {
    hub.failRequestsWith = 503;
    const row = await insertFeed(t.db, { url: `${feeds.url}?down` });
    // A busy feed (an item an hour): adaptive polling would come back well within the 6 h maximum.
    feeds.body = rss(hub.url, topicOf(row!.id), Array.from({ length: 150 }, (_, i) => ({ guid: `down-${i}`, title: `down ${i}` })));
    const polled = await pollNow(rt, row!.id);
    expect(polled?.outcome).toBe('ok');
    await until(async () => (await getSubscription(t.db, row!.id))?.state === 'failed');
    const sub = (await getSubscription(t.db, row!.id))!;
    expect(sub.last_error).toMatch(/503/);
    expect(sub.attempts).toBe(1);
    expect((await pushOf(row!.id)).state).toBe('failed');
    // Polling is untouched: the next poll follows the adaptive interval, not the push safety net.
    expect(new Date(polled!.nextPollAt!).getTime()).toBeLessThan(Date.now() + 2 * 3600_000);

    // An unreachable hub (nothing listens) is recorded the same way.
    const gone = await insertFeed(t.db, { url: `${feeds.url}?unreachable` });
    feeds.body = rss('http://127.0.0.1:9/', topicOf(gone!.id), [{ guid: 'u-1', title: 'unreachable first' }]);
    expect((await pollNow(rt, gone!.id))?.outcome).toBe('ok');
    await until(async () => (await getSubscription(t.db, gone!.id))?.state === 'failed');
    expect((await getSubscription(t.db, gone!.id))!.last_error).toMatch(/not reachable/);
  });

  it('a pending subscription is not live: its verification for another token is refused', async () => {
    hub.autoVerify = false;
    const row = await insertFeed(t.db, { url: `${feeds.url}?pending` });
    feeds.body = rss(hub.url, topicOf(row!.id), [{ guid: 'p-1', title: 'pending first' }]);
    await pollNow(rt, row!.id);
    await until(() => hub.requests.some((r) => r.form['hub.topic'] === topicOf(row!.id)));
    await until(async () => (await getSubscription(t.db, row!.id))?.state === 'pending');
    expect((await pushOf(row!.id)).state).toBe('pending');
    const req = hub.requests.find((r) => r.form['hub.topic'] === topicOf(row!.id))!;
    const wrongToken = { ...req, form: { ...req.form, 'hub.callback': req.form['hub.callback']!.replace(/[^/]+$/, 'guess') } };
    expect((await hub.verify(wrongToken)).status).toBe(404);
    const ok = await hub.verify(req, { 'hub.challenge': 'exact-challenge' });
    expect(ok).toEqual({ status: 200, body: 'exact-challenge' });
  });

  it('unsubscribes when a feed is disabled or removed (API), verified by the hub', async () => {
    const disabled = await subscribedFeed('disable');
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const patched = await fetch(`${base}/api/feeds/${disabled}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ enabled: false }) });
    expect(patched.status).toBe(200);
    const unsubscribeOf = (id: number) => hub.requests.find((r) => r.mode === 'unsubscribe' && r.form['hub.topic'] === topicOf(id));
    await until(() => unsubscribeOf(disabled)?.verification !== undefined);
    expect(await getSubscription(t.db, disabled)).toBeNull();
    const unsub = unsubscribeOf(disabled)!;
    expect(unsub.verification).toEqual({ status: 200, echoed: true });

    const removed = await subscribedFeed('remove');
    const del = await fetch(`${base}/api/feeds/${removed}`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(204);
    await until(() => unsubscribeOf(removed)?.verification !== undefined);
    expect(unsubscribeOf(removed)!.verification).toEqual({ status: 200, echoed: true });
    expect(await getSubscription(t.db, removed)).toBeNull();
    expect([...hub.subscriptions.values()].some((s) => s.topic === topicOf(removed))).toBe(false);
  });

  it('an unsubscription the hub never verifies is retried, then given up (the row goes)', async () => {
    const id = await subscribedFeed('ignored-unsubscribe');
    hub.autoVerify = false;
    let clock = new Date();
    const client = createHubClient({ allow: { all: true, cidrs: [] }, timeoutMs: 3000, userAgent: 'test' });
    const s = createSubscriber({ db: t.db, client, logger: silentLogger, publicUrl: base, leaseSeconds: 3600, pollMaxSeconds: 6 * 3600, now: () => clock });
    const unsubscribes = () => hub.requests.filter((r) => r.mode === 'unsubscribe' && r.form['hub.topic'] === topicOf(id)).length;
    await s.end(id);
    expect(unsubscribes()).toBe(1);
    for (let round = 0; round < 20 && (await getSubscription(t.db, id)) !== null; round++) {
      clock = new Date(clock.getTime() + 601_000); // past the verification window
      await s.maintain();
    }
    expect(await getSubscription(t.db, id)).toBeNull();
    expect(unsubscribes()).toBe(5);
    await client.close();
  });

  it('a feed that moves to another topic is unsubscribed from the old one, then subscribed to the new one', async () => {
    const id = await subscribedFeed('moved');
    const moved = `${topicOf(id)}/moved`;
    feeds.body = rss(hub.url, moved, [{ guid: 'moved-2', title: 'moved second' }, { guid: 'moved-1', title: 'moved first' }]);
    await pollNow(rt, id);
    const old = () => hub.requests.find((r) => r.mode === 'unsubscribe' && r.form['hub.topic'] === topicOf(id));
    await until(() => old()?.verification !== undefined);
    expect(old()!.verification).toEqual({ status: 200, echoed: true });
    expect(await getSubscription(t.db, id)).toBeNull();

    feeds.body = rss(hub.url, moved, [{ guid: 'moved-3', title: 'moved third' }, { guid: 'moved-2', title: 'moved second' }]);
    await pollNow(rt, id);
    await until(async () => (await getSubscription(t.db, id))?.state === 'subscribed');
    expect((await getSubscription(t.db, id))!.topic).toBe(moved);
  });

  it('the worker job unsubscribes feeds the worker disabled (410, giving up)', async () => {
    const id = await subscribedFeed('worker-disabled');
    await t.db.query(`update feeds set enabled = false, disabled_reason = 'gone' where id = $1`, [id]);
    await rt.websub.subscriber.maintain();
    await until(async () => (await getSubscription(t.db, id)) === null);
    expect(hub.requests.some((r) => r.mode === 'unsubscribe' && r.form['hub.topic'] === topicOf(id))).toBe(true);
  });

  it('a hub denial is recorded as failed', async () => {
    const id = await subscribedFeed('denied');
    const sub = (await getSubscription(t.db, id))!;
    const res = await fetch(`${base}/websub/${id}/${sub.token}?hub.mode=denied&hub.topic=${encodeURIComponent(topicOf(id))}&hub.reason=policy`);
    expect(res.status).toBe(204);
    const after = (await getSubscription(t.db, id))!;
    expect(after.state).toBe('failed');
    expect(after.last_error).toMatch(/policy/);
  });
});
