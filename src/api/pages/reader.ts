import type { EntryFilter, EntryWithSources, FeedOption } from '../../store/entry-queries.ts';
import { safeHttpUrl } from '../output/xml.ts';
import { html, type SafeHtml } from './html.ts';

export interface ReaderView {
  entries: EntryWithSources[];
  filter: EntryFilter;
  feeds: FeedOption[];
  regions: string[];
  /** Query string (with leading `?`) of the filters, for feed autodiscovery links. */
  filterQuery: string;
  /** Href of the next (older) page, or null on the last page. */
  olderHref: string | null;
  /** Whether this is a later page (shows a link back to the newest entries). */
  paged: boolean;
}

const SUMMARY_CHARS = 320;

/** The reader page: server-rendered, works without JavaScript (a plain GET form). */
export function renderReaderPage(v: ReaderView): string {
  const f = v.filter;
  const selectedFeed = f.feedIds?.length === 1 ? f.feedIds[0] : undefined;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tributary${f.q ? ` — ${f.q}` : ''}</title>
<link rel="stylesheet" href="/assets/reader.css">
<link rel="alternate" type="application/rss+xml" title="Tributary (RSS)" href="${`/feed.xml${v.filterQuery}`}">
<link rel="alternate" type="application/atom+xml" title="Tributary (Atom)" href="${`/feed.atom${v.filterQuery}`}">
<link rel="alternate" type="application/feed+json" title="Tributary (JSON Feed)" href="${`/feed.json${v.filterQuery}`}">
</head>
<body>
<header>
<h1><a href="/">Tributary</a></h1>
<form method="get" action="/" role="search">
<label class="grow">Search <input type="search" name="q" value="${f.q ?? ''}" maxlength="500" placeholder="Words, &quot;a phrase&quot;, -exclude"></label>
<label>Region <select name="region">
<option value="">All regions</option>
${v.regions.map((r) => html`<option value="${r}"${sel(r.toLowerCase() === f.region?.toLowerCase())}>${r}</option>`)}
</select></label>
<label>Feed <select name="feed">
<option value="">All feeds</option>
${v.feeds.map((feed) => html`<option value="${feed.id}"${sel(feed.id === selectedFeed)}>${feed.title}</option>`)}
</select></label>
<button type="submit">Show</button>
</form>
<p class="feeds">Subscribe: <a href="${`/feed.xml${v.filterQuery}`}">RSS</a> · <a href="${`/feed.atom${v.filterQuery}`}">Atom</a> · <a href="${`/feed.json${v.filterQuery}`}">JSON Feed</a></p>
</header>
<main>
${v.entries.length === 0 ? html`<p class="empty">No entries match.</p>` : html`<ol class="entries">${v.entries.map(renderEntry)}</ol>`}
<nav class="pages">
${v.paged ? html`<a href="${`/${v.filterQuery}`}">Newest</a>` : ''}
${v.olderHref ? html`<a rel="next" href="${v.olderHref}">Older</a>` : ''}
</nav>
</main>
</body>
</html>
`;
  return page.value;
}

function sel(selected: boolean): SafeHtml {
  return html`${selected ? html` selected` : ''}`;
}

function renderEntry(e: EntryWithSources): SafeHtml {
  const href = safeHttpUrl(e.url);
  const title = e.title || '(untitled)';
  const when = e.published_at ?? e.sort_at;
  const summary = e.summary && e.summary.length > SUMMARY_CHARS ? `${e.summary.slice(0, SUMMARY_CHARS).trimEnd()}…` : e.summary;
  return html`<li class="entry"${e.language ? html` lang="${e.language}"` : ''}>
<h2 dir="auto">${href ? html`<a href="${href}" rel="noopener noreferrer nofollow">${title}</a>` : title}</h2>
<p class="meta"><span class="sources">${e.sources.map((s, i) => html`${i > 0 ? ', ' : ''}<span class="source">${s.feed_title || s.feed_url}</span>`)}</span>
· <time datetime="${when.toISOString()}">${formatTime(when)}</time></p>
${summary ? html`<p class="summary" dir="auto">${summary}</p>` : ''}
</li>
`;
}

function formatTime(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
