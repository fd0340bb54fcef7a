/**
 * Fusion of several candidate lists by target (a page or a photo). Pure.
 *
 * The product path is `evidenceFusion`: it keeps how strong each match is, not only where it
 * ranks, and ranks decisive evidence as such. Reciprocal-rank fusion (RRF) and two score
 * fusions from other engines stay here as baselines, so `fieldscope eval search --fusion …`
 * compares them on the same lists:
 * - RRF (Cormack et al., SIGIR 2009): Σ 1/(k + rank). Counts appearances and throws the scores
 *   away, so a page that ranks weakly in three noise lists outvotes the one page that holds the
 *   query's words (issue 11).
 * - Relative score fusion (Weaviate's default since 1.24): each list min-max scaled to [0, 1],
 *   then summed. Every list's best gets 1 whatever its quality: a list of near-equal noise
 *   (text↔page-image cosines on a model without meaning) still hands out full marks.
 * - Distribution-based score fusion (Qdrant's `dbsf`): each list scaled by mean ± 3σ of its
 *   scores, then summed. Better for flat lists, but the best of a noise list still gets ~0.7
 *   to 0.8, and no list can say "this one is decisive".
 * Evidence fusion (below) makes scores comparable the way DBSF does, from the query's own
 * distribution, but robustly (median and MAD, so one true match does not widen its own scale),
 * weighs each list by how far its best stands out (a list whose best is ordinary noise weighs
 * nothing), and puts decisive evidence (an exact identifier, a near-copy image, a page holding
 * the query's words) in a tier above everything else. docs/search.md has the eval figures.
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
  /**
   * Not by cosine: 'perceptual-hash', VISUAL candidates found by difference hash (each within the
   * near-copy distance); 'page-layout', by layout signature (each a copy by correlation).
   */
  basis?: 'perceptual-hash' | 'page-layout';
  /** KEYWORD or IDENTIFIER evidence read off the query photo (OCR, codes), not typed: weighed as such (see READ_EVIDENCE). */
  read?: ReadEvidence;
}

/** How a list read off the query photo is to be believed. */
export interface ReadEvidence {
  /** Distinct identifiers read on the photo. */
  identifiers: number;
  /** How sure the reading behind a candidate's match is, 0..1 (the best of the identifiers it matched). */
  confidence: (candidate: Candidate) => number;
}

/**
 * Text read off a photo is not a query someone typed. A nameplate carries the model (what the
 * technician wants) next to a serial number, a lot, a voltage and a maker's address that no
 * manual holds, and OCR can misread. So:
 * - an identifier read with recogniser confidence ≥ `decisiveConfidence` (a code's value always:
 *   its checksum verified it) is decisive on its own: matching one of the plate's identifiers is
 *   enough, unlike a typed query, where every identifier typed is wanted. Read less surely, it is
 *   graded evidence only. On project-made photographed plates the identifier lines read at
 *   0.94–0.99 (measured; misreads land lower), hence 0.85.
 * - the words read are graded evidence at `keywordWeight` of a typed query's and never
 *   decisive: the words on a plate are mostly not the words of the page that explains it.
 */
export const READ_EVIDENCE = { decisiveConfidence: 0.85, keywordWeight: 0.5 } as const;

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
      // A signal may come in two lists (VISUAL by cosine and by hash): it is named once.
      if (!hit.matchedBy.includes(list.signal)) hit.matchedBy.push(list.signal);
      hit.evidence[list.signal] ??= { ...candidate, rank };
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

// ---------------------------------------------------------------------------------------------
// Score fusions from other engines, as baselines for the eval.

function bestPerTarget(candidates: readonly Candidate[]): (Candidate & { rank: number })[] {
  const seen = new Set<string>();
  const out: (Candidate & { rank: number })[] = [];
  for (const candidate of candidates) {
    const key = targetKey(candidate.target);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...candidate, rank: out.length + 1 });
  }
  return out;
}

function sumFusion(lists: readonly SignalList[], normalise: (scores: number[]) => (score: number) => number): FusedHit[] {
  const byTarget = new Map<string, FusedHit>();
  for (const list of lists) {
    const candidates = bestPerTarget(list.candidates);
    const scale = normalise(candidates.map((c) => c.score));
    for (const candidate of candidates) {
      const key = targetKey(candidate.target);
      let hit = byTarget.get(key);
      if (!hit) byTarget.set(key, (hit = { target: candidate.target, score: 0, matchedBy: [], evidence: {} }));
      hit.score += scale(candidate.score);
      if (!hit.matchedBy.includes(list.signal)) hit.matchedBy.push(list.signal);
      hit.evidence[list.signal] ??= candidate;
    }
  }
  return [...byTarget.values()].sort((a, b) => b.score - a.score);
}

/** Weaviate's relative score fusion: per list (s - min) / (max - min), summed (equal weights). */
export function relativeScoreFusion(lists: readonly SignalList[]): FusedHit[] {
  return sumFusion(lists, (scores) => {
    const min = Math.min(...scores);
    const max = Math.max(...scores);
    return (s) => (max > min ? (s - min) / (max - min) : 1);
  });
}

