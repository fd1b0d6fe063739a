/**
 * URL normalisation for cross-feed identity. Two feeds carrying one article usually differ only in
 * tracking parameters, parameter order, host case or a fragment; the canonical form erases exactly that.
 */

/** Parameters that only say where a click came from (compared lower-cased). */
const TRACKING_PARAMS = new Set([
  // Click identifiers: Facebook, Google, Microsoft, Yandex, Twitter, Instagram, TikTok, LinkedIn.
  'fbclid', 'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'ysclid', 'twclid',
  'igshid', 'igsh', 'ttclid', 'li_fat_id', 'ref_src', 'ref_url',
  // Mailchimp, HubSpot, Marketo, Adobe, Beehiiv, Branch, Openstat, Wicked Reports.
  'mc_cid', 'mc_eid', 'mc_tc', '_hsenc', '_hsmi', '__hssc', '__hstc', '__hsfp', 'hsctatracking',
  'mkt_tok', 'sc_cid', '_bhlid', '_branch_match_id', '_branch_referrer', '_openstat', 'wickedid',
  // Google Analytics cross-domain linker.
  '_ga', '_gl',
]);

/** Families of parameters: UTM, Matomo (mtm_, pk_), Olytics (oly_), Vero (vero_), HubSpot ads (hsa_). */
const TRACKING_PREFIXES = ['utm_', 'mtm_', 'pk_', 'oly_', 'vero_', 'hsa_'];

export function isTrackingParam(key: string): boolean {
  const k = key.toLowerCase();
  return TRACKING_PARAMS.has(k) || TRACKING_PREFIXES.some((p) => k.startsWith(p));
}

interface QueryPair {
  /** The segment as WHATWG serialised it, kept verbatim so its encoding is not rewritten. */
  raw: string;
  key: string;
  value: string;
}

/** Splits a query into its `&` segments, decoding each only to decide and to sort, never to re-encode. */
function queryPairs(search: string): QueryPair[] {
  const pairs: QueryPair[] = [];
  for (const raw of search.replace(/^\?/, '').split('&')) {
    if (raw === '') continue;
    // One segment through URLSearchParams: lenient decoding (+ as space, bad escapes kept).
    const decoded = [...new URLSearchParams(raw)][0] ?? ['', ''];
    pairs.push({ raw, key: decoded[0], value: decoded[1] });
  }
  return pairs;
}

function parseHttp(url: string): URL | null {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.hostname === '') return null;
  return u;
}

function setQuery(u: URL, pairs: QueryPair[]): void {
  // Assigning '' also drops a lone '?'.
  u.search = pairs.length > 0 ? `?${pairs.map((p) => p.raw).join('&')}` : '';
}

/**
 * The article URL with tracking parameters removed (what the API shows); fragment and the order of
 * the other parameters kept. Null for anything that is not an absolute http(s) URL.
 */
export function stripTrackingParams(url: string): string | null {
  const u = parseHttp(url);
  if (!u) return null;
  setQuery(u, queryPairs(u.search).filter((p) => !isTrackingParam(p.key)));
  return u.href;
}

/**
 * The identity form of an article URL: WHATWG-normalised (lower-case scheme and host, punycode,
 * no default port, empty path as '/'), no fragment, no tracking parameters, the rest sorted by key
 * then value (stable). Path case is kept: servers treat it as significant. Null when not http(s).
 */
export function canonicalUrl(url: string): string | null {
  const u = parseHttp(url);
  if (!u) return null;
  u.hash = '';
  const kept = queryPairs(u.search).filter((p) => !isTrackingParam(p.key));
  // Array.prototype.sort is stable, so equal key and value keep document order.
  kept.sort((a, b) => compare(a.key, b.key) || compare(a.value, b.value));
  setQuery(u, kept);
  return u.href;
}

/** Code-unit order: independent of the locale the process runs in. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
