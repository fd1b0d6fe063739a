import type { Db } from '../src/store/db.ts';
import { searchMatchCount } from '../src/store/entry-queries.ts';

/**
 * The search ladder: words matching 0, 1, 10, 100, 1,000 and 10,000 entries, plus the bench's
 * common word (≈6 %). Made-up words (letters only, so every text-search configuration keeps each
 * as one lexeme) are planted in titles while loading: entry g gets the word of a rung when
 * g % step = 7 with step = entries ÷ matches, so the matches are spread evenly over ids, whose
 * dates are random, and over the heap, as real articles are.
 */
export interface LadderRung {
  word: string;
  /** Entries the word is planted in (the target of the rung). */
  planted: number;
  /** Entries ?q=word matches, counted after loading. */
  matches: number;
}

export const LADDER: { word: string; planted: number }[] = [
  { word: 'zorvexil', planted: 0 },
  { word: 'quindrapel', planted: 1 },
  { word: 'bramtholic', planted: 10 },
  { word: 'sembrivane', planted: 100 },
  { word: 'clotharune', planted: 1_000 },
  { word: 'vistrogane', planted: 10_000 },
];

/** The rungs that fit a table of `entries` rows, with the step their word is planted at. */
export function ladderFor(entries: number): { word: string; planted: number; step: number }[] {
  return LADDER.filter((r) => r.planted <= entries / 4).map((r) => ({ ...r, step: r.planted === 0 ? 0 : Math.floor(entries / r.planted) }));
}

/** SQL expression (for entry id `g`) appending the ladder words to a title; $words and $steps are text[] and bigint[]. */
export function plantedWordsSql(g: string, words: string, steps: string): string {
  return `coalesce((select string_agg(' ' || l.w, '') from unnest(${words}::text[], ${steps}::bigint[]) l(w, step)
    where l.step > 0 and ${g} % l.step = 7 % l.step), '')`;
}

/** Counts each rung's matches as ?q= finds them (in the full-text index, every configuration). */
export async function countLadder(db: Db, entries: number, common: { word: string; matches: number }): Promise<LadderRung[]> {
  const rungs: LadderRung[] = [];
  for (const r of ladderFor(entries)) {
    rungs.push({ word: r.word, planted: r.planted, matches: await searchMatchCount(db, r.word) });
  }
  rungs.push({ word: common.word, planted: common.matches, matches: common.matches });
  return rungs;
}
