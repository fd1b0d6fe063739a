import { assignStories, storyProbe, type NewStoryEntry } from '../stories/assign.ts';
import type { Queryable } from './db.ts';
import { findStoryCandidates, insertStoryMembers, lockStoryLanguages, mergeStories, type StorySpan } from './stories.ts';

/**
 * Puts a batch of just-inserted entries into stories, in the ingest transaction: a per-language
 * lock, one look-up of candidates sharing a band key within the window (and one of the features of
 * candidates this process has not kept), then at most two writes (members with their stories and
 * buckets; merges). Entries are taken in id order, which is their arrival order, so the
 * result is deterministic and "older" means a lower id.
 */
export async function assignEntryStories(tx: Queryable, entries: readonly NewStoryEntry[], windowSeconds: number): Promise<void> {
  if (entries.length === 0) return;
  const ordered = [...entries].sort((a, b) => a.entryId - b.entryId);
  const probes = ordered.map(storyProbe);
  await lockStoryLanguages(tx, probes.map((p) => p.lang));
  const candidates = await findStoryCandidates(
    tx,
    probes.map((p, i) => ({ lang: p.lang, at: ordered[i]!.at, bandKeys: p.bandKeys })),
    windowSeconds,
  );
  const { members, merges } = assignStories(ordered, probes, candidates, { windowMs: windowSeconds * 1000 });

  const spans = new Map<number, StorySpan>();
  for (const m of members) {
    const s = spans.get(m.storyId);
    if (!s) spans.set(m.storyId, { id: m.storyId, firstAt: m.at, lastAt: m.at });
    else {
      s.firstAt = Math.min(s.firstAt, m.at);
      s.lastAt = Math.max(s.lastAt, m.at);
    }
  }
  await insertStoryMembers(tx, members, [...spans.values()]);
  await mergeStories(tx, merges);
}
