import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The labelled story set (tests/fixtures/stories/*.txt): one line per report, with its gold story.
 * Stories are split into a tuning half and a held-out half by their order in each file (every
 * second story is held out), fixed before any threshold was tuned.
 */
export interface LabelledItem {
  /** Position in the set: arrival order is publication order, ties in file order. */
  index: number;
  story: string;
  kind: string;
  /** Stories sharing this group are hard negatives of each other ('-' for none). */
  negativeGroup: string;
  outlet: string;
  language: string;
  published: Date;
  title: string;
  lead: string;
  split: 'tune' | 'holdout';
}

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/stories/', import.meta.url));
export const BASE_TIME = Date.parse('2026-11-23T00:00:00Z');

interface Outlet {
  name: string;
  language: string;
}

export const OUTLETS: Record<string, Outlet> = JSON.parse(readFileSync(join(FIXTURE_DIR, 'outlets.json'), 'utf8'));

export function loadLabelledSet(): LabelledItem[] {
  const items: Omit<LabelledItem, 'index'>[] = [];
  for (const file of readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.txt')).sort()) {
    const storyOrder = new Map<string, number>();
    for (const line of readFileSync(join(FIXTURE_DIR, file), 'utf8').split('\n')) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const [story, kind, negativeGroup, outlet, hours, title, lead] = line.split(' | ').map((s) => s.trim());
      if (!story || !kind || !negativeGroup || !outlet || !hours || !title || !lead) throw new Error(`${file}: bad line: ${line}`);
      const meta = OUTLETS[outlet];
      if (!meta) throw new Error(`${file}: unknown outlet ${outlet}`);
      if (!storyOrder.has(story)) storyOrder.set(story, storyOrder.size);
      items.push({
        story,
        kind,
        negativeGroup,
        outlet,
        language: meta.language,
        published: new Date(BASE_TIME + Number(hours) * 3_600_000),
        title,
        lead,
        split: storyOrder.get(story)! % 2 === 0 ? 'tune' : 'holdout',
      });
    }
  }
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => a.item.published.getTime() - b.item.published.getTime() || a.i - b.i)
    .map(({ item }, index) => ({ ...item, index }));
}

/** One labelled report as a feed item of its outlet. */
export function asFeedItem(x: LabelledItem): {
  guid: string;
  url: string;
  title: string;
  published: string;
  summary: string;
} {
  return {
    guid: `${x.outlet}-${x.index}`,
    url: `https://${x.outlet}.example/news/${x.story}/${x.index}`,
    title: x.title,
    published: x.published.toISOString(),
    summary: x.lead,
  };
}

/** Scores predicted story ids (by set index) for a subset of the labelled set. */
export function scoreOf(items: readonly LabelledItem[], predicted: (x: LabelledItem) => number | string) {
  return items.map((x) => ({ gold: x.story, predicted: predicted(x), negativeGroup: x.negativeGroup }));
}
