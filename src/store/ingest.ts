import type { NormalisedItem, UnchangedItem } from '../parse/types.ts';
import { canonicalUrl, stripTrackingParams } from '../dedupe/canonical-url.ts';
import { assignItemKeys, contentHash } from '../dedupe/identity.ts';
import { decodeItemDigests, encodeItemDigests, keyParts, type ItemDigest } from '../dedupe/item-digests.ts';
import type { Queryable } from './db.ts';
import {
  findEntryIdsByDedupeKey,
  insertEntries,
  updateEntryContent,
  type EntryContentUpdate,
  type NewEntryRow,
} from './entries.ts';
import { findSources, insertSources, sourceId, updateSources, type NewSourceRow, type SourceChange } from './entry-sources.ts';
import { markListedTombstones } from './tombstones.ts';
import { assignEntryStories } from './stories-ingest.ts';
import { DEFAULT_STORY_WINDOW_SECONDS } from '../stories/assign.ts';

export interface IngestFeed {
  id: number;
  language: string | null;
}

export interface IngestResult {
  /** Items that created a new entry. */
  inserted: number;
  /** New items of this feed attached to an entry that already existed (same canonical URL). */
  linked: number;
  /** Known items whose content changed: their entry was edited in place. */
  updated: number;
  unchanged: number;
  skippedOld: number;
  tombstoned: number;
}

export interface IngestOutcome extends IngestResult {
  /**
   * Only for a document given with digests (IngestDoc.digests): the feed's new record of stored
   * items (item-digests.ts), to keep with the feed in the same transaction.
   */
  itemDigests?: string;
}

export interface IngestOptions {
  now: Date;
  /** Items published longer ago than this are not stored (retention would delete them at once). 0 = no limit. */
  retentionDays: number;
  /** Reports of one event published within this many seconds can join one story (STORY_WINDOW). */
  storyWindowSeconds?: number;
  /** false: new entries get no story (each reads as a story of its own). Only the benches set it (bench/stories-ingest.ts, and bench/poll-child.ts with BENCH_STORIES=off), to measure their cost. */
  assignStories?: boolean;
}

/** One feed's document to store: the unit of ingestPolls. */
export interface IngestDoc {
  feed: IngestFeed;
  items: NormalisedItem[];
  /** A poll's document parsed against the feed's last record (ParsedFeed.digests). */
  digests?: IngestDigests | undefined;
}

export interface IngestDigests {
  /** Raw digest of each of `items`, in order. */
  items: readonly string[];
  /** Items not normalised again: their raw form is in `prior`. */
  unchanged: readonly UnchangedItem[];
  /** The feed's record from its last stored document. */
  prior: string | null;
}

/** One item with everything the write path derives from it. */
interface PreparedItem {
  /** Index of its document in the batch. */
  doc: number;
  feedId: number;
  language: string | null;
  item: NormalisedItem;
  itemKey: string;
  /** Its raw digest, for a document given with digests. */
  digest: string | null;
  contentHash: string;
  /** canonical URL, or `urn:tributary:<feed>:<item key>` when the item has no usable link. */
  dedupeKey: string;
  canonicalUrl: string | null;
  /** The link shown to readers: tracking parameters removed. */
  entryUrl: string | null;
}

const DAY_MS = 86_400_000;

/** Stores one poll's items of one feed: ingestPolls with one document. */
export async function ingestItems(
  tx: Queryable,
  feed: IngestFeed,
  items: NormalisedItem[],
  opts: IngestOptions,
): Promise<IngestResult> {
  return (await ingestPolls(tx, [{ feed, items }], opts))[0]!;
}

/**
 * Stores the items of several feeds' polls (one claim batch, or one feed), answering one result per
 * document. Set-based: at most seven statements whatever the number of feeds and items (look-ups of
 * known keys and tombstones, then one statement per kind of write), plus the stories'. Run it in
 * the transaction that also records the feeds' ETag/Last-Modified, so a feed never looks fresh
 * while its items are missing.
 *
 * Dedupe spans the batch: two feeds of one batch carrying one article make one entry with two
 * sources, the first document's item creating it (inserted) and the other linked. Under concurrency
 * (several workers, one article in several feeds) the unique dedupe_key decides: the insert skips
 * keys taken, even by a transaction that commits while this one waits, and a separate statement
 * (new snapshot) fetches their ids. A deadlock is not expected (inserts go in key order) but the
 * caller should still retry the transaction on 40P01/40001, as for any write.
 */
