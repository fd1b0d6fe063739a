/**
 * JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) → RawFeed. Checked by hand and leniently:
 * every field is optional and a field of the wrong type is ignored, not fatal.
 */
import type { RawEnclosure, RawFeed, RawItem, RawText } from './normalise.ts';
import { FeedParseError } from './types.ts';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Parses JSON text that should be a JSON Feed; throws FeedParseError otherwise. */
export function parseJsonFeed(text: string): RawFeed {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new FeedParseError(`not a feed (invalid JSON: ${(err as Error).message})`);
  }
  if (!isObject(doc) || !str(doc.version)?.includes('jsonfeed.org')) {
    throw new FeedParseError('not a feed (JSON without a jsonfeed.org version)');
  }
  const feedAuthors = authors(doc);
  const title = str(doc.title);
  return {
    format: 'jsonfeed',
    base: null,
    title: title !== null ? { value: title, kind: 'text' } : null,
    link: str(doc.home_page_url),
    // WebSub discovery: JSON Feed's hubs array (type "WebSub") and feed_url as the topic.
    hub: jsonHub(doc.hubs),
    self: str(doc.feed_url),
    language: str(doc.language),
    ttlSeconds: null,
    items: list(doc.items).filter(isObject).map((item) => jsonItem(item, feedAuthors)),
  };
}

function jsonHub(hubs: unknown): string | null {
  const all = list(hubs).filter(isObject);
  const hub = all.find((h) => str(h.type)?.toLowerCase() === 'websub') ?? all.find((h) => str(h.type) === null);
  return hub ? str(hub.url) : null;
}

function jsonItem(item: Json, feedAuthors: RawText[]): RawItem {
  const id = item.id;
  const title = str(item.title);
  const html = str(item.content_html);
  const plain = str(item.content_text);
  const summary = str(item.summary);
  const itemAuthors = authors(item);
  return {
    base: null,
    // 1.0 allowed numbers here; an id is a string to everyone downstream.
    guid: typeof id === 'string' ? id : typeof id === 'number' && Number.isFinite(id) ? String(id) : null,
    link: str(item.url) ?? str(item.external_url),
    title: title !== null ? { value: title, kind: 'text' } : null,
    published: str(item.date_published),
    updated: str(item.date_modified),
    authors: itemAuthors.length > 0 ? itemAuthors : feedAuthors,
    categories: list(item.tags).filter((t): t is string => typeof t === 'string').map((value) => ({ value, kind: 'text' as const })),
    enclosures: list(item.attachments).filter(isObject).map(
      (a): RawEnclosure => ({
        url: str(a.url),
        type: str(a.mime_type),
        length: typeof a.size_in_bytes === 'number' ? a.size_in_bytes : null,
      }),
    ),
    content: html !== null && html.trim() !== '' ? { value: html, kind: 'html' } : plain !== null ? { value: plain, kind: 'text' } : null,
    summary: summary !== null ? { value: summary, kind: 'text' } : null,
  };
}

/** 1.1 `authors` (array), else 1.0 `author` (object). Names are literal text, as the spec says of all strings. */
function authors(node: Json): RawText[] {
  const all = [...list(node.authors), node.author].filter(isObject);
  return all.flatMap((a): RawText[] => {
    const name = str(a.name);
    return name !== null ? [{ value: name, kind: 'text' }] : [];
  });
}
