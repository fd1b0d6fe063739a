import type { NewStoryEntry } from '../../src/stories/assign.ts';

const T = Date.parse('2026-11-23T08:00:00Z');

/** Two reports too different to match each other, and a third that matches both. */
export const BRIDGE: [NewStoryEntry, NewStoryEntry, NewStoryEntry] = [
  {
    entryId: 1,
    at: T,
    title: 'Fire breaks out at Ludwigshafen chemical plant',
    summary: 'A fire broke out on Monday morning at the BASF chemical plant in Ludwigshafen, the fire brigade said, and residents were told to keep windows closed.',
    language: 'en',
  },
  {
    entryId: 2,
    at: T + 3_600_000,
    title: 'BASF says 2 workers dead after explosion at German site',
    summary: 'Two workers were killed in an explosion at a BASF site in Germany on Monday, the company said, without giving details of the cause.',
    language: 'en',
  },
  {
    entryId: 3,
    at: T + 7_200_000,
    title: 'Explosion and fire at BASF Ludwigshafen plant kill 2 workers',
    summary: 'An explosion followed by a fire killed 2 workers at the BASF chemical plant in Ludwigshafen on Monday, the company and the fire brigade said.',
    language: 'en',
  },
];

/**
 * A chain of merges: P and Q are BRIDGE's first two reports; R is a third facet matching neither;
 * S matches Q and R but not P (one name in common), so R is merged into Q; then BRIDGE's bridge
 * matches P and Q, so Q is merged into P and R's redirect must follow it to P.
 */
export const CHAIN: NewStoryEntry[] = [
  BRIDGE[0],
  BRIDGE[1],
  {
    entryId: 3,
    at: T + 5_400_000,
    title: 'Mannheim hospital treats 12 injured from chemical accident',
    summary: 'The university hospital in Mannheim treated 12 people with burns and breathing problems after the accident at a chemical site across the Rhine, a spokeswoman said.',
    language: 'en',
  },
  {
    entryId: 4,
    at: T + 9_000_000,
    title: 'BASF explosion kills 2 workers, Mannheim hospital treats 12 injured',
    summary: 'Two workers were killed and 12 people injured in an explosion at a BASF site in Germany on Monday; the injured were taken to the university hospital in Mannheim.',
    language: 'en',
  },
  { ...BRIDGE[2], entryId: 5, at: T + 10_800_000 },
];