/** Qdrant's distribution-based score fusion: per list (s - (μ - 3σ)) / 6σ, clipped to [0, 1], summed. */
export function distributionBasedScoreFusion(lists: readonly SignalList[]): FusedHit[] {
  return sumFusion(lists, (scores) => {
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    return (s) => (sd > 0 ? Math.min(1, Math.max(0, (s - (mean - 3 * sd)) / (6 * sd))) : 0.5);
  });
}

// ---------------------------------------------------------------------------------------------
// Evidence fusion: the product path.

export interface EvidenceFusionOptions {
  /** Distinct identifiers in the query (IDENTIFIER scores count how many of them a target has). */
  queryIdentifiers: number;
  /** The image model's calibrated near-copy cosine, or null: then the scale-free ratio test decides. */
  nearCopySimilarity: number | null;
  /** Share of the query's content words a page must hold for its KEYWORD match to be decisive. */
  minKeywordCoverage: number;
  /**
   * Whether a VISUAL cosine list may call its best a near-copy (default true). False for a mostly
   * white query image (a page of text, a scan): every such image looks alike to CLIP, two different
   * scans pass the ratio test on a weak model, and their copies are decided by layout signature.
   */
  cosineNearCopies?: boolean;
}

/** Robust z of the best dense score at which a list starts to count, and where it counts fully. */
export const INFORMATIVE_Z = { from: 3, full: 8 } as const;
/**
 * Scale-free near-copy test: the best image is a near-copy when its cosine distance to the query
 * is at most this share of the runner-up's. Invariant to how a model spreads its cosines (a
 * greyscale copy at 0.993 with the next photo at 0.95 passes; two unrelated photos at 0.971 and
 * 0.96 do not), and it needs no calibration. Lowe's ratio test (IJCV 2004), made strict.
 */
export const NEAR_COPY_DISTANCE_RATIO = 0.25;
/** Fewer scores than this and a list has no background to judge against. */
const MIN_BACKGROUND = 8;
/** Tier points: an exact identifier (all the query's) or a near-copy image; a page holding the query's words. */
const DECISIVE = 2;
const COVERING = 1;
const MAX_TIER = 2 * DECISIVE + COVERING;

