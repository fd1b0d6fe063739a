import { escapeXmlAttribute } from '../xml/escape.ts';

/**
 * Writes the feed list as OPML 2.0, the format every reader imports. Feeds are grouped in one
 * folder outline per region, and each feed also carries its region as `category="/<region>"`,
 * so readers that ignore folders (and our own importer) keep it either way.
 */
import type { FeedRow } from '../store/feeds.ts';

export interface RenderOpmlOptions {
  title: string;
  now: Date;
}

type OpmlFeedRow = Pick<FeedRow, 'url' | 'title' | 'site_url' | 'region'>;

export function renderOpml(feeds: OpmlFeedRow[], opts: RenderOpmlOptions): string {
  const ungrouped: OpmlFeedRow[] = [];
  const byRegion = new Map<string, OpmlFeedRow[]>();
  for (const f of feeds) {
    if (f.region === null || f.region === '') {
      ungrouped.push(f);
    } else {
      const group = byRegion.get(f.region) ?? [];
      group.push(f);
      byRegion.set(f.region, group);
    }
  }

  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<opml version="2.0">',
    '  <head>',
    `    <title>${escapeXmlAttribute(opts.title)}</title>`,
    `    <dateCreated>${opts.now.toUTCString()}</dateCreated>`,
    '  </head>',
    '  <body>',
  ];
  const regions = [...byRegion.keys()].sort((a, b) => a.localeCompare(b));
  for (const region of regions) {
    lines.push(`    <outline text="${escapeXmlAttribute(region)}" title="${escapeXmlAttribute(region)}">`);
    for (const f of byRegion.get(region) ?? []) lines.push(`      ${feedOutline(f)}`);
    lines.push('    </outline>');
  }
  for (const f of ungrouped) lines.push(`    ${feedOutline(f)}`);
  lines.push('  </body>', '</opml>', '');
  return lines.join('\n');
}

function feedOutline(f: OpmlFeedRow): string {
  // `text` is required by OPML 2.0; a feed without a title shows its URL.
  const attrs: [string, string | null][] = [
    ['type', 'rss'],
    ['text', f.title ?? f.url],
    ['title', f.title],
    ['xmlUrl', f.url],
    ['htmlUrl', f.site_url],
    // A region with '/' or ',' would be cut up as a category path; the folder outline carries it whole.
    ['category', f.region && !/[/,]/.test(f.region) ? `/${f.region}` : null],
  ];
  const written = attrs.filter((a): a is [string, string] => a[1] !== null).map(([k, v]) => `${k}="${escapeXmlAttribute(v)}"`);
  return `<outline ${written.join(' ')}/>`;
}
