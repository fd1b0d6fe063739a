import type { EntryWithSources } from '../../store/entry-queries.ts';
import type { StoryReport } from '../../store/stories-read.ts';
import { safeHttpUrl } from './xml.ts';

/** What the three renderers get: a titled, addressed list of entries. */
export interface FeedDocument {
  title: string;
  description: string;
  /** This document's own URL (with its query), for rel="self" / feed_url. */
  selfUrl: string;
  /** WEBSUB_HUB, on documents whose self URL is a topic we ping (rel="hub" / JSON Feed hubs). */
  hubUrl?: string | null | undefined;
  /** The reader page carrying the same filters. */
  homeUrl: string;
  /** Base of entry ids (`tag:` URIs need a stable authority). */
  generatedAt: Date;
  entries: EntryWithSources[];
  /**
   * `?collapse=story`: each entry stands for its story; the story's other reports by entry id.
   * Absent when not collapsed.
   */
  otherReports?: ReadonlyMap<number, StoryReport[]>;
}

/** One other outlet's report of a collapsed entry's story: one per report and feed carrying it. */
export interface StoryOutlet {
  entryId: number;
  feedId: number;
  feedTitle: string;
  feedUrl: string | null;
  /** The article as that feed gave it (else the report's URL); http(s) only. */
  url: string | null;
  title: string | null;
  published: Date;
}

export function storyOutlets(reports: readonly StoryReport[] | undefined): StoryOutlet[] {
  return (reports ?? []).flatMap((r) =>
    r.sources.map((s) => ({
      entryId: r.id,
      feedId: s.feed_id,
      feedTitle: s.feed_title || s.feed_url,
      feedUrl: safeHttpUrl(s.feed_url),
      url: safeHttpUrl(s.url) ?? safeHttpUrl(r.url),
      title: r.title,
      published: r.published_at ?? r.sort_at,
    })),
  );
}

export type OutputFormat = 'rss' | 'atom' | 'json';

/** An entry's "last changed" instant: updated, else published, else first seen. */
export function entryUpdated(e: EntryWithSources): Date {
  return e.updated_at ?? e.published_at ?? e.first_seen_at;
}

/** Stable, never-reused identity of an entry in our output. */
export function entryTagId(e: { id: number }): string {
  return `tag:tributary,2024:entry/${e.id}`;
}

export function sourceNames(e: EntryWithSources): string[] {
  return e.sources.map((s) => s.feed_title || s.feed_url);
}
