-- WebSub (src/websub). Two tables: our subscriptions at publishers' hubs, and the publisher's
-- per-topic ping debounce shared by every process.

-- One subscription per feed. feed_id has no foreign key on purpose: when a feed is deleted its row
-- must outlive it until the hub has verified the unsubscription (the callback path carries the id).
create table websub_subscriptions (
  feed_id          int primary key,
  hub              text not null,
  topic            text not null,
  -- Random; part of the callback URL, so a guessed feed id alone reaches nothing.
  token            text not null,
  -- hub.secret: deliveries are signed with it (HMAC).
  secret           text not null,
  -- subscribed: verified and within its lease. pending: asked, waiting for the hub's verification.
  -- failed: the hub refused or could not be reached (retried later). expired: the lease ran out.
  state            text not null check (state in ('pending', 'subscribed', 'failed', 'expired')),
  -- The request awaiting the hub's intent verification, if any (a renewal keeps state 'subscribed').
  pending_mode     text check (pending_mode in ('subscribe', 'unsubscribe')),
  pending_since    timestamptz,
  lease_seconds    int,
  expires_at       timestamptz,
  -- Unsubscribe wanted (feed removed or disabled): the row goes once the hub verifies it.
  ending           boolean not null default false,
  attempts         int not null default 0,
  next_attempt_at  timestamptz,
  last_error       text,
  updated_at       timestamptz not null default now()
);
create index websub_subscriptions_due on websub_subscriptions (next_attempt_at) where next_attempt_at is not null;

-- The last ping sent to WEBSUB_HUB per topic: a conditional upsert on it lets at most one process
-- ping a topic per WEBSUB_PING_INTERVAL.
create table websub_pings (
  topic        text primary key,
  last_ping_at timestamptz not null
);
