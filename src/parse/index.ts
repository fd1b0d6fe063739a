/**
 * parseFeed: decoded feed text → ParsedFeed. Detects the format, repairs XML, parses with
 * rss-parser (after the canonical pre-pass) or our JSON Feed reader, and normalises. Only FeedParseError ever escapes.
 */
import { advertisedFeedUrl, detectFormat } from './detect.ts';
import { parseJsonFeed } from './json-feed.ts';
import { normaliseFeed, type RawFeed } from './normalise.ts';
import { parseXmlFeed } from './rss-atom.ts';
import { FeedParseError, type ParsedFeed } from './types.ts';
import { repairXml } from './xml-repair.ts';

export { FeedParseError } from './types.ts';
export type { Enclosure, FeedFormat, FeedMeta, NormalisedItem, ParsedFeed, UnchangedItem } from './types.ts';

export interface ParseOptions {
  /** The URL the document was fetched from: relative links resolve against it. */
  baseUrl: string | null;
  /**
   * The poller's: digests of the items of the feed's last stored document (empty for a feed never
   * stored). Items with a known digest are not normalised again (normaliseFeed).
   */
  knownItems?: readonly string[] | undefined;
}

export async function parseFeed(text: string, opts: ParseOptions): Promise<ParsedFeed> {
  try {
    const raw = await parseRaw(text.replace(/^\uFEFF+/, ''), opts.baseUrl);
    return normaliseFeed(raw, opts.baseUrl, opts.knownItems ? new Set(opts.knownItems) : undefined);
  } catch (err) {
    if (err instanceof FeedParseError) throw err;
    // sax/xml2js messages ("Unexpected close tag\nLine: 3\nColumn: 7\nChar: >") are useful as they are.
    const detail = err instanceof Error ? err.message.replace(/\s+/g, ' ').trim() : String(err);
    throw new FeedParseError(`cannot parse the feed: ${detail}`);
  }
}

async function parseRaw(text: string, baseUrl: string | null): Promise<RawFeed> {
  const detection = detectFormat(text);
  switch (detection.kind) {
    case 'empty':
      throw new FeedParseError('empty document: no feed content');
    case 'json':
      return parseJsonFeed(text);
    case 'html': {
      const advertised = advertisedFeedUrl(text, baseUrl);
      throw new FeedParseError(
        advertised !== null
          ? `not a feed (got an HTML page); the page advertises a feed at ${advertised}`
          : 'not a feed (got an HTML page)',
        advertised,
      );
    }
    case 'unknown':
      throw new FeedParseError(
        detection.rootName !== null
          ? `not a feed (the document's root element is <${detection.rootName}>, not rss, RDF or feed)`
          : 'not a feed (no XML or JSON document found)',
      );
    case 'xml':
      return parseXmlFeed(repairXml(text), detection.format, baseUrl);
  }
}
