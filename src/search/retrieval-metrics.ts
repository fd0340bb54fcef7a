/**
 * Ranking quality of a labelled query set: recall@k, mean reciprocal rank and nDCG@10 with
 * binary relevance. Pure: a ranking is a list of target keys, best first; the relevant set is
 * what the label says. Used by `fieldscope eval search`.
 *
 * recall@k is the share of a query's relevant targets found in its first k (for the usual
 * single-target label, whether it is there at all), averaged over queries. MRR uses the first
 * relevant target's rank (0 when none is ranked). nDCG@10: DCG with gain 1 and log2(rank + 1)
 * discount, divided by the DCG of the ideal ranking.
 */

export interface JudgedRanking {
  /** Target keys, best first (duplicates count once, at their first place). */
  ranking: readonly string[];
  relevant: ReadonlySet<string>;
}

export const RECALL_KS = [1, 3, 10] as const;

export interface RankingMetrics {
  /** Queries measured. */
  queries: number;
  recall: Record<(typeof RECALL_KS)[number], number>;
  mrr: number;
  ndcg10: number;
}

function dedupe(ranking: readonly string[]): string[] {
  return [...new Set(ranking)];
}

export function recallAt(judged: JudgedRanking, k: number): number {
  if (judged.relevant.size === 0) throw new Error('A judged query needs at least one relevant target.');
  const top = dedupe(judged.ranking).slice(0, k);
  return top.filter((key) => judged.relevant.has(key)).length / judged.relevant.size;
}

export function reciprocalRank(judged: JudgedRanking): number {
  const index = dedupe(judged.ranking).findIndex((key) => judged.relevant.has(key));
  return index < 0 ? 0 : 1 / (index + 1);
}

export function ndcgAt(judged: JudgedRanking, k: number): number {
  const gain = (rank: number) => 1 / Math.log2(rank + 1);
  const dcg = dedupe(judged.ranking)
    .slice(0, k)
    .reduce((sum, key, i) => sum + (judged.relevant.has(key) ? gain(i + 1) : 0), 0);
  let ideal = 0;
  for (let rank = 1; rank <= Math.min(k, judged.relevant.size); rank++) ideal += gain(rank);
  return dcg / ideal;
}

/** Averages over the queries; null when there are none. */
export function rankingMetrics(judged: readonly JudgedRanking[]): RankingMetrics | null {
  if (judged.length === 0) return null;
  const mean = (f: (j: JudgedRanking) => number) => judged.reduce((sum, j) => sum + f(j), 0) / judged.length;
  return {
    queries: judged.length,
    recall: { 1: mean((j) => recallAt(j, 1)), 3: mean((j) => recallAt(j, 3)), 10: mean((j) => recallAt(j, 10)) },
    mrr: mean(reciprocalRank),
    ndcg10: mean((j) => ndcgAt(j, 10)),
  };
}
