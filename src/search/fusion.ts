/**
 * Reciprocal-rank fusion of several candidate lists by target (a page or a photo).
 * RRF needs no score calibration between signals (cosines, BM25 and exact matches live on
 * different scales), which is why it is the standard way to merge hybrid retrieval.
 * Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet…", SIGIR 2009.
 */
import type { Candidate, HitTarget } from '../store/knowledge-store.js';

/** The signals a hit can be found by (the GraphQL MatchKind enum). */
export type MatchKind =
  /** image query ↔ page images and photos */
  | 'VISUAL'
  /** text query ↔ text chunks (dense) */
  | 'SEMANTIC'
  /** image query ↔ text chunks, or text query ↔ page images and photos */
  | 'CROSS_MODAL'
  /** BM25 over page text and captions */
  | 'KEYWORD'
  /** exact part number / identifier */
  | 'IDENTIFIER';

export interface SignalList {
  signal: MatchKind;
  /** Best first. */
  candidates: Candidate[];
  /** Votes of this signal count this much (default 1); a function weighs each candidate on its own score. */
  weight?: number | ((candidate: Candidate) => number);
}

export interface FusedHit {
  target: HitTarget;
  score: number;
  matchedBy: MatchKind[];
  /** Per signal: the candidate as that signal scored it. */
  evidence: Partial<Record<MatchKind, Candidate & { rank: number }>>;
}

export function targetKey(target: HitTarget): string {
  return target.kind === 'page' ? `page:${target.documentId}:${target.pageNumber}` : `photo:${target.photoId}`;
}

/** Fused score = Σ weight / (k + rank), rank 1-based. Ties keep the order of first appearance. */
export function reciprocalRankFusion(lists: readonly SignalList[], k = 60): FusedHit[] {
  const byTarget = new Map<string, FusedHit>();
  for (const list of lists) {
    const weightOf = typeof list.weight === 'function' ? list.weight : () => (list.weight as number | undefined) ?? 1;
    const seen = new Set<string>();
    list.candidates.forEach((candidate, index) => {
      const key = targetKey(candidate.target);
      if (seen.has(key)) return; // a signal votes once per target, with its best rank
      seen.add(key);
      const rank = index + 1;
      let hit = byTarget.get(key);
      if (!hit) {
        hit = { target: candidate.target, score: 0, matchedBy: [], evidence: {} };
        byTarget.set(key, hit);
      }
      hit.score += weightOf(candidate) / (k + rank);
      hit.matchedBy.push(list.signal);
      hit.evidence[list.signal] = { ...candidate, rank };
    });
  }
  return [...byTarget.values()].sort((a, b) => b.score - a.score);
}

/**
 * How far a list's best score stands out from the rest of the list, in standard deviations
 * (robust: median and MAD of the background). Used to tell a real match from the best of a
 * bad lot, whatever the model's similarity scale. Null when the list is too short to judge.
 */
export function standOut(scores: readonly number[], minBackground = 8): number | null {
  if (scores.length < minBackground + 1) return null;
  const [best, ...rest] = [...scores].sort((a, b) => b - a);
  const sorted = [...rest].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const mad = [...sorted.map((s) => Math.abs(s - median))].sort((a, b) => a - b)[Math.floor(sorted.length / 2)]!;
  const spread = Math.max(mad * 1.4826, 1e-6);
  return (best! - median) / spread;
}