function median(sorted: readonly number[]): number {
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Robust location and spread (median, 1.4826 × MAD) of a list's scores; null when too short. */
export function robustScale(scores: readonly number[], minBackground = MIN_BACKGROUND): { center: number; spread: number } | null {
  if (scores.length < minBackground + 1) return null;
  const sorted = [...scores].sort((a, b) => a - b);
  const center = median(sorted);
  const mad = median(sorted.map((s) => Math.abs(s - center)).sort((a, b) => a - b));
  return { center, spread: Math.max(mad * 1.4826, 1e-6) };
}

/** Whether the best of an image list is a near-copy of the query (see NEAR_COPY_DISTANCE_RATIO). */
export function isNearCopy(best: number, runnerUp: number | undefined, calibrated: number | null): boolean {
  if (calibrated !== null) return best >= calibrated;
  if (runnerUp === undefined) return false;
  const distance = 1 - best;
  const runnerUpDistance = 1 - runnerUp;
  return runnerUpDistance > 0 && distance <= NEAR_COPY_DISTANCE_RATIO * runnerUpDistance;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

interface Scored {
  /** Graded evidence of this list for the target, 0..1. */
  evidence: number;
  /** Tier points (decisive evidence). */
  tier: number;
}

function scoreList(list: SignalList, options: EvidenceFusionOptions): Map<string, Scored> {
  const candidates = bestPerTarget(list.candidates);
  const out = new Map<string, Scored>();
  const put = (c: Candidate, scored: Scored) => out.set(targetKey(c.target), scored);
  if (candidates.length === 0) return out;
  if (list.basis === 'perceptual-hash') {
    // The store returns only hashes within the near-copy distance: each is a near-copy, the closest best.
    for (const c of candidates) put(c, { evidence: 1 - (c.hashDistance ?? 0) / 16, tier: DECISIVE });
    return out;
  }
  if (list.basis === 'page-layout') {
    // Only copies come back (correlation ≥ LAYOUT_COPY_CORRELATION): each decisive, the closest best.
    for (const c of candidates) put(c, { evidence: clamp01(c.layoutCorrelation ?? c.score), tier: DECISIVE });
    return out;
  }
  if (list.read && (list.signal === 'IDENTIFIER' || list.signal === 'KEYWORD')) return scoreReadList(list, list.read, options);
  switch (list.signal) {
    case 'IDENTIFIER': {
      const wanted = Math.max(1, options.queryIdentifiers);
      for (const c of candidates) {
        const share = clamp01(c.score / wanted);
        put(c, { evidence: share, tier: DECISIVE * share });
      }
      return out;
    }
    case 'KEYWORD':
      for (const c of candidates) put(c, keywordEvidence(c, candidates, options));
      return out;
    default: {
      // Dense cosines: a robust z against the query's own background, counted only as far as
      // the list's best stands out (a list of noise weighs nothing).
      const scale = robustScale(candidates.map((c) => c.score));
      const z = (s: number) => (scale ? (s - scale.center) / scale.spread : 0);
      const informative = clamp01((z(candidates[0]!.score) - INFORMATIVE_Z.from) / (INFORMATIVE_Z.full - INFORMATIVE_Z.from));
      const nearCopy = list.signal === 'VISUAL' && options.cosineNearCopies !== false && isNearCopy(candidates[0]!.score, candidates[1]?.score, options.nearCopySimilarity);
      candidates.forEach((c, i) => {
        const copy = i === 0 && nearCopy;
        put(c, { evidence: copy ? 1 : informative * clamp01(z(c.score) / INFORMATIVE_Z.full), tier: copy ? DECISIVE : 0 });
      });
      return out;
    }
  }
}

/**
 * BM25 has a true zero, so the best match scales the list (relative scores); coverage says
 * whether the words are really there, and how much the list as a whole is worth.
 */
function keywordEvidence(c: Candidate, candidates: readonly Candidate[], options: EvidenceFusionOptions): Scored {
  const top = Math.max(candidates[0]!.score, 1e-9);
  const bestCoverage = Math.max(...candidates.map((x) => x.coverage ?? 1));
  const coverage = c.coverage ?? clamp01(c.score / top);
  return { evidence: bestCoverage * (0.5 * clamp01(c.score / top) + 0.5 * coverage), tier: coverage >= options.minKeywordCoverage ? COVERING : 0 };
}

/** A list read off the query photo (see READ_EVIDENCE). */
function scoreReadList(list: SignalList, read: ReadEvidence, options: EvidenceFusionOptions): Map<string, Scored> {
  const candidates = bestPerTarget(list.candidates);
  const out = new Map<string, Scored>();
  for (const c of candidates) {
    if (list.signal === 'KEYWORD') {
      out.set(targetKey(c.target), { evidence: READ_EVIDENCE.keywordWeight * keywordEvidence(c, candidates, options).evidence, tier: 0 });
      continue;
    }
    const confidence = clamp01(read.confidence(c));
    // More of the plate's identifiers on one page orders pages within the tier.
    const share = clamp01(c.score / Math.max(1, read.identifiers));
    out.set(targetKey(c.target), { evidence: confidence * (0.5 + 0.5 * share), tier: confidence >= READ_EVIDENCE.decisiveConfidence ? DECISIVE : 0 });
  }
  return out;
}

/**
 * Fused score in [0, 1): (tier points + E / (1 + E)) / (max tier + 1), where E sums the graded
 * evidence of every list. So a hit with decisive evidence always outranks one without, graded
 * evidence orders hits within a tier, and reciprocal rank only breaks exact ties. Comparable
 * within one result list; ≥ 1/3 means the hit has decisive evidence of some kind.
 */
export function evidenceFusion(lists: readonly SignalList[], options: EvidenceFusionOptions): FusedHit[] {
  const tieBreak = new Map(reciprocalRankFusion(lists).map((h) => [targetKey(h.target), h]));
  const totals = new Map<string, { evidence: number; tier: number }>();
  const tierBySignal = new Map<string, number>();
  for (const list of lists) {
    for (const [key, scored] of scoreList(list, options)) {
      const total = totals.get(key) ?? { evidence: 0, tier: 0 };
      total.evidence += scored.evidence;
      // A signal that appears in two lists (VISUAL by cosine and by hash) earns its tier once.
      const signalKey = `${key}|${list.signal}`;
      const previous = tierBySignal.get(signalKey) ?? 0;
      if (scored.tier > previous) {
        total.tier += scored.tier - previous;
        tierBySignal.set(signalKey, scored.tier);
      }
      totals.set(key, total);
    }
  }
  const fused = [...tieBreak.entries()].map(([key, hit]) => {
    const { evidence, tier } = totals.get(key) ?? { evidence: 0, tier: 0 };
    const graded = evidence / (1 + evidence);
    return { hit: { ...hit, score: (Math.min(tier, MAX_TIER) + graded) / (MAX_TIER + 1) }, rrf: hit.score };
  });
  fused.sort((a, b) => b.hit.score - a.hit.score || b.rrf - a.rrf);
  return fused.map((f) => f.hit);
}

export type FusionMethod = 'evidence' | 'rrf' | 'rsf' | 'dbsf';
export const FUSION_METHODS: readonly FusionMethod[] = ['evidence', 'rrf', 'rsf', 'dbsf'];

export function fuse(method: FusionMethod, lists: readonly SignalList[], options: EvidenceFusionOptions): FusedHit[] {
  switch (method) {
    case 'evidence':
      return evidenceFusion(lists, options);
    case 'rrf':
      return reciprocalRankFusion(lists);
    case 'rsf':
      return relativeScoreFusion(lists);
    case 'dbsf':
      return distributionBasedScoreFusion(lists);
  }
}
