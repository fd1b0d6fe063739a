import type { NormalisedItem } from '../../src/parse/types.ts';

/** A normalised item with every field empty, overridden by `over`. */
export function emptyItem(over: Partial<NormalisedItem> = {}): NormalisedItem {
  return {
    guid: null,
    url: null,
    title: null,
    published: null,
    updated: null,
    author: null,
    categories: [],
    enclosures: [],
    summary: null,
    content_html: null,
    ...over,
  };
}
