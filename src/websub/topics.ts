/**
 * The WebSub topics of our merged feeds: exactly the rel="self" URLs the feed routes write for the
 * whole feed and for a region (src/api/routes/merged-feeds.ts: `/feed.xml?region=<r>`), so what a
 * subscriber subscribes to is what the publisher pings.
 */
export const FEED_FILES = ['feed.xml', 'feed.atom', 'feed.json'] as const;

/** Regions match case-insensitively, so a region's topic is spelled in lower case. */
export function topicsFor(publicUrl: string, region: string | null): string[] {
  const base = publicUrl.replace(/\/+$/, '');
  const query = region === null ? '' : `?${new URLSearchParams({ region: region.toLowerCase() }).toString()}`;
  return FEED_FILES.map((file) => `${base}/${file}${query}`);
}

/** Every topic a change to feeds of these regions touches: the whole feed and each region's. */
export function changedTopics(publicUrl: string, regions: Iterable<string | null>): string[] {
  const out = new Set(topicsFor(publicUrl, null));
  for (const r of regions) if (r !== null && r !== '') for (const t of topicsFor(publicUrl, r)) out.add(t);
  return [...out];
}