export async function ingestPolls(tx: Queryable, docs: readonly IngestDoc[], opts: IngestOptions): Promise<IngestOutcome[]> {
  const results: IngestOutcome[] = docs.map(() => ({ inserted: 0, linked: 0, updated: 0, unchanged: 0, skippedOld: 0, tombstoned: 0 }));
  const cutoff = opts.retentionDays > 0 ? opts.now.getTime() - opts.retentionDays * DAY_MS : -Infinity;

  const candidates: PreparedItem[] = [];
  // Per document given with digests: the records of its items still stored (item-digests.ts).
  const records = new Map<number, ItemDigest[]>();
  docs.forEach((d, doc) => {
    const language = d.feed.language?.trim().toLowerCase() || null;
    const storable = d.items.map(withoutNul);
    const kept = d.digests ? unchangedRecords(d.digests, cutoff, results[doc]!) : [];
    if (d.digests) records.set(doc, kept);
    const keys = assignItemKeys(storable, kept);
    storable.forEach((item, i) => {
      if (item.published !== null && Date.parse(item.published) < cutoff) {
        results[doc]!.skippedOld++;
        return;
      }
      candidates.push(prepare(doc, d.feed.id, language, item, keys[i]!, d.digests?.items[i] ?? null));
    });
  });
  const withDigests = () => {
    for (const [doc, kept] of records) results[doc]!.itemDigests = encodeItemDigests(kept);
    return results;
  };
  if (candidates.length === 0) return withDigests();

  const known = await findSources(tx, candidates);
  // A tombstone is written when its item's source is deleted, so only unknown keys can have one:
  // a re-poll where every item is known skips this round trip.
  const tombstoned = await markListedTombstones(tx, candidates.filter((p) => !known.has(sourceId(p.feedId, p.itemKey))), opts.now);

  const edited: Array<{ p: PreparedItem; entryId: number }> = [];
  const fresh: PreparedItem[] = [];
  for (const p of candidates) {
    const id = sourceId(p.feedId, p.itemKey);
    const source = known.get(id);
    // Every item but a tombstoned one ends with a source: recorded as stored.
    if (p.digest !== null && !tombstoned.has(id)) records.get(p.doc)?.push({ digest: p.digest, ...keyParts(p.itemKey) });
    if (tombstoned.has(id)) results[p.doc]!.tombstoned++;
    else if (!source) fresh.push(p);
    else if (source.contentHash === p.contentHash) results[p.doc]!.unchanged++;
    else {
      edited.push({ p, entryId: source.entryId });
      results[p.doc]!.updated++;
    }
  }

  await applyEdits(tx, edited, opts.now);
  await addNewItems(tx, fresh, results, opts);
  return withDigests();
}

/**
 * Items the parser left out as unchanged since the feed's last stored document: they are stored as
 * they are (counted unchanged, no statement), unless retention's cut-off has passed them since
 * (counted as skipped, as a normalised item would be, and no longer recorded). Answers the records
 * still valid, which also hold the item keys the document's other items must not take.
 */
function unchangedRecords(d: IngestDigests, cutoff: number, result: IngestResult): ItemDigest[] {
  const prior = decodeItemDigests(d.prior);
  const kept: ItemDigest[] = [];
  for (const u of d.unchanged) {
    const record = prior.get(u.digest);
    // The parser was given exactly these digests; a record gone missing is a caller's bug.
    if (!record) throw new Error(`item digest ${u.digest} is not in the feed's record`);
    if (u.published !== null && Date.parse(u.published) < cutoff) {
      result.skippedOld++;
      continue;
    }
    result.unchanged++;
    kept.push(record);
  }
  return kept;
}

function prepare(doc: number, feedId: number, language: string | null, item: NormalisedItem, itemKey: string, digest: string | null): PreparedItem {
  const canonical = item.url === null ? null : canonicalUrl(item.url);
  return {
    doc,
    feedId,
    language,
    item,
    itemKey,
    digest,
    contentHash: contentHash(item),
    dedupeKey: canonical ?? `urn:tributary:${feedId}:${itemKey}`,
    canonicalUrl: canonical,
    entryUrl: item.url === null ? null : stripTrackingParams(item.url),
  };
}

