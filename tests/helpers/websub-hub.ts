/**
 * A WebSub hub for tests, on 127.0.0.1: takes subscribe/unsubscribe requests, verifies intent by
 * calling the subscriber's callback (as a real hub does, after answering 202), delivers signed
 * content to verified subscribers, and records publish pings. It can be told to fail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signBody } from '../../src/websub/signature.ts';

export interface HubSubscription {
  callback: string;
  topic: string;
  secret: string | null;
  leaseSeconds: number | null;
  /** Set once the callback echoed the challenge. */
  verified: boolean;
}

export interface HubRequest {
  mode: string;
  form: Record<string, string>;
  /** For (un)subscribe: what the verification GET answered (status, and whether the challenge came back). */
  verification?: { status: number; echoed: boolean };
}

export interface TestHub {
  url: string;
  requests: HubRequest[];
  pings: string[];
  subscriptions: Map<string, HubSubscription>;
  /** Answer subscribe/unsubscribe with this status instead of 202 (no verification then). */
  failRequestsWith: number | null;
  /** Answer this many publish pings with 500 before accepting again. */
  failPings: number;
  /** The lease the hub grants (default: what was asked for). */
  grantLeaseSeconds: number | null;
  /** Verify intent by itself after answering (default true). */
  autoVerify: boolean;
  /** Sends a verification GET for the latest request of this callback; returns the answer. */
  verify(req: HubRequest, override?: Partial<Record<'hub.topic' | 'hub.challenge', string>>): Promise<{ status: number; body: string }>;
  /** POSTs a new version of the topic to every verified subscriber. */
  deliver(topic: string, body: string, opts?: { sign?: 'sha256' | 'sha1' | 'none' | 'wrong'; contentType?: string }): Promise<{ status: number; body: string }[]>;
  /** Resolves once the predicate holds (checked whenever the hub records something, and every 20 ms). */
  until(predicate: () => boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startTestHub(): Promise<TestHub> {
  const hub: TestHub = {
    url: '',
    requests: [],
    pings: [],
    subscriptions: new Map(),
    failRequestsWith: null,
    failPings: 0,
    grantLeaseSeconds: null,
    autoVerify: true,
    verify: (req, override) => verifyIntent(hub, req, override),
    deliver: (topic, body, opts) => deliver(hub, topic, body, opts),
    until: (predicate) => until(predicate),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const mode = form['hub.mode'] ?? '';
      if (mode === 'publish') {
        if (hub.failPings > 0) {
          hub.failPings--;
          res.writeHead(500).end('hub is having a bad day');
          return;
        }
        hub.pings.push(form['hub.url'] ?? '');
        res.writeHead(204).end();
        return;
      }
      if (mode !== 'subscribe' && mode !== 'unsubscribe') {
        res.writeHead(400).end('unknown hub.mode');
        return;
      }
      const request: HubRequest = { mode, form };
      hub.requests.push(request);
      if (hub.failRequestsWith !== null) {
        res.writeHead(hub.failRequestsWith).end('refused by test');
        return;
      }
      res.writeHead(202).end();
      if (hub.autoVerify) void verifyIntent(hub, request).catch(() => undefined);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', r));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return hub;
}

async function verifyIntent(hub: TestHub, req: HubRequest, override: Partial<Record<string, string>> = {}): Promise<{ status: number; body: string }> {
  const callback = req.form['hub.callback']!;
  const topic = req.form['hub.topic']!;
  const challenge = `challenge-${Math.random().toString(36).slice(2)}`;
  const asked = Number(req.form['hub.lease_seconds']);
  const lease = hub.grantLeaseSeconds ?? (Number.isFinite(asked) && asked > 0 ? asked : 3600);
  const url = new URL(callback);
  url.searchParams.set('hub.mode', req.mode);
  url.searchParams.set('hub.topic', override['hub.topic'] ?? topic);
  url.searchParams.set('hub.challenge', override['hub.challenge'] ?? challenge);
  if (req.mode === 'subscribe') url.searchParams.set('hub.lease_seconds', String(lease));
  const res = await fetch(url);
  const body = await res.text();
  const echoed = res.status >= 200 && res.status < 300 && body === (override['hub.challenge'] ?? challenge);
  req.verification = { status: res.status, echoed };
  const key = `${callback} ${topic}`;
  if (echoed && req.mode === 'subscribe') {
    hub.subscriptions.set(key, { callback, topic, secret: req.form['hub.secret'] ?? null, leaseSeconds: lease, verified: true });
  } else if (echoed && req.mode === 'unsubscribe') {
    hub.subscriptions.delete(key);
  }
  return { status: res.status, body };
}

async function deliver(
  hub: TestHub,
  topic: string,
  body: string,
  opts: { sign?: 'sha256' | 'sha1' | 'none' | 'wrong'; contentType?: string } = {},
): Promise<{ status: number; body: string }[]> {
  const out: { status: number; body: string }[] = [];
  for (const sub of hub.subscriptions.values()) {
    if (sub.topic !== topic || !sub.verified) continue;
    const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/rss+xml' };
    const sign = opts.sign ?? 'sha256';
    if (sign === 'sha256') headers['x-hub-signature-256'] = signBody(body, sub.secret ?? '');
    if (sign === 'sha1') headers['x-hub-signature'] = signBody(body, sub.secret ?? '', 'sha1');
    if (sign === 'wrong') headers['x-hub-signature-256'] = signBody(body, 'not-the-secret');
    const res = await fetch(sub.callback, { method: 'POST', headers, body });
    out.push({ status: res.status, body: await res.text() });
  }
  return out;
}

/** Waits for something asynchronous to happen (no time assertion: vitest's test timeout bounds it). */
export async function until(predicate: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await predicate())) await new Promise((r) => setTimeout(r, 20));
}
