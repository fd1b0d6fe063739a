/**
 * When to poll a feed next. Pure functions: the clock and randomness come in as arguments.
 *
 * Success: the interval follows the feed's publishing rate over the last week (Miniflux's
 * entry_frequency: 7 days / entries that week), clamped to [min, max], never sooner than the
 * publisher asks (Cache-Control/Expires, RSS ttl, sy:updatePeriod), plus up to 10% jitter so feeds
 * added together drift apart.
 * Failure: exponential backoff with jitter up to max; a failing feed keeps being retried.
 */

export interface IntervalBounds {
  minSeconds: number;
  maxSeconds: number;
}

const WEEK_SECONDS = 7 * 86400;

export function intervalFromPublishingRate(
  publishedIso: (string | null)[],
  now: Date,
  bounds: IntervalBounds,
): number {
  const weekAgo = now.getTime() - WEEK_SECONDS * 1000;
  let recent = 0;
  for (const iso of publishedIso) {
    if (!iso) continue;
    const t = Date.parse(iso);
    if (t >= weekAgo && t <= now.getTime() + 3600_000) recent++;
  }
  if (recent === 0) return bounds.maxSeconds;
  return clamp(WEEK_SECONDS / recent, bounds.minSeconds, bounds.maxSeconds);
}

/** Raises an interval to what the publisher asks for, capped by the maximum. */
export function respectPublisherHints(intervalSeconds: number, hints: (number | null)[], bounds: IntervalBounds): number {
  let s = intervalSeconds;
  for (const h of hints) if (h !== null && Number.isFinite(h) && h > s) s = h;
  return Math.min(s, bounds.maxSeconds);
}

export function withJitter(seconds: number, random: () => number): number {
  return Math.round(seconds * (1 + 0.1 * random()));
}

/** 1st error: min; then doubling; capped by max; jitter keeps failing feeds of one host apart. */
export function errorBackoffSeconds(errorCount: number, bounds: IntervalBounds, random: () => number): number {
  const exp = Math.min(Math.max(errorCount - 1, 0), 30);
  const base = Math.min(bounds.minSeconds * 2 ** exp, bounds.maxSeconds);
  return Math.round(Math.min(base * (0.9 + 0.2 * random()), bounds.maxSeconds));
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(Math.max(n, lo), hi);
}
