import type { SubscriptionRow } from '../store/websub.ts';

/** A feed's push state as /api/feeds shows it. */
export interface PushView {
  state: 'subscribed' | 'pending' | 'none' | 'failed';
  hub: string | null;
  expires_at: string | null;
}

export const NO_PUSH: PushView = { state: 'none', hub: null, expires_at: null };

/** 'subscribed' only within the lease; a lapsed or ending subscription shows as 'none' (the feed is polled). */
export function pushView(row: SubscriptionRow | null | undefined, now: Date): PushView {
  if (!row) return NO_PUSH;
  const expires = row.expires_at === null ? null : new Date(row.expires_at);
  const live = row.state === 'subscribed' && expires !== null && expires > now;
  const state: PushView['state'] = row.ending ? 'none' : live ? 'subscribed' : row.state === 'pending' ? 'pending' : row.state === 'failed' ? 'failed' : 'none';
  return { state, hub: row.hub, expires_at: expires?.toISOString() ?? null };
}
