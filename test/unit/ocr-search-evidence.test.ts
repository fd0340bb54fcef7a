/**
 * What is read on a query photo as search evidence (pure parts and the search service with
 * hand-written fakes): a surely read identifier is decisive, a doubtful one and read words are
 * graded only; the read runs beside the embedding and never takes the search down with it.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ClipEncoder } from '../../src/clip/clip-encoder.js';
import { InvalidImageError, OverloadedError } from '../../src/errors.js';
import { identifierConfidences } from '../../src/ocr/read-text-result.js';
import type { ReadTextResult, TextReader } from '../../src/ocr/text-reader.js';
import { evidenceFusion, READ_EVIDENCE, type EvidenceFusionOptions, type SignalList } from '../../src/search/fusion.js';
import { readEvidence, SearchService } from '../../src/search/search-service.js';
import { hitRecordsOneByOne, searchSignalsOneByOne, type Candidate, type HitTarget, type KnowledgeStore, type PageRecord, type SignalQuery } from '../../src/store/knowledge-store.js';

const page = (documentId: string, score: number, extra: Partial<Candidate> = {}): Candidate => ({ target: { kind: 'page', documentId, pageNumber: 1 }, score, ...extra });
const ids = (hits: { target: Candidate['target'] }[]) => hits.map((h) => (h.target.kind === 'page' ? h.target.documentId : h.target.photoId));
const OPTIONS: EvidenceFusionOptions = { queryIdentifiers: 0, nearCopySimilarity: null, minKeywordCoverage: 0.75 };
// A real (tiny) image: the search hashes it for near-copies after the encoder accepted it.
const photo = new Uint8Array(await sharp({ create: { width: 16, height: 12, channels: 3, background: '#8a8f94' } }).png().toBuffer());
const noise = (prefix: string, n = 20, base = 0.2) => Array.from({ length: n }, (_, i) => page(`${prefix}${i}`, base - i * 0.001 + (i % 3) * 0.0004));

/** A nameplate read: the model line, the serial line, and a maker line (no identifier). */
function plate(modelConfidence: number): ReadTextResult {
  const box: [number, number, number, number] = [0, 0, 1, 0.2];
  return {
    text: 'MODEL XV-300\nSERIAL 55-1234-A\nACME PUMPS GERMANY',
    identifiers: ['XV-300', '55-1234-A'],
    regions: [
      { text: 'MODEL XV-300', confidence: modelConfidence, box },
      { text: 'SERIAL 55-1234-A', confidence: 0.99, box },
      { text: 'ACME PUMPS GERMANY', confidence: 0.88, box },
    ],
    codes: [],
  };
}

describe('identifier confidences of a reading', () => {
  it('takes each identifier its region confidence (the best when read twice) and a code value 1', () => {
    const confidences = identifierConfidences({
      regions: [
        { text: 'MODEL XV-300', confidence: 0.7, box: [0, 0, 1, 1] },
        { text: 'xv300 PK-3310', confidence: 0.93, box: [0, 0, 1, 1] },
      ],
      codes: [{ format: 'QR_CODE', value: 'PK-3310' }],
    });
    expect(Object.fromEntries(confidences)).toEqual({ XV300: 0.93, PK3310: 1 });
  });

  it('a candidate is as sure as the surest identifier it matched, however the page spells it', () => {
    const evidence = readEvidence(plate(0.6));
    expect(evidence.identifiers).toBe(2);
    expect(evidence.confidence(page('m', 1, { matchedText: 'xv 300' }))).toBe(0.6);
    expect(evidence.confidence(page('m', 2, { matchedText: 'XV300, 55-1234-A' }))).toBe(0.99);
    expect(evidence.confidence(page('m', 1, { matchedText: 'ZZ-1' }))).toBe(0);
  });
});

