import type { EntryWithSources } from '../../store/entry-queries.ts';
import { entryTagId, storyOutlets, type FeedDocument, type StoryOutlet } from './model.ts';
import { rfc3339, safeHttpUrl, stripIllegalXml, validDate } from './xml.ts';

/** JSON Feed 1.1 (https://jsonfeed.org/version/1.1) with a `_tributary` extension naming every source. */
export function renderJsonFeed(doc: FeedDocument): string {
  const feed = {
    version: 'https://jsonfeed.org/version/1.1',
    title: doc.title,
    description: doc.description,
    home_page_url: doc.homeUrl,
    feed_url: doc.selfUrl,
    ...(doc.hubUrl ? { hubs: [{ type: 'WebSub', url: doc.hubUrl }] } : {}),
    items: doc.entries.map((e) => renderItem(e, doc.otherReports && storyOutlets(doc.otherReports.get(e.id)))),
  };
  return toSafeJson(feed);
}

/** `outlets`: the story's other reports when collapsed (`?collapse=story`), else undefined. */
function renderItem(e: EntryWithSources, outlets?: StoryOutlet[]) {
  const published = validDate(e.published_at);
  const modified = validDate(e.updated_at);
  const summary = e.summary ? text(e.summary) : null;
  const content = e.content_html;
  return {
    id: entryTagId(e),
    ...opt('url', safeHttpUrl(e.url)),
    ...opt('title', e.title ? text(e.title) : null),
    // JSON Feed requires content_html or content_text.
    ...(content ? { content_html: content } : { content_text: summary ?? '' }),
    ...opt('summary', summary),
    ...opt('date_published', published ? rfc3339(published) : null),
    ...opt('date_modified', modified ? rfc3339(modified) : null),
    ...(e.author ? { authors: [{ name: text(e.author) }] } : {}),
    ...(e.categories.length > 0 ? { tags: e.categories.map(text) } : {}),
    ...attachments(e),
    ...opt('language', e.language),
    _tributary: {
      story_id: Number(e.story_id),
      // Collapsed: every outlet of the story, this item's feeds first, then the other reports'
      // (each with its own headline and date).
      sources: [
        ...e.sources.map((s) => ({
          feed_id: s.feed_id,
          feed_title: s.feed_title,
          feed_url: safeHttpUrl(s.feed_url),
          url: safeHttpUrl(s.url),
        })),
        ...(outlets ?? []).map((o) => ({
          feed_id: o.feedId,
          feed_title: o.feedTitle,
          feed_url: o.feedUrl,
          url: o.url,
          item_id: o.entryId,
          title: o.title === null ? null : text(o.title),
          date_published: rfc3339(o.published),
        })),
      ],
    },
  };
}

function attachments(e: EntryWithSources) {
  const list = e.enclosures.flatMap((a) => {
    const url = safeHttpUrl(a.url);
    if (!url) return [];
    return [{ url, mime_type: a.type ?? 'application/octet-stream', ...(Number.isSafeInteger(a.length) && a.length! > 0 ? { size_in_bytes: a.length } : {}) }];
  });
  return list.length > 0 ? { attachments: list } : {};
}

function opt<K extends string, V>(key: K, value: V | null | undefined): Partial<Record<K, V>> {
  return value == null ? {} : ({ [key]: value } as Record<K, V>);
}

/** Lone surrogates would make invalid UTF-8; the same cleaning as XML keeps the three formats alike. */
function text(s: string): string {
  return stripIllegalXml(s);
}

/** JSON with <, > and & escaped, so a body sniffed as HTML can never carry live markup. */
export function toSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
