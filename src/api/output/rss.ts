import type { EntryWithSources } from '../../store/entry-queries.ts';
import { entryTagId, entryUpdated, sourceNames, storyOutlets, type FeedDocument, type StoryOutlet } from './model.ts';
import { escapeXml, rfc822, safeHttpUrl, validDate } from './xml.ts';

/** RSS 2.0 with atom:link rel="self"; guids are ours (isPermaLink="false"), so they never change with the URL. */
export function renderRss(doc: FeedDocument): string {
  const newest = doc.entries.map(entryUpdated).map((d) => validDate(d)).find((d) => d !== null) ?? doc.generatedAt;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">',
    '<channel>',
    `<title>${escapeXml(doc.title)}</title>`,
    `<link>${escapeXml(doc.homeUrl)}</link>`,
    `<description>${escapeXml(doc.description)}</description>`,
    `<atom:link href="${escapeXml(doc.selfUrl)}" rel="self" type="application/rss+xml"/>`,
    ...(doc.hubUrl ? [`<atom:link href="${escapeXml(doc.hubUrl)}" rel="hub"/>`] : []),
    `<lastBuildDate>${rfc822(newest)}</lastBuildDate>`,
    '<generator>Tributary</generator>',
    '<ttl>1</ttl>',
  ];
  for (const e of doc.entries) out.push(renderItem(e, doc.otherReports && storyOutlets(doc.otherReports.get(e.id))));
  out.push('</channel>', '</rss>', '');
  return out.join('\n');
}

/** `outlets`: the story's other reports when collapsed (`?collapse=story`), else undefined. */
function renderItem(e: EntryWithSources, outlets?: StoryOutlet[]): string {
  const parts: string[] = ['<item>'];
  parts.push(`<title>${escapeXml(e.title ?? '(untitled)')}</title>`);
  const link = safeHttpUrl(e.url);
  if (link) parts.push(`<link>${escapeXml(link)}</link>`);
  parts.push(`<guid isPermaLink="false">${escapeXml(entryTagId(e))}</guid>`);
  const published = validDate(e.published_at) ?? validDate(e.sort_at);
  if (published) parts.push(`<pubDate>${rfc822(published)}</pubDate>`);
  // RSS <author> must be an e-mail address; a name goes in dc:creator.
  if (e.author) parts.push(`<dc:creator>${escapeXml(e.author)}</dc:creator>`);
  for (const c of e.categories) parts.push(`<category>${escapeXml(c)}</category>`);
  parts.push(`<description>${escapeXml(description(e) + alsoReportedBy(outlets))}</description>`);
  // RSS allows one enclosure per item.
  const enclosure = e.enclosures.find((x) => safeHttpUrl(x.url));
  if (enclosure) {
    parts.push(
      `<enclosure url="${escapeXml(safeHttpUrl(enclosure.url))}" length="${Number.isSafeInteger(enclosure.length) && enclosure.length! >= 0 ? enclosure.length : 0}" type="${escapeXml(enclosure.type ?? 'application/octet-stream')}"/>`,
    );
  }
  // RSS allows one <source>: the first feed that carried the item; all are named in the description.
  const first = e.sources.find((s) => safeHttpUrl(s.feed_url));
  if (first) parts.push(`<source url="${escapeXml(safeHttpUrl(first.feed_url))}">${escapeXml(first.feed_title ?? first.feed_url)}</source>`);
  // A collapsed story's other outlets. Not as more <source> elements: RSS 2.0 describes one source
  // per item ("the RSS channel that the item came from") and feedparser keeps only the last one it
  // reads, which would credit the item to another outlet. They are listed in the description, and
  // each as an atom:link rel="related" (feedparser and rss-parser both expose these as links).
  for (const o of outlets ?? []) {
    if (o.url) parts.push(`<atom:link rel="related" type="text/html" href="${escapeXml(o.url)}"/>`);
  }
  parts.push('</item>');
  return parts.join('\n');
}

/** HTML body: the sanitised content (else the summary as text) followed by the names of all sources. */
export function description(e: EntryWithSources): string {
  const body = e.content_html ?? (e.summary ? `<p>${escapeHtmlText(e.summary)}</p>` : '');
  const names = sourceNames(e);
  const via = names.length > 0 ? `<p>Via: ${names.map(escapeHtmlText).join(', ')}</p>` : '';
  return `${body}${via}`;
}

/** The other outlets of a collapsed story, as HTML for a description or content. */
export function alsoReportedBy(outlets: readonly StoryOutlet[] | undefined): string {
  if (!outlets || outlets.length === 0) return '';
  const items = outlets.map((o) => {
    const name = escapeHtmlText(o.feedTitle);
    const title = o.title ? `: ${escapeHtmlText(o.title)}` : '';
    return o.url ? `<li><a href="${escapeHtmlText(o.url)}">${name}</a>${title}</li>` : `<li>${name}${title}</li>`;
  });
  return `<p>Also reported by:</p><ul>${items.join('')}</ul>`;
}

function escapeHtmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
