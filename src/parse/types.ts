/** The one normalised shape every feed format is turned into (the JSON `tributary parse` prints). */
export type FeedFormat = 'rss2' | 'rss1' | 'rss09' | 'atom1' | 'atom03' | 'jsonfeed';

export interface Enclosure {
  url: string;
  type: string | null;
  length: number | null;
}

export interface NormalisedItem {
  guid: string | null;
  /** Absolute article URL as the feed gave it (tracking parameters kept; dedupe strips them). */
  url: string | null;
  /** Plain text, whitespace collapsed. */
  title: string | null;
  /** UTC ISO-8601 (`2024-05-01T10:00:00.000Z`) or null when absent or unparseable. */
  published: string | null;
  updated: string | null;
  author: string | null;
  categories: string[];
  enclosures: Enclosure[];
  /** Plain text. */
  summary: string | null;
  /** Sanitised HTML with absolute URLs. */
  content_html: string | null;
}

export interface FeedMeta {
  title: string | null;
  link: string | null;
  language: string | null;
  /** Refresh hints from the document: RSS <ttl>, sy:updatePeriod/updateFrequency; seconds, or null. */
  ttl_seconds: number | null;
  /** Present when the document advertises a WebSub hub and its own topic URL (rel="hub" + rel="self"). */
  websub?: { hub: string; self: string };
}

export interface ParsedFeed {
  format: FeedFormat;
  feed: FeedMeta;
  items: NormalisedItem[];
  /**
   * Only when parsing was given the digests of the feed's last document (ParseOptions.knownItems):
   * the raw digest of each of `items`, in order, and the items left out because their raw form is
   * one of the known digests (not normalised again).
   */
  digests?: { items: string[]; unchanged: UnchangedItem[] };
}

/** An item whose raw form (and base) is the same as in the feed's last stored document. */
export interface UnchangedItem {
  digest: string;
  /** As NormalisedItem.published: the poll schedule and the retention cut-off still need it. */
  published: string | null;
}

/** Thrown for input that is not a feed or cannot be recovered; the message is meant for users. */
export class FeedParseError extends Error {
  constructor(
    message: string,
    /** Set when the input is an HTML page that advertises a feed with <link rel="alternate">. */
    readonly advertisedFeedUrl: string | null = null,
  ) {
    super(message);
    this.name = 'FeedParseError';
  }
}
