import { createHash } from 'node:crypto';
import type { NormalisedItem } from '../parse/types.ts';
import { canonicalUrl } from './canonical-url.ts';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function present(s: string | null): s is string {
  return s !== null && s.trim() !== '';
}

/**
 * Identity of an item within its feed: the guid when there is one, else the canonical link, else
 * title and date; an item with none of those is known only by its content. Tracking parameters
 * are part of neither the guid nor the canonical link, so re-tagged links keep their identity.
 */
export function itemKey(item: NormalisedItem): string {
  if (present(item.guid)) return sha256(`g:${item.guid.trim()}`);
  if (present(item.url)) return sha256(`u:${canonicalUrl(item.url) ?? item.url.trim()}`);
  if (present(item.title)) return sha256(`h:${item.title}|${item.published ?? ''}`);
  return sha256(`c:${item.content_html ?? item.summary ?? ''}`);
}

/**
 * Item keys for one document in order. A key repeated in the document (a recycled guid, two items
 * with one link) stays with its first item; later ones get `key#2`, `key#3`, … so each still becomes
 * its own item, as Miniflux does. Hex keys never contain '#', so these cannot collide with real ones.
 * `taken`: keys held by items of the document that are not in `items` (unchanged since the last
 * poll, not normalised again).
 */
export function assignItemKeys(items: readonly NormalisedItem[], taken: Iterable<{ keyPrefix: string; n: number }> = []): string[] {
  // By the key's first 12 hex digits: the `taken` keys of items not normalised again are kept that
  // short (item-digests.ts). They take their numbers first; the others get the next free ones.
  const used = new Map<string, Set<number>>();
  const use = (prefix: string, n: number) => {
    const set = used.get(prefix);
    if (set) set.add(n);
    else used.set(prefix, new Set([n]));
  };
  for (const t of taken) use(t.keyPrefix, t.n);
  return items.map((item) => {
    const key = itemKey(item);
    const prefix = key.slice(0, 12);
    const set = used.get(prefix);
    let n = 1;
    while (set?.has(n)) n++;
    use(prefix, n);
    return n === 1 ? key : `${key}#${n}`;
  });
}

/**
 * Fingerprint of everything whose change means "the item was edited". A fixed-order array, not an
 * object, so the JSON (and the hash) cannot depend on property order.
 */
export function contentHash(item: NormalisedItem): string {
  return sha256(
    JSON.stringify([
      item.title,
      item.url,
      item.author,
      item.summary,
      item.content_html,
      item.categories,
      item.enclosures.map((e) => [e.url, e.type, e.length]),
      item.updated,
    ]),
  );
}
