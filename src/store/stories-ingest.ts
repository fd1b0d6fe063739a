import { matchEntries, resolveStories, storyProbe, type NewStoryEntry } from '../stories/assign.ts';
import type { Queryable } from './db.ts';
import { syncStoryIndex } from './story-index.ts';
import { insertStoryMembers, lockStoryLanguages, mergeStories, readStoryIds, type StorySpan } from './stories.ts';

/**
 * Puts a batch of just-inserted entries into stories, in the ingest transaction: a per-language
 * lock, one statement syncing this process's index of the window (story-index.ts), matching in
 * memory, one read of the current story ids of the stored entries matched, then at most two writes
 * (members with their stories; merges). Entries are taken in id order, which is their arrival
 * order, so the result is deterministic and "older" means a lower id.
 */
export async function assignEntryStories(tx: Queryable, entries: readonly NewStoryEntry[], windowSeconds: number): Promise<void> {
  if (entries.length === 0) return;
  const ordered = [...entries].sort((a, b) => a.entryId - b.entryId);
  const probes = ordered.map(storyProbe);
  const rules = { windowMs: windowSeconds * 1000 };
  const index = await syncStoryIndex(
    tx,
    probes.map((p, i) => ({ lang: p.lang, at: ordered[i]!.at })),
    rules.windowMs,
    (langs) => lockStoryLanguages(tx, langs),
  );
  const matches = matchEntries(ordered, probes, index.indexOf, rules);

  const batch = new Set(ordered.map((e) => e.entryId));
  const stored = [...new Set(matches.flat().filter((id) => !batch.has(id)))];
  const storyIds = await readStoryIds(tx, stored);
  // Deleted since the index read them (a feed removed, retention): never candidates again.
  ordered.forEach((e, i) => {
    for (const id of matches[i]!) if (!batch.has(id) && !storyIds.has(id)) index.indexOf(probes[i]!.lang).kill(id);
  });
  const { members, merges } = resolveStories(ordered, probes, matches, storyIds);

  const spans = new Map<number, StorySpan>();
  for (const m of members) {
    const s = spans.get(m.storyId);
    if (!s) spans.set(m.storyId, { id: m.storyId, firstAt: m.at, lastAt: m.at });
    else {
      s.firstAt = Math.min(s.firstAt, m.at);
      s.lastAt = Math.max(s.lastAt, m.at);
    }
  }
  index.written(await insertStoryMembers(tx, members, [...spans.values()]));
  await mergeStories(tx, merges);
}
