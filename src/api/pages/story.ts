import type { StoryWithItems } from '../../store/stories-read.ts';
import { safeHttpUrl } from '../output/xml.ts';
import { html } from './html.ts';
import { renderEntryMeta } from './entry-meta.ts';
import { renderPage } from './layout.ts';

/**
 * One story: every report of the event, earliest first, each with its headline linking to the
 * article, the outlets that carried it and a link to the entry's own page. No script, like every
 * reader page; headlines and names are escaped by `html`.
 */
export function renderStoryPage(s: StoryWithItems): string {
  const first = s.items[0];
  const title = first?.title || '(untitled)';
  const outlets = new Set(s.items.flatMap((e) => e.sources.map((src) => src.feed_id))).size;
  const main = html`<article class="story"${first?.language ? html` lang="${first.language}"` : ''}>
<h2 dir="auto">${title}</h2>
<p class="meta">${s.items.length} ${s.items.length === 1 ? 'report' : 'reports'} from ${outlets} ${outlets === 1 ? 'outlet' : 'outlets'}</p>
<ol class="story-reports">
${s.items.map((e) => {
  const href = safeHttpUrl(e.url);
  const headline = e.title || '(untitled)';
  return html`<li${e.language ? html` lang="${e.language}"` : ''}><span dir="auto">${href ? html`<a href="${href}" rel="noopener noreferrer nofollow">${headline}</a>` : headline}</span>
${renderEntryMeta(e, `/items/${e.id}`)}</li>
`;
})}</ol>
</article>
<nav class="pages"><a href="/?collapse=story">All stories</a></nav>`;
  return renderPage({ title: `${title} — Tributary`, main });
}

export function renderStoryNotFoundPage(): string {
  return renderPage({
    title: 'Not found — Tributary',
    main: html`<p class="empty">No such story: it may have been removed by retention or with its feeds.</p>
<nav class="pages"><a href="/?collapse=story">All stories</a></nav>`,
  });
}
