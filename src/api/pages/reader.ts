import type { EntryFilter, EntryWithSources, FeedOption } from '../../store/entry-queries.ts';
import type { StoryReport } from '../../store/stories-read.ts';
import { storyOutlets } from '../output/model.ts';
import { safeHttpUrl } from '../output/xml.ts';
import { filterQuery } from '../public-url.ts';
import { html, type SafeHtml } from './html.ts';
import { renderEntryMeta } from './entry-meta.ts';
import { renderPage } from './layout.ts';

export interface ReaderView {
  entries: EntryWithSources[];
  filter: EntryFilter;
  feeds: FeedOption[];
  regions: string[];
  /** Query string (with leading `?`) of the filters, for feed autodiscovery links. */
  filterQuery: string;
  /** Href of the page of newer entries, or null on the first page. */
  newerHref: string | null;
  /** Href of the next (older) page, or null on the last page. */
  olderHref: string | null;
  /** Whether this is a later page (shows a link back to the newest entries). */
  paged: boolean;
  /** `?collapse=story`: each entry stands for its story; the other reports by entry id. */
  otherReports?: ReadonlyMap<number, StoryReport[]> | undefined;
}

const SUMMARY_CHARS = 320;

/** The reader page: server-rendered, works without JavaScript (a plain GET form). */
export function renderReaderPage(v: ReaderView): string {
  const f = v.filter;
  const selectedFeed = f.feedIds?.length === 1 ? f.feedIds[0] : undefined;
  // The first page counts what arrives after it (live.js); later pages are history.
  const live = v.paged ? html`` : html`<script src="/assets/live.js" defer></script>
`;
  const head = html`${live}<link rel="alternate" type="application/rss+xml" title="Tributary (RSS)" href="${`/feed.xml${v.filterQuery}`}">
<link rel="alternate" type="application/atom+xml" title="Tributary (Atom)" href="${`/feed.atom${v.filterQuery}`}">
<link rel="alternate" type="application/feed+json" title="Tributary (JSON Feed)" href="${`/feed.json${v.filterQuery}`}">
`;
  const header = html`<form method="get" action="/" role="search">
<label class="grow">Search <input type="search" name="q" value="${f.q ?? ''}" maxlength="500" placeholder="Words, &quot;a phrase&quot;, -exclude"></label>
<label>Region <select name="region">
<option value="">All regions</option>
${v.regions.map((r) => html`<option value="${r}"${sel(r.toLowerCase() === f.region?.toLowerCase())}>${r}</option>`)}
</select></label>
<label>Feed <select name="feed">
<option value="">All feeds</option>
${v.feeds.map((feed) => html`<option value="${feed.id}"${sel(feed.id === selectedFeed)}>${feed.title}</option>`)}
</select></label>
<label class="check"><input type="checkbox" name="collapse" value="story"${f.collapse === 'story' ? html` checked` : ''}> One per story</label>
<button type="submit">Show</button>
</form>
<p class="feeds">Subscribe: <a href="${`/feed.xml${v.filterQuery}`}">RSS</a> · <a href="${`/feed.atom${v.filterQuery}`}">Atom</a> · <a href="${`/feed.json${v.filterQuery}`}">JSON Feed</a></p>
`;
  // The stream sends entries, not stories: it takes the filters without collapse (which it refuses).
  const notice = v.paged ? '' : html`<p class="live" id="live" data-stream="${`/api/stream${filterQuery({ ...v.filter, collapse: undefined })}`}" hidden><a href="${`/${v.filterQuery}`}">New items</a></p>
`;
  const main = html`${notice}${v.entries.length === 0 ? html`<p class="empty">No entries match.</p>` : html`<ol class="entries">${v.entries.map((e) => renderEntry(e, v.otherReports?.get(e.id), v.otherReports !== undefined))}</ol>`}
<nav class="pages">
${v.paged ? html`<a href="${`/${v.filterQuery}`}">Newest</a>` : ''}
${v.newerHref ? html`<a rel="prev" href="${v.newerHref}">Newer</a>` : ''}
${v.olderHref ? html`<a rel="next" href="${v.olderHref}">Older</a>` : ''}
</nav>`;
  return renderPage({ title: `Tributary${f.q ? ` — ${f.q}` : ''}`, head, header, main });
}

function sel(selected: boolean): SafeHtml {
  return html`${selected ? html` selected` : ''}`;
}

/** `collapsed`: the entry stands for its story; `others` are the story's other reports. */
function renderEntry(e: EntryWithSources, others: StoryReport[] | undefined, collapsed: boolean): SafeHtml {
  const href = safeHttpUrl(e.url);
  const title = e.title || '(untitled)';
  const summary = e.summary && e.summary.length > SUMMARY_CHARS ? `${e.summary.slice(0, SUMMARY_CHARS).trimEnd()}…` : e.summary;
  return html`<li class="entry" data-entry-id="${e.id}"${e.language ? html` lang="${e.language}"` : ''}>
<h2 dir="auto">${href ? html`<a href="${href}" rel="noopener noreferrer nofollow">${title}</a>` : title}</h2>
${renderEntryMeta(e, `/items/${e.id}`)}
${summary ? html`<p class="summary" dir="auto">${summary}</p>` : ''}
${collapsed ? renderOtherOutlets(e, others) : ''}
</li>
`;
}

/** Under a collapsed entry: who else reported it (headline links), and the story's own page. */
function renderOtherOutlets(e: EntryWithSources, others: StoryReport[] | undefined): SafeHtml {
  const outlets = storyOutlets(others);
  if (outlets.length === 0) return html``;
  return html`<p class="also">Also reported by ${outlets.map(
    (o, i) => html`${i > 0 ? ', ' : ''}${o.url ? html`<a href="${o.url}" rel="noopener noreferrer nofollow" title="${o.title ?? ''}"><bdi>${o.feedTitle}</bdi></a>` : html`<bdi>${o.feedTitle}</bdi>`}`,
  )} · <a href="${`/stories/${e.story_id}`}">All ${outlets.length + e.sources.length} reports</a></p>`;
}
