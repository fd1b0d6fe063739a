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
