import { describe, expect, it } from 'vitest';
import {
  distributionBasedScoreFusion,
  evidenceFusion,
  isNearCopy,
  reciprocalRankFusion,
  relativeScoreFusion,
  robustScale,
  type EvidenceFusionOptions,
  type SignalList,
} from '../../src/search/fusion.js';
import type { Candidate } from '../../src/store/knowledge-store.js';

const page = (documentId: string, score: number, extra: Partial<Candidate> = {}): Candidate => ({ target: { kind: 'page', documentId, pageNumber: 1 }, score, ...extra });
const photo = (photoId: string, score: number): Candidate => ({ target: { kind: 'photo', photoId }, score });
const ids = (hits: { target: Candidate['target'] }[]) => hits.map((h) => (h.target.kind === 'page' ? h.target.documentId : h.target.photoId));
const OPTIONS: EvidenceFusionOptions = { queryIdentifiers: 0, nearCopySimilarity: null, minKeywordCoverage: 0.75 };

/** A list of near-equal cosines, as a model without meaning gives: nothing stands out. */
function noise(prefix: string, n = 20, base = 0.2): Candidate[] {
  return Array.from({ length: n }, (_, i) => page(`${prefix}${i}`, base - i * 0.001 + (i % 3) * 0.0004));
}

describe('evidence fusion', () => {
  it('ranks the one page holding the query words above pages that appear weakly in every list (issue 11)', () => {
    const weak = ['w1', 'w2', 'w3', 'w4'];
    const lists: SignalList[] = [
      { signal: 'SEMANTIC', candidates: [...weak.map((d, i) => page(d, 0.21 - i * 0.0005)), ...noise('s')] },
      { signal: 'CROSS_MODAL', candidates: [...weak.map((d, i) => page(d, 0.31 - i * 0.0005)), ...noise('c', 20, 0.3)] },
      {
        signal: 'KEYWORD',
        candidates: [page('fault-codes', 9.1, { coverage: 1 }), ...weak.map((d, i) => page(d, 2 - i * 0.1, { coverage: 0.2 }))],
      },
    ];
    // Plain RRF puts the page after the four that appear in three lists.
    expect(ids(reciprocalRankFusion(lists)).indexOf('fault-codes')).toBe(4);
    const fused = evidenceFusion(lists, OPTIONS);
    expect(ids(fused)[0]).toBe('fault-codes');
    expect(fused[0]!.matchedBy).toEqual(['KEYWORD']);
  });

  it('gives a list of noise no weight, and a list whose best stands out its full weight', () => {
    const standsOut = [page('match', 0.9), ...noise('n')];
    const fusedOut = evidenceFusion([{ signal: 'SEMANTIC', candidates: standsOut }], OPTIONS);
    expect(ids(fusedOut)[0]).toBe('match');
    expect(fusedOut[0]!.score).toBeGreaterThan(0.05);
    const flat = evidenceFusion([{ signal: 'SEMANTIC', candidates: noise('n') }], OPTIONS);
    // No graded evidence at all: scores are 0 and the order falls back to the list's own ranks.
    expect(flat.every((h) => h.score === 0)).toBe(true);
    expect(ids(flat).slice(0, 3)).toEqual(['n0', 'n1', 'n2']);
  });

  it('ranks an exact identifier match first, with the share of the query identifiers it holds', () => {
    const lists: SignalList[] = [
      { signal: 'SEMANTIC', candidates: [page('semantic-best', 0.9), ...noise('n')] },
      { signal: 'IDENTIFIER', candidates: [page('both', 2), page('one', 1)] },
    ];
    const fused = evidenceFusion(lists, { ...OPTIONS, queryIdentifiers: 2 });
    expect(ids(fused).slice(0, 3)).toEqual(['both', 'one', 'semantic-best']);
  });

  it('ranks a near-copy photo first even when other targets have more lists (greyscale copy)', () => {
    const lists: SignalList[] = [
      { signal: 'VISUAL', candidates: [photo('retina', 0.993), photo('motorcycle', 0.95), ...Array.from({ length: 10 }, (_, i) => photo(`p${i}`, 0.9 - i * 0.01))] },
      { signal: 'CROSS_MODAL', candidates: [photo('motorcycle', 0.3), ...Array.from({ length: 10 }, (_, i) => photo(`p${i}`, 0.29 - i * 0.001))] },
    ];
    expect(ids(evidenceFusion(lists, OPTIONS))[0]).toBe('retina');
  });

  it('ranks a layout copy (a scanned page) as decisive, and lets no cosine call a mostly white query image a copy', () => {
    // What the test model does with scans: every page render ≈ 0.9997, one slightly higher.
    const visual: SignalList = { signal: 'VISUAL', candidates: [page('other-scan', 0.99997), page('scan', 0.9998), ...Array.from({ length: 10 }, (_, i) => page(`p${i}`, 0.9997 - i * 1e-5))] };
    const cross: SignalList = { signal: 'CROSS_MODAL', candidates: [page('p1', 0.05), page('p2', 0.04)] };
    const layout: SignalList = { signal: 'VISUAL', basis: 'page-layout', candidates: [page('scan', 0.992, { layoutCorrelation: 0.992 })] };
    const white = { ...OPTIONS, cosineNearCopies: false };
    const withLayout = evidenceFusion([layout, visual, cross], white);
    expect(ids(withLayout)[0]).toBe('scan');
    expect(withLayout[0]!.score).toBeGreaterThanOrEqual(1 / 3);
    expect(withLayout[0]!.matchedBy).toEqual(['VISUAL']);
    // A different scan stored, its copy not: the ratio test would call 'other-scan' a copy; for a white image it may not.
    expect(evidenceFusion([visual, cross], OPTIONS)[0]!.score).toBeGreaterThanOrEqual(1 / 3);
    expect(evidenceFusion([{ ...layout, candidates: [] }, visual, cross], white).every((h) => h.score < 1 / 3)).toBe(true);
  });

  it('keeps scores in [0, 1) and sorted', () => {
    const fused = evidenceFusion(
      [
        { signal: 'IDENTIFIER', candidates: [page('a', 1)] },
        { signal: 'KEYWORD', candidates: [page('a', 3, { coverage: 1 }), page('b', 1, { coverage: 1 })] },
        { signal: 'VISUAL', candidates: [page('a', 0.999), page('c', 0.8)] },
      ],
      { ...OPTIONS, queryIdentifiers: 1 },
    );
    for (const hit of fused) expect(hit.score >= 0 && hit.score < 1).toBe(true);
    expect(fused.map((h) => h.score)).toEqual([...fused.map((h) => h.score)].sort((x, y) => y - x));
    expect(fused[0]!.matchedBy.sort()).toEqual(['IDENTIFIER', 'KEYWORD', 'VISUAL']);
  });
});