async function applyEdits(tx: Queryable, edited: ReadonlyArray<{ p: PreparedItem; entryId: number }>, now: Date): Promise<void> {
  if (edited.length === 0) return;
  // Two items (of one document, or of two feeds) can share an entry; one UPDATE may touch a row only once: first wins.
  const byEntry = new Map<number, EntryContentUpdate>();
  for (const { p, entryId } of edited) {
    if (byEntry.has(entryId)) continue;
    byEntry.set(entryId, {
      id: entryId,
      url: p.entryUrl,
      title: p.item.title,
      author: p.item.author,
      summary: p.item.summary,
      contentHtml: p.item.content_html,
      updatedAt: p.item.updated ?? now.toISOString(),
      categories: p.item.categories,
      enclosures: p.item.enclosures,
      language: p.language,
      contentHash: p.contentHash,
    });
  }
  await updateEntryContent(tx, [...byEntry.values()], now);
  const sources: SourceChange[] = edited.map(({ p }) => ({ feedId: p.feedId, itemKey: p.itemKey, url: p.item.url, contentHash: p.contentHash }));
  await updateSources(tx, sources);
}

async function addNewItems(tx: Queryable, fresh: readonly PreparedItem[], results: IngestResult[], opts: IngestOptions): Promise<void> {
  if (fresh.length === 0) return;
  const now = opts.now;
  // One candidate entry per dedupe key: the first item in batch order carrying it.
  const representatives = new Map<string, PreparedItem>();
  for (const p of fresh) if (!representatives.has(p.dedupeKey)) representatives.set(p.dedupeKey, p);

  const insertedIds = await insertEntries(tx, [...representatives.values()].map(newEntryRow), now);
  const taken = [...representatives.keys()].filter((k) => !insertedIds.has(k));
  // A new statement, hence a new snapshot: it sees rows that concurrent transactions committed meanwhile.
  const existingIds = await findEntryIdsByDedupeKey(tx, taken);

  const sources: NewSourceRow[] = fresh.map((p) => {
    const entryId = insertedIds.get(p.dedupeKey) ?? existingIds.get(p.dedupeKey);
    if (entryId === undefined) {
      // The conflicting entry vanished between the two statements (retention deleted it). Rolling back
      // loses nothing: the next poll of this feed will insert it again.
      throw new Error(`entry for ${p.dedupeKey} disappeared during ingest; retry`);
    }
    if (insertedIds.has(p.dedupeKey) && representatives.get(p.dedupeKey) === p) results[p.doc]!.inserted++;
    else results[p.doc]!.linked++;
    return { feedId: p.feedId, itemKey: p.itemKey, entryId, guid: p.item.guid, url: p.item.url, contentHash: p.contentHash };
  });
  await insertSources(tx, sources, now);
  // Every new entry joins a story; copies linked to an existing entry are already in one.
  const newEntries = [...representatives.values()].flatMap((p) => {
    const entryId = insertedIds.get(p.dedupeKey);
    if (entryId === undefined) return [];
    return [{ entryId, at: sortTime(p.item.published, now), title: p.item.title, summary: p.item.summary, language: p.language }];
  });
  if (opts.assignStories !== false) await assignEntryStories(tx, newEntries, opts.storyWindowSeconds ?? DEFAULT_STORY_WINDOW_SECONDS);
}

function newEntryRow(p: PreparedItem): NewEntryRow {
  return {
    dedupeKey: p.dedupeKey,
    canonicalUrl: p.canonicalUrl,
    url: p.entryUrl,
    title: p.item.title,
    author: p.item.author,
    summary: p.item.summary,
    contentHtml: p.item.content_html,
    publishedAt: p.item.published,
    updatedAt: p.item.updated,
    categories: p.item.categories,
    enclosures: p.item.enclosures,
    language: p.language,
    contentHash: p.contentHash,
  };
}

/** The entry's sort_at as insertEntries computes it: publication clamped to first sight. */
function sortTime(published: string | null, now: Date): number {
  const t = published === null ? NaN : Date.parse(published);
  return Number.isFinite(t) ? Math.min(t, now.getTime()) : now.getTime();
}

/** The parser promises ISO dates; one that is not would make the timestamptz cast fail the whole write. */
function validDate(iso: string | null): string | null {
  return iso !== null && Number.isFinite(Date.parse(iso)) ? iso : null;
}

/** PostgreSQL text and jsonb cannot hold U+0000; one such character would abort the whole feed's write. */
function withoutNul(item: NormalisedItem): NormalisedItem {
  const clean = <T extends string | null>(s: T): T => (s === null ? s : (s.replace(/\u0000/g, '') as T));
  return {
    guid: clean(item.guid),
    url: clean(item.url),
    title: clean(item.title),
    published: validDate(item.published),
    updated: validDate(item.updated),
    author: clean(item.author),
    categories: item.categories.map(clean),
    enclosures: item.enclosures.map((e) => ({ url: clean(e.url), type: clean(e.type), length: e.length })),
    summary: clean(item.summary),
    content_html: clean(item.content_html),
  };
}
