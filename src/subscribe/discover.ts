/**
 * Feed autodiscovery: the feeds a web page advertises with
 * `<link rel="alternate" type="application/rss+xml" href="…">` (and Atom, JSON Feed), in document
 * order, made absolute against the page's `<base href>` or its own URL.
 *
 * htmlparser2 reads the page: it decodes attribute entities and copes with the tag soup real
 * pages are made of, which a regular expression over the markup would not.
 */
import { Parser } from 'htmlparser2';

/** Media types that announce a feed; `application/json` is what many JSON Feed publishers write. */
const FEED_TYPES = new Set([
  'application/rss+xml',
  'application/atom+xml',
  'application/feed+json',
  'application/json',
  'application/rdf+xml',
]);

export interface AdvertisedFeed {
  url: string;
  type: string;
  title: string | null;
}

export function advertisedFeeds(html: string, pageUrl: string): AdvertisedFeed[] {
  let base = pageUrl;
  let baseSeen = false;
  const links: { href: string; type: string; title: string | null }[] = [];
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'base' && !baseSeen && attrs.href !== undefined) {
          // Only the first <base> counts, as in a browser.
          baseSeen = true;
          const resolved = absolute(attrs.href, pageUrl);
          if (resolved !== null) base = resolved;
          return;
        }
        if (name !== 'link' || attrs.href === undefined) return;
        const rel = (attrs.rel ?? '').toLowerCase().split(/\s+/);
        const type = (attrs.type ?? '').split(';')[0]!.trim().toLowerCase();
        if (rel.includes('alternate') && FEED_TYPES.has(type)) {
          links.push({ href: attrs.href, type, title: attrs.title?.trim() || null });
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);

  // Relative hrefs resolve against the base in force for the whole document.
  const seen = new Set<string>();
  const feeds: AdvertisedFeed[] = [];
  for (const l of links) {
    const url = absolute(l.href, base);
    if (url === null || seen.has(url)) continue;
    seen.add(url);
    feeds.push({ url, type: l.type, title: l.title });
  }
  return feeds;
}

function absolute(href: string, base: string): string | null {
  try {
    const u = new URL(href.trim(), base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}
