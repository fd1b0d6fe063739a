/**
 * Clustering quality against gold labels. Pairwise: every pair of items put together (predicted) or
 * belonging together (gold). B-cubed: per item, the share of its predicted cluster that is in its
 * gold story (precision) and the share of its gold story in its predicted cluster (recall), averaged.
 */
export interface Scored {
  gold: string;
  predicted: string | number;
  /** Hard-negative group of the gold story, '-' for none. */
  negativeGroup: string;
}

export interface Quality {
  items: number;
  goldStories: number;
  predictedStories: number;
  pairwisePrecision: number;
  pairwiseRecall: number;
  bcubedPrecision: number;
  bcubedRecall: number;
  hardNegativePairs: number;
  hardNegativeMerged: number;
  hardNegativeMergeRate: number;
  /** Wrongly merged and wrongly split pairs, for reading. */
  falseMerges: Array<[number, number]>;
  missedPairs: Array<[number, number]>;
}

export function quality(items: readonly Scored[]): Quality {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let hardPairs = 0;
  let hardMerged = 0;
  const falseMerges: Array<[number, number]> = [];
  const missedPairs: Array<[number, number]> = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i]!;
      const b = items[j]!;
      const gold = a.gold === b.gold;
      const pred = a.predicted === b.predicted;
      if (gold && pred) tp++;
      else if (pred) {
        fp++;
        falseMerges.push([i, j]);
      } else if (gold) {
        fn++;
        missedPairs.push([i, j]);
      }
      if (!gold && a.negativeGroup !== '-' && a.negativeGroup === b.negativeGroup) {
        hardPairs++;
        if (pred) hardMerged++;
      }
    }
  }
  const goldSize = countBy(items.map((x) => x.gold));
  const predSize = countBy(items.map((x) => String(x.predicted)));
  const both = countBy(items.map((x) => `${x.gold}\u0000${String(x.predicted)}`));
  let bp = 0;
  let br = 0;
  for (const x of items) {
    const overlap = both.get(`${x.gold}\u0000${String(x.predicted)}`)!;
    bp += overlap / predSize.get(String(x.predicted))!;
    br += overlap / goldSize.get(x.gold)!;
  }
  return {
    items: items.length,
    goldStories: goldSize.size,
    predictedStories: predSize.size,
    pairwisePrecision: tp + fp === 0 ? 1 : tp / (tp + fp),
    pairwiseRecall: tp + fn === 0 ? 1 : tp / (tp + fn),
    bcubedPrecision: bp / items.length,
    bcubedRecall: br / items.length,
    hardNegativePairs: hardPairs,
    hardNegativeMerged: hardMerged,
    hardNegativeMergeRate: hardPairs === 0 ? 0 : hardMerged / hardPairs,
    falseMerges,
    missedPairs,
  };
}

function countBy(keys: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

export function formatQuality(label: string, q: Quality): string {
  const f = (n: number) => n.toFixed(3);
  return (
    `${label}: ${q.items} items, ${q.goldStories} gold stories, ${q.predictedStories} predicted; ` +
    `pairwise P ${f(q.pairwisePrecision)} R ${f(q.pairwiseRecall)}; B-cubed P ${f(q.bcubedPrecision)} R ${f(q.bcubedRecall)}; ` +
    `hard negatives merged ${q.hardNegativeMerged}/${q.hardNegativePairs} (${(q.hardNegativeMergeRate * 100).toFixed(1)}%)`
  );
}