describe('near-copy test', () => {
  it('is scale-free: a copy passes wherever the model puts its cosines, two distinct photos do not', () => {
    expect(isNearCopy(0.993, 0.95, null)).toBe(true); // greyscale copy of a reference photo
    expect(isNearCopy(1, 0.95, null)).toBe(true); // WebP re-encode
    expect(isNearCopy(0.971, 0.96, null)).toBe(false); // a motorcycle vs a retina photo (issue 11)
    expect(isNearCopy(0.9997, 0.9997, null)).toBe(false); // page renders a model cannot tell apart
    // The same images on a model whose cosines are squeezed towards 1: the ratio is unchanged.
    expect(isNearCopy(1 - 0.007 / 10, 1 - 0.05 / 10, null)).toBe(true);
    expect(isNearCopy(1 - 0.029 / 10, 1 - 0.04 / 10, null)).toBe(false);
    expect(isNearCopy(0.999, undefined, null)).toBe(false);
  });

  it('uses the calibrated threshold when the model has one', () => {
    expect(isNearCopy(0.97, 0.969, 0.96)).toBe(true);
    expect(isNearCopy(0.95, 0.5, 0.96)).toBe(false);
  });
});

describe('baseline score fusions', () => {
  const lists: SignalList[] = [
    { signal: 'SEMANTIC', candidates: [page('a', 0.9), page('b', 0.5), page('c', 0.1)] },
    { signal: 'KEYWORD', candidates: [page('c', 4), page('b', 2)] },
  ];
  it('relative score fusion min-max scales each list', () => {
    const fused = relativeScoreFusion(lists);
    // a: 1 + 0; b: 0.5 + 0; c: 0 + 1.
    expect(fused.map((h) => [ids([h])[0], h.score])).toEqual([
      ['a', 1],
      ['c', 1],
      ['b', 0.5],
    ]);
  });
  it('distribution-based score fusion scales by mean ± 3σ', () => {
    const fused = distributionBasedScoreFusion(lists);
    const sd = Math.sqrt(((0.9 - 0.5) ** 2 + 0 + (0.1 - 0.5) ** 2) / 3);
    const a = (0.9 - (0.5 - 3 * sd)) / (6 * sd);
    expect(fused.find((h) => ids([h])[0] === 'a')!.score).toBeCloseTo(a, 10);
  });
  it('robustScale needs a background', () => {
    expect(robustScale([1, 2, 3])).toBeNull();
    expect(robustScale([1, 1, 1, 1, 1, 1, 1, 1, 1, 9])!.center).toBe(1);
  });
});
