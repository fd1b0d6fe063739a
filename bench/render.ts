import { article, formatOf, langOf, syndicatedFrom, type Article, type ArticleClock, type FeedFormat } from './content.ts';

/** Everything needed to render one feed document at its current length. */
export interface FeedSpec {
  index: number;
  feedCount: number;
  /** Items published so far; the document lists the newest `window` of them. */
  published: number;
  window: number;
  selfUrl: string;
  clock: ArticleClock;
}

export const CONTENT_TYPES: Record<FeedFormat, string> = {
  rss2: 'application/rss+xml; charset=UTF-8',
  atom: 'application/atom+xml; charset=utf-8',
  rss1: 'application/rdf+xml; charset=utf-8',
  json: 'application/feed+json; charset=utf-8',
};

export function siteOrigin(feed: number): string {
  return `https://news-${feed}.example`;
}

interface RenderedItem extends Article {
  guid: string;
}

/** Item k as feed `feed` lists it: its own article, or a syndicated copy with tracking parameters. */
function itemOf(spec: FeedSpec, k: number): RenderedItem {
  const source = syndicatedFrom(spec.index, k, spec.feedCount);
  const origin = siteOrigin(spec.index);
  const guid = `${origin}/?p=${100000 + k}`;
  if (source === null) return { ...article(spec.index, k, origin, spec.clock), guid };
  const original = article(source, k, siteOrigin(source), spec.clock);
  return {
    ...original,
    link: `${original.link}?utm_source=news-${spec.index}&utm_medium=rss&utm_campaign=syndication`,
    guid,
  };
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => XML_ESCAPES[c]!);
}

function cdata(s: string): string {
  return `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

function feedTitle(spec: FeedSpec): string {
  const names = { en: 'Daily Courier', it: 'Corriere della Città', fr: 'La Dépêche du Soir', ar: 'أخبار الفرات' };
  return `${names[langOf(spec.index)]} ${spec.index}`;
}

/** Renders the feed document (newest item first). */
export function renderFeed(spec: FeedSpec): string {
  const items: RenderedItem[] = [];
  for (let k = spec.published - 1; k >= Math.max(0, spec.published - spec.window); k--) items.push(itemOf(spec, k));
  const updated = items[0]?.published ?? new Date(spec.clock.start);
  switch (formatOf(spec.index)) {
    case 'rss2':
      return renderRss2(spec, items, updated);
    case 'atom':
      return renderAtom(spec, items, updated);
    case 'rss1':
      return renderRss1(spec, items, updated);
    case 'json':
      return renderJson(spec, items);
  }
}

function renderRss2(spec: FeedSpec, items: RenderedItem[], updated: Date): string {
  const origin = siteOrigin(spec.index);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"' +
      ' xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"' +
      ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">',
    `<channel><title>${esc(feedTitle(spec))}</title>`,
    `<atom:link href="${esc(spec.selfUrl)}" rel="self" type="application/rss+xml" />`,
    `<link>${origin}/</link><description>Notizie, actualités, أخبار</description>`,
    `<lastBuildDate>${updated.toUTCString().replace('GMT', '+0000')}</lastBuildDate>`,
    `<language>${langOf(spec.index)}</language><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>1</sy:updateFrequency>`,
    '<generator>https://wordpress.org/?v=6.5.2</generator>',
  ];
  for (const it of items) {
    out.push(
      `<item><title>${esc(it.title)}</title><link>${esc(it.link)}</link>`,
      `<comments>${esc(it.link)}#respond</comments><dc:creator>${cdata(it.author)}</dc:creator>`,
      `<pubDate>${it.published.toUTCString().replace('GMT', '+0000')}</pubDate>`,
      ...it.categories.map((c) => `<category>${cdata(c)}</category>`),
      `<guid isPermaLink="false">${esc(it.guid)}</guid>`,
      `<description>${cdata(it.summary + ' [&#8230;]')}</description>`,
      `<content:encoded>${cdata(it.html)}</content:encoded></item>`,
    );
  }
  out.push('</channel></rss>');
  return out.join('\n');
}

function renderAtom(spec: FeedSpec, items: RenderedItem[], updated: Date): string {
  const origin = siteOrigin(spec.index);
  const out = [
    `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="${langOf(spec.index)}">`,
    `<title>${esc(feedTitle(spec))}</title><id>${origin}/</id><updated>${updated.toISOString()}</updated>`,
    `<link rel="alternate" type="text/html" href="${origin}/"/><link rel="self" href="${esc(spec.selfUrl)}"/>`,
  ];
  for (const it of items) {
    out.push(
      `<entry><title type="html">${esc(it.title)}</title>`,
      `<link rel="alternate" type="text/html" href="${esc(it.link)}"/><id>${esc(it.guid)}</id>`,
      `<published>${it.published.toISOString()}</published><updated>${it.published.toISOString()}</updated>`,
      `<author><name>${esc(it.author)}</name></author>`,
      ...it.categories.map((c) => `<category term="${esc(c)}"/>`),
      `<summary type="html">${esc(it.summary)}</summary>`,
      `<content type="html">${esc(it.html)}</content></entry>`,
    );
  }
  out.push('</feed>');
  return out.join('\n');
}

/** RSS 1.0 has no guid: rdf:about (the link) is the identity, so syndicated copies differ by their tracking link. */
function renderRss1(spec: FeedSpec, items: RenderedItem[], updated: Date): string {
  const origin = siteOrigin(spec.index);
  const out = [
    '<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"' +
      ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"' +
      ' xmlns:content="http://purl.org/rss/1.0/modules/content/">',
    `<channel rdf:about="${esc(spec.selfUrl)}"><title>${esc(feedTitle(spec))}</title><link>${origin}/</link>`,
    `<description>RSS 1.0</description><dc:date>${updated.toISOString()}</dc:date><items><rdf:Seq>`,
    ...items.map((it) => `<rdf:li rdf:resource="${esc(it.link)}"/>`),
    '</rdf:Seq></items></channel>',
  ];
  for (const it of items) {
    out.push(
      `<item rdf:about="${esc(it.link)}"><title>${esc(it.title)}</title><link>${esc(it.link)}</link>`,
      `<description>${esc(it.summary)}</description><dc:date>${it.published.toISOString()}</dc:date>`,
      `<dc:creator>${esc(it.author)}</dc:creator><dc:subject>${esc(it.categories[0]!)}</dc:subject>`,
      `<content:encoded>${cdata(it.html)}</content:encoded></item>`,
    );
  }
  out.push('</rdf:RDF>');
  return out.join('\n');
}

function renderJson(spec: FeedSpec, items: RenderedItem[]): string {
  return JSON.stringify({
    version: 'https://jsonfeed.org/version/1.1',
    title: feedTitle(spec),
    home_page_url: `${siteOrigin(spec.index)}/`,
    feed_url: spec.selfUrl,
    language: langOf(spec.index),
    items: items.map((it) => ({
      id: it.guid,
      url: it.link,
      title: it.title,
      summary: it.summary,
      content_html: it.html,
      date_published: it.published.toISOString(),
      authors: [{ name: it.author }],
      tags: it.categories,
    })),
  });
}
