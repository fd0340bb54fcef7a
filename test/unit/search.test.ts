import { describe, expect, it } from 'vitest';
import type { ClipEncoder } from '../../src/clip/clip-encoder.js';
import { reciprocalRankFusion, standOut } from '../../src/search/fusion.js';
import { SearchService } from '../../src/search/search-service.js';
import { contentTerms, excerpt, termCoverage } from '../../src/search/snippet.js';
import { hitRecordsOneByOne, searchSignalsOneByOne, type Candidate, type HitTarget, type KnowledgeStore, type PageRecord, type SignalQuery } from '../../src/store/knowledge-store.js';

const page = (documentId: string, pageNumber: number, score = 1): Candidate => ({ target: { kind: 'page', documentId, pageNumber }, score });

describe('reciprocal-rank fusion', () => {
  it('rewards agreement between signals over a single first place', () => {
    const fused = reciprocalRankFusion([
      { signal: 'SEMANTIC', candidates: [page('a', 1), page('b', 1), page('c', 1)] },
      { signal: 'KEYWORD', candidates: [page('c', 1), page('b', 1)] },
    ]);
    // c: 1/63 + 1/61, b: 1/62 + 1/62, a: 1/61 alone.
    expect(fused.map((h) => h.target)).toEqual([page('c', 1).target, page('b', 1).target, page('a', 1).target]);
    expect(fused[0]!.matchedBy).toEqual(['SEMANTIC', 'KEYWORD']);
    expect(fused[0]!.evidence.KEYWORD?.rank).toBe(1);
    expect(fused[2]!.matchedBy).toEqual(['SEMANTIC']);
  });

  it('weighs a list, or each candidate by its own score', () => {
    const fused = reciprocalRankFusion([
      { signal: 'SEMANTIC', candidates: [page('a', 1), page('b', 1)] },
      { signal: 'VISUAL', candidates: [page('b', 1, 0.99), page('a', 1, 0.2)], weight: (c) => (c.score > 0.95 ? 3 : 1) },
    ]);
    expect(fused[0]!.target).toEqual(page('b', 1).target);
  });

  it('lets a signal vote once per target (its best rank)', () => {
    const fused = reciprocalRankFusion([{ signal: 'SEMANTIC', candidates: [page('a', 1), page('a', 1)] }]);
    expect(fused).toHaveLength(1);
    expect(fused[0]!.score).toBeCloseTo(1 / 61);
  });
});

describe('standOut', () => {
  it('is large when the best score is far above the background and small when it is not', () => {
    const background = [0.31, 0.3, 0.29, 0.3, 0.32, 0.28, 0.3, 0.31, 0.29, 0.3];
    expect(standOut([0.9, ...background])!).toBeGreaterThan(10);
    expect(standOut([0.33, ...background])!).toBeLessThan(4);
  });

  it('declines to judge a list too short to have a background', () => {
    expect(standOut([0.9, 0.1, 0.2])).toBeNull();
  });
});

describe('snippets', () => {
  const text = `${'Intro text about the pump. '.repeat(20)}Replace seal kit 4471-B and torque to 25 Nm. ${'More text. '.repeat(30)}`;

  it('centres on an identifier whatever its separators', () => {
    expect(excerpt(text, { identifiers: ['4471B'] })).toContain('4471-B');
  });

  it('falls back to the first query word, then to the start', () => {
    expect(excerpt(text, { terms: ['torque'] })).toContain('torque to 25 Nm');
    expect(excerpt(text, {}).startsWith('Intro text')).toBe(true);
  });

  it('measures how much of a query a text covers, ignoring stopwords', () => {
    expect(contentTerms('How do I replace the seal?')).toEqual(['replace', 'seal']);
    expect(termCoverage(['replace', 'seal'], 'Replace the seal kit')).toBe(1);
    expect(termCoverage(['replace', 'gasket'], 'Replace the seal kit')).toBe(0.5);
  });
});

describe('SearchService', () => {
  const vec = (x: number) => Float32Array.from([x, 1 - x]);
  const encoder = {
    model: { id: 'fake', dim: 2, isTestModel: true },
    embedTexts: async (texts: readonly string[]) => texts.map(() => vec(0.5)),
    embedImages: async (images: readonly Uint8Array[]) => images.map(() => vec(0.5)),
  } as unknown as ClipEncoder;
  const pages: Record<string, PageRecord> = {
    'a:1': { documentId: 'a', number: 1, text: 'Replace seal kit 4471-B on the P-200 pump.', thumbnailKey: null, textSource: 'file' },
    'b:1': { documentId: 'b', number: 1, text: 'Ball valve SOP.', thumbnailKey: null, textSource: 'file' },
  };
  function store(lists: Partial<Record<'chunks' | 'images' | 'lexical' | 'identifiers' | 'hashes' | 'layouts', Candidate[]>>): KnowledgeStore {
    const fake = {
      searchChunks: async () => lists.chunks ?? [],
      searchImages: async () => lists.images ?? [],
      searchLexical: async () => lists.lexical ?? [],
      searchIdentifiers: async () => lists.identifiers ?? [],
      searchImageHash: async () => lists.hashes ?? [],
      searchImageLayout: async () => lists.layouts ?? [],
      searchSignals: (query: SignalQuery, limit: number) => searchSignalsOneByOne(fake, query, limit),
      getHitRecords: (targets: HitTarget[]) => hitRecordsOneByOne(fake, targets),
      getDocument: async (id: string) => ({ id, title: id }),
      getPage: async (id: string, n: number) => pages[`${id}:${n}`] ?? null,
      getPhoto: async () => null,
    } as unknown as KnowledgeStore;
    return fake;
  }

  it('refuses an empty query and a limit out of range', async () => {
    const service = new SearchService(encoder, store({}));
    await expect(service.search({ text: '  ' })).rejects.toMatchObject({ code: 'EMPTY_QUERY' });
    await expect(service.search({ text: 'pump', limit: 0 })).rejects.toMatchObject({ code: 'INVALID_LIMIT' });
    await expect(service.search({ text: 'pump', limit: 101 })).rejects.toMatchObject({ code: 'INVALID_LIMIT' });
  });

  it('an exact identifier is a good match', async () => {
    const result = await new SearchService(encoder, store({ identifiers: [page('a', 1)], chunks: [page('b', 1, 0.3), page('a', 1, 0.3)] })).search({ text: '4471b' });
    expect(result.noGoodMatch).toBe(false);
    expect(result.hits[0]!.page?.documentId).toBe('a');
    expect(result.hits[0]!.snippet).toContain('4471-B');
  });

  it('the best of a bad lot is not a good match', async () => {
    const flat = Array.from({ length: 20 }, (_, i) => page(`d${i}`, 1, 0.3 + (i % 3) * 0.001));
    const result = await new SearchService(encoder, store({ chunks: flat, images: flat })).search({ text: 'zebra quantum pancake' });
    expect(result.hits.length).toBeGreaterThan(0);
    expect(result.noGoodMatch).toBe(true);
  });

  it('a dense match that stands out from its background is a good match', async () => {
    const flat = Array.from({ length: 20 }, (_, i) => page(`d${i}`, 1, 0.3 + (i % 3) * 0.001));
    const result = await new SearchService(encoder, store({ chunks: [page('a', 1, 0.9), ...flat] })).search({ text: 'something else entirely' });
    expect(result.noGoodMatch).toBe(false);
  });

  it('a page containing the query words is a good match', async () => {
    const result = await new SearchService(encoder, store({ lexical: [page('b', 1, 2)] })).search({ text: 'ball valve' });
    expect(result.noGoodMatch).toBe(false);
  });
});