describe('fusing what was read', () => {
  const visualNoise: SignalList = { signal: 'VISUAL', candidates: noise('v', 20, 0.5) };

  it('a surely read identifier is decisive even when it is one of the plate identifiers, and the visual list is noise', () => {
    const read = readEvidence(plate(0.95));
    const lists: SignalList[] = [
      visualNoise,
      { signal: 'CROSS_MODAL', candidates: [page('pretty-picture', 0.9), ...noise('c')] },
      { signal: 'IDENTIFIER', candidates: [page('xv-manual', 1, { matchedText: 'XV-300' })], read },
      { signal: 'KEYWORD', candidates: [page('acme-brochure', 8, { coverage: 0.5 }), page('xv-manual', 2, { coverage: 0.2 })], read },
    ];
    const fused = evidenceFusion(lists, OPTIONS);
    expect(ids(fused)[0]).toBe('xv-manual');
    // Decisive: in the tier above anything graded (≥ 1/3, see fusion.ts).
    expect(fused[0]!.score).toBeGreaterThanOrEqual(1 / 3);
    expect(fused[0]!.matchedBy).toEqual(expect.arrayContaining(['IDENTIFIER', 'KEYWORD']));
  });

  it('an identifier read doubtfully is graded evidence only: a page holding a typed query\'s words outranks it', () => {
    const read = readEvidence(plate(READ_EVIDENCE.decisiveConfidence - 0.2));
    const fused = evidenceFusion(
      [
        { signal: 'IDENTIFIER', candidates: [page('maybe-xv', 1, { matchedText: 'XV-300' })], read },
        { signal: 'KEYWORD', candidates: [page('typed-words', 5, { coverage: 1 })] },
      ],
      OPTIONS,
    );
    expect(ids(fused)).toEqual(['typed-words', 'maybe-xv']);
    expect(fused[1]!.score).toBeGreaterThan(0);
    expect(fused[1]!.score).toBeLessThan(1 / 5);
  });

  it('read words weigh less than the same words typed and are never decisive', () => {
    const candidates = [page('covering', 5, { coverage: 1 }), page('other', 1, { coverage: 0.3 })];
    const typed = evidenceFusion([{ signal: 'KEYWORD', candidates }], OPTIONS);
    const read = evidenceFusion([{ signal: 'KEYWORD', candidates, read: readEvidence(plate(0.95)) }], OPTIONS);
    expect(ids(read)).toEqual(['covering', 'other']);
    expect(typed[0]!.score).toBeGreaterThanOrEqual(1 / 6);
    expect(read[0]!.score).toBeLessThan(1 / 6);
    expect(read[0]!.score).toBeGreaterThan(0);
  });

  it('more of the plate identifiers on one page orders pages within the decisive tier', () => {
    const read = readEvidence(plate(0.95));
    const fused = evidenceFusion([{ signal: 'IDENTIFIER', candidates: [page('one', 1, { matchedText: 'XV-300' }), page('both', 2, { matchedText: 'XV-300, 55-1234-A' })], read }], OPTIONS);
    expect(ids(fused)).toEqual(['both', 'one']);
    expect(fused[1]!.score).toBeGreaterThanOrEqual(1 / 3);
  });
});

