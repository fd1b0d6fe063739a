import type { EntryWithSources } from '../../store/entry-queries.ts';
import { html, type SafeHtml } from './html.ts';

/**
 * "Source A, Source B · 2024-05-01 12:30 UTC". Feed names are in any script, so each is isolated
 * (<bdi>), and the date is an isolated left-to-right run: without that, an Arabic name pulls the
 * digits into its right-to-left run and the line reads "19:11 30-11-2026 · شام نيوز UTC".
 * `itemHref` turns the date into a link to the entry's own page.
 */
export function renderEntryMeta(e: EntryWithSources, itemHref?: string): SafeHtml {
  const when = e.published_at ?? e.sort_at;
  const time = html`<time dir="ltr" datetime="${when.toISOString()}">${formatTime(when)}</time>`;
  return html`<p class="meta"><span class="sources">${e.sources.map((s, i) => html`${i > 0 ? ', ' : ''}<bdi class="source">${sourceName(s)}</bdi>`)}</span>
· ${itemHref ? html`<a class="permalink" href="${itemHref}">${time}</a>` : time}</p>`;
}

export function sourceName(s: { feed_title: string | null; feed_url: string }): string {
  return s.feed_title || s.feed_url;
}

export function formatTime(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
