import type { EntryWithSources } from '../../store/entry-queries.ts';
import { safeHttpUrl } from '../output/xml.ts';
import { html, SafeHtml } from './html.ts';
import { renderEntryMeta, sourceName } from './entry-meta.ts';
import { renderPage } from './layout.ts';

/**
 * One entry: its content and every feed that carried it, each linking to the article as that feed
 * gave it (else to the feed's site, else the feed). content_html was sanitised when the feed was
 * parsed (src/parse/sanitize.ts) and is served as stored, like /api/items does.
 */
export function renderItemPage(e: EntryWithSources): string {
  const href = safeHttpUrl(e.url);
  const title = e.title || '(untitled)';
  const body = e.content_html
    ? html`<div class="content" dir="auto">${new SafeHtml(e.content_html)}</div>`
    : e.summary
      ? html`<p class="summary" dir="auto">${e.summary}</p>`
      : '';
  const main = html`<article class="item"${e.language ? html` lang="${e.language}"` : ''}>
<h2 dir="auto">${href ? html`<a href="${href}" rel="noopener noreferrer nofollow">${title}</a>` : title}</h2>
${renderEntryMeta(e)}
${e.author ? html`<p class="author" dir="auto">${e.author}</p>` : ''}
${body}
<section class="item-sources">
<h3>Sources</h3>
<ul>
${e.sources.map((s) => {
  const link = safeHttpUrl(s.url) ?? safeHttpUrl(s.site_url) ?? safeHttpUrl(s.feed_url);
  const name = html`<bdi>${sourceName(s)}</bdi>`;
  return html`<li>${link ? html`<a href="${link}" rel="noopener noreferrer nofollow">${name}</a>` : name}</li>\n`;
})}</ul>
</section>
</article>
<nav class="pages"><a href="/">All entries</a></nav>`;
  return renderPage({ title: `${title} — Tributary`, main });
}

/** The page for an id that names no entry (unknown, deleted, or not an id at all). */
export function renderItemNotFoundPage(): string {
  return renderPage({
    title: 'Not found — Tributary',
    main: html`<p class="empty">No such entry: it may have been removed by retention or with its feed.</p>
<nav class="pages"><a href="/">All entries</a></nav>`,
  });
}