describe('SearchService reading the query photo', () => {
  const vec = (x: number) => Float32Array.from([x, 1 - x]);
  const pages: Record<string, PageRecord> = {
    'xv:1': { documentId: 'xv', number: 1, text: 'XV-300 centrifugal pump. Installation and maintenance.', thumbnailKey: null, textSource: 'file' },
  };
  function encoder(fail?: Error): ClipEncoder {
    return {
      model: { id: 'fake', dim: 2, isTestModel: true },
      embedTexts: async (texts: readonly string[]) => texts.map(() => vec(0.5)),
      embedImages: async (images: readonly Uint8Array[]) => {
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw fail;
        return images.map(() => vec(0.5));
      },
    } as unknown as ClipEncoder;
  }
  /** Identifier look-ups answer the XV-300 page for XV-300; everything else is empty. */
  function store(asked: SignalQuery[]): KnowledgeStore {
    const fake = {
      searchChunks: async () => [],
      searchImages: async () => [],
      searchLexical: async () => [],
      searchIdentifiers: async (wanted: string[]) => (wanted.includes('XV-300') ? [page('xv', 1, { matchedText: 'XV-300' })] : []),
      searchImageHash: async () => [],
      searchImageLayout: async () => [],
      searchSignals: (query: SignalQuery, limit: number) => {
        asked.push(query);
        return searchSignalsOneByOne(fake, query, limit);
      },
      getHitRecords: (targets: HitTarget[]) => hitRecordsOneByOne(fake, targets),
      getDocument: async (id: string) => ({ id, title: id }),
      getPage: async (id: string, n: number) => pages[`${id}:${n}`] ?? null,
      getPhoto: async () => null,
    } as unknown as KnowledgeStore;
    return fake;
  }
  function reader(answer: () => Promise<ReadTextResult>): TextReader & { signals: (AbortSignal | undefined)[] } {
    const signals: (AbortSignal | undefined)[] = [];
    return {
      signals,
      readText: async (_image, options) => {
        signals.push(options?.signal);
        return answer();
      },
      close: async () => undefined,
    };
  }

  it('searches by the identifiers and words read, reports them, and finds the page', async () => {
    const asked: SignalQuery[] = [];
    const service = new SearchService(encoder(), store(asked), undefined, reader(async () => plate(0.95)));
    const result = await service.search({ image: photo });
    expect(asked[0]!.read).toEqual({ words: 'MODEL XV-300 SERIAL 55-1234-A ACME PUMPS GERMANY', identifiers: ['XV-300', '55-1234-A'] });
    expect(asked[0]!.text).toBeNull();
    expect(result.readText?.identifiers).toEqual(['XV-300', '55-1234-A']);
    expect(result.hits[0]!.page?.documentId).toBe('xv');
    expect(result.hits[0]!.matchedBy).toEqual(['IDENTIFIER']);
    expect(result.hits[0]!.snippet).toContain('XV-300');
    expect(result.noGoodMatch).toBe(false);
  });

  it('a doubtful reading alone is not a good match', async () => {
    const service = new SearchService(encoder(), store([]), undefined, reader(async () => plate(0.5)));
    const result = await service.search({ image: photo });
    expect(result.hits[0]!.page?.documentId).toBe('xv');
    expect(result.noGoodMatch).toBe(true);
  });

  it('without a reader (OCR=off) and for a text-only query, readText is null and nothing read is asked', async () => {
    const asked: SignalQuery[] = [];
    const off = await new SearchService(encoder(), store(asked)).search({ image: photo });
    expect(off.readText).toBeNull();
    const textOnly = await new SearchService(encoder(), store(asked), undefined, reader(async () => plate(0.95))).search({ text: 'pump' });
    expect(textOnly.readText).toBeNull();
    expect(asked.map((q) => q.read ?? null)).toEqual([null, null]);
  });

  it('a failed read (OCR queue full) leaves a visual search, reported to the log', async () => {
    const failures: unknown[] = [];
    const service = new SearchService(encoder(), store([]), undefined, reader(async () => Promise.reject(new OverloadedError('busy', 1000))), (e) => failures.push(e));
    const result = await service.search({ image: photo });
    expect(result.readText).toBeNull();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'OVERLOADED' });
  });

  it('a bad image keeps the encoder\'s error, and the read it started is cancelled', async () => {
    const slow = reader(() => new Promise<ReadTextResult>((_, reject) => setTimeout(() => reject(new Error('reader error')), 50)));
    const service = new SearchService(encoder(new InvalidImageError('INVALID_IMAGE', 'bad')), store([]), undefined, slow);
    await expect(service.search({ image: photo })).rejects.toMatchObject({ code: 'INVALID_IMAGE' });
    expect(slow.signals[0]?.aborted).toBe(true);
  });

  it('the caller\'s deadline reaches the read and stops the search', async () => {
    const deadline = new AbortController();
    const hanging = reader(() => new Promise<ReadTextResult>(() => undefined));
    const service = new SearchService(encoder(), store([]), undefined, hanging);
    const searching = service.search({ image: photo, signal: deadline.signal });
    setTimeout(() => deadline.abort(new Error('deadline')), 20);
    await expect(searching).rejects.toThrow('deadline');
    expect(hanging.signals[0]?.aborted).toBe(true);
  });
});
