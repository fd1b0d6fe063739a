import type { EntryWithSources } from '../../store/entry-queries.ts';
import { entryTagId, entryUpdated, storyOutlets, type FeedDocument, type StoryOutlet } from './model.ts';
import { alsoReportedBy, description } from './rss.ts';
import { escapeXml, rfc3339, safeHttpUrl, validDate } from './xml.ts';

/** Atom 1.0 (RFC 4287). */
export function renderAtom(doc: FeedDocument): string {
  const updated = doc.entries.map((e) => validDate(entryUpdated(e))).find((d) => d !== null) ?? doc.generatedAt;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `<id>${escapeXml(doc.selfUrl)}</id>`,
    `<title type="text">${escapeXml(doc.title)}</title>`,
    `<subtitle type="text">${escapeXml(doc.description)}</subtitle>`,
    `<updated>${rfc3339(latest(updated, doc.entries))}</updated>`,
    `<link rel="self" type="application/atom+xml" href="${escapeXml(doc.selfUrl)}"/>`,
    ...(doc.hubUrl ? [`<link rel="hub" href="${escapeXml(doc.hubUrl)}"/>`] : []),
    `<link rel="alternate" type="text/html" href="${escapeXml(doc.homeUrl)}"/>`,
    '<generator>Tributary</generator>',
  ];
  for (const e of doc.entries) out.push(renderEntry(e, doc.otherReports && storyOutlets(doc.otherReports.get(e.id))));
  out.push('</feed>', '');
  return out.join('\n');
}

/** The feed's updated is the latest of its entries' updated values (entries are sorted by sort_at, not updated). */
function latest(fallback: Date, entries: EntryWithSources[]): Date {
  let max = fallback;
  for (const e of entries) {
    const d = validDate(entryUpdated(e));
    if (d && d > max) max = d;
  }
  return max;
}

/** `outlets`: the story's other reports when collapsed (`?collapse=story`), else undefined. */
function renderEntry(e: EntryWithSources, outlets?: StoryOutlet[]): string {
  const parts: string[] = ['<entry>'];
  parts.push(`<id>${escapeXml(entryTagId(e))}</id>`);
  parts.push(`<title type="text">${escapeXml(e.title ?? '(untitled)')}</title>`);
  const link = safeHttpUrl(e.url);
  if (link) parts.push(`<link rel="alternate" type="text/html" href="${escapeXml(link)}"/>`);
  // A collapsed story's other outlets, one related link each (RFC 4287 allows any number).
  for (const o of outlets ?? []) {
    if (o.url) parts.push(`<link rel="related" type="text/html" href="${escapeXml(o.url)}"/>`);
  }
  const published = validDate(e.published_at) ?? validDate(e.sort_at) ?? new Date(0);
  const updated = validDate(entryUpdated(e)) ?? published;
  parts.push(`<updated>${rfc3339(updated)}</updated>`);
  parts.push(`<published>${rfc3339(published)}</published>`);
  // atom:author is required when the feed has none; fall back to the source feed's name.
  const author = e.author || e.sources[0]?.feed_title || 'Unknown';
  parts.push(`<author><name>${escapeXml(author)}</name></author>`);
  for (const c of e.categories) parts.push(`<category term="${escapeXml(c)}"/>`);
  for (const enc of e.enclosures) {
    const href = safeHttpUrl(enc.url);
    if (!href) continue;
    const length = Number.isSafeInteger(enc.length) && enc.length! > 0 ? ` length="${enc.length}"` : '';
    const type = enc.type ? ` type="${escapeXml(enc.type)}"` : '';
    parts.push(`<link rel="enclosure" href="${escapeXml(href)}"${type}${length}/>`);
  }
  if (e.summary) parts.push(`<summary type="text">${escapeXml(e.summary)}</summary>`);
  parts.push(`<content type="html">${escapeXml(description(e) + alsoReportedBy(outlets))}</content>`);
  const src = e.sources.find((s) => safeHttpUrl(s.feed_url));
  if (src) {
    const site = safeHttpUrl(src.site_url);
    parts.push(
      '<source>',
      `<id>${escapeXml(safeHttpUrl(src.feed_url))}</id>`,
      `<title type="text">${escapeXml(src.feed_title ?? src.feed_url)}</title>`,
      `<link rel="self" href="${escapeXml(safeHttpUrl(src.feed_url))}"/>`,
      ...(site ? [`<link rel="alternate" type="text/html" href="${escapeXml(site)}"/>`] : []),
      '</source>',
    );
  }
  parts.push('</entry>');
  return parts.join('\n');
}
