/**
 * Outbound requests to WebSub hubs: subscribe/unsubscribe (subscriber) and publish pings
 * (publisher). A hub URL comes from a feed document, so every connection goes through the SSRF
 * guard (src/fetch/address-guard.ts, ALLOW_PRIVATE_NETWORKS) like a feed fetch; redirects are not
 * followed (a hub that moved answers 3xx, which is recorded as a failure).
 */
import { fetch, type Agent } from 'undici';
import { checkFeedUrl, createGuardedAgent, type AddressAllowList } from '../fetch/address-guard.ts';

export type HubAnswer = { ok: true; status: number } | { ok: false; status: number | null; error: string };

export interface HubClient {
  /** A form-encoded POST; never throws. */
  post(hub: string, form: Record<string, string>): Promise<HubAnswer>;
  close(): Promise<void>;
}

export interface HubClientOptions {
  allow: AddressAllowList;
  timeoutMs: number;
  userAgent: string;
}

/** A hub's answer body is never used; read this much at most for an error message. */
const MAX_ERROR_BODY = 2048;

export function createHubClient(o: HubClientOptions): HubClient {
  const agent: Agent = createGuardedAgent({
    allow: o.allow,
    connectTimeoutMs: o.timeoutMs,
    agent: { headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs, connections: 4 },
  });
  return {
    async post(hub, form) {
      const checked = checkFeedUrl(hub, o.allow);
      if (!checked.ok) return { ok: false, status: null, error: `hub ${checked.reason}` };
      try {
        const res = await fetch(checked.url, {
          method: 'POST',
          dispatcher: agent,
          redirect: 'manual',
          signal: AbortSignal.timeout(o.timeoutMs),
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': o.userAgent },
          body: new URLSearchParams(form).toString(),
        });
        const text = (await res.text().catch(() => '')).slice(0, MAX_ERROR_BODY);
        if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
        const detail = text.replace(/\s+/g, ' ').trim().slice(0, 200);
        return { ok: false, status: res.status, error: `hub answered ${res.status}${detail ? `: ${detail}` : ''}` };
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        return { ok: false, status: null, error: `hub not reachable: ${cause ?? (err as Error).message}` };
      }
    },
    async close() {
      await agent.close();
    },
  };
}
