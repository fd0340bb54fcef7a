/**
 * The lexical plan (store/sqlite/lexical-top-k.ts) against FTS5's own bm25 over every term, on a
 * real SQLite store: for hundreds of random queries — common words (some on more than half the
 * pages, the "weightless" ones), rare words, part numbers (multi-token phrases), stems, words
 * absent from the corpus, duplicate pages (exact ties), filters — the fast top k must be the
 * exact top k, in the same order, with the same scores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candidate, HitTarget, SearchFilter } from '../../src/store/knowledge-store.js';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import { CONTRACT_DIM, CONTRACT_MODEL_ID, newDocument } from './knowledge-store.contract.js';
import { lexicalCorpus } from './lexical-corpus.js';


const key = (t: HitTarget): string => (t.kind === 'page' ? `${t.documentId}#${t.pageNumber}` : `photo:${t.photoId}`);
const ranked = (hits: Candidate[]): string[] => hits.map((h) => key(h.target));

describe('lexical top k: the plan equals FTS5 bm25 over every term', () => {
  let dir: string;
  let fast: SqliteKnowledgeStore;
  let exact: SqliteKnowledgeStore;
  const { random, pageWords, queryTerms } = lexicalCorpus(20261130);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-lexical-'));
    const file = path.join(dir, 'fieldscope.db');
    fast = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID });
    await fast.init();
    for (let d = 0; d < 8; d++) {
      const pages: { text: string }[] = [];
      for (let p = 0; p < 60; p++) {
        const words = pageWords();
        // Copies of earlier pages: equal scores, so the order among them is the rowid's.
        pages.push({ text: p > 0 && random() < 0.1 ? pages[Math.floor(random() * p)]!.text : words.join(' ') });
      }
      await fast.addDocument(newDocument({ id: `manual-${d}`, metadata: { site: d % 2 === 0 ? 'north' : 'south' }, pages }));
    }
    exact = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, lexicalSearch: 'exact' });
    await exact.init();
  });

  afterAll(async () => {
    await fast?.close();
    await exact?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function randomQuery(): string {
    const terms = queryTerms();
    if (random() < 0.1) terms.push('pumps'); // a stem of "pump"
    if (random() < 0.05) terms.push('zebraword'); // on no page
    return terms.join(' ');
  }

  async function expectSame(query: string, limit: number, filter?: SearchFilter): Promise<void> {
    const want = await exact.searchLexical(query, limit, filter);
    const got = await fast.searchLexical(query, limit, filter);
    const label = `${JSON.stringify(query)} limit ${limit} ${JSON.stringify(filter ?? {})}`;
    expect(ranked(got), label).toEqual(ranked(want));
    got.forEach((hit, i) => expect(hit.score, label).toBeCloseTo(want[i]!.score, 12));
  }

  it('has weightless words in the corpus (on at least half the pages), or the test would not exercise them', async () => {
    const onHalf = (await exact.searchLexical('pump', 1000)).length;
    expect(onHalf).toBeGreaterThanOrEqual(240);
  });

  it('gives the exact top k for random queries, unfiltered', async () => {
    for (let q = 0; q < 300; q++) await expectSame(randomQuery(), [1, 5, 10, 30][q % 4]!);
  });

  it('gives the exact top k under filters (metadata, documents)', async () => {
    const filters: SearchFilter[] = [{ metadata: { site: 'north' } }, { documentIds: ['manual-3'] }, { documentIds: ['manual-1', 'manual-6'] }];
    for (let q = 0; q < 150; q++) await expectSame(randomQuery(), [3, 10][q % 2]!, filters[q % filters.length]);
  });

  it('with the conjunction budget spent before the proof, returns pages with their exact scores, best first', async () => {
    const budgeted = new SqliteKnowledgeStore({ file: path.join(dir, 'fieldscope.db'), dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, lexicalPlanBudget: 1 });
    await budgeted.init();
    try {
      let differed = 0;
      for (let q = 0; q < 100; q++) {
        const query = randomQuery();
        const got = await budgeted.searchLexical(query, 5);
        const every = new Map((await exact.searchLexical(query, 1000)).map((h) => [key(h.target), h.score]));
        const want = await exact.searchLexical(query, 5);
        if (ranked(got).join() !== ranked(want).join()) differed++;
        for (let i = 0; i < got.length; i++) {
          expect(got[i]!.score, query).toBeCloseTo(every.get(key(got[i]!.target))!, 12);
          if (i > 0) expect(got[i]!.score).toBeLessThanOrEqual(got[i - 1]!.score);
        }
      }
      // One conjunction is often not enough: the budget really cut plans short (else this test shows nothing).
      expect(differed).toBeGreaterThan(0);
    } finally {
      await budgeted.close();
    }
  });

  it('breaks exact ties by page order, as FTS5 does', async () => {
    const doc = newDocument({ id: 'ties', pages: Array.from({ length: 12 }, () => ({ text: 'okapiword gasket pump pump' })) });
    await fast.addDocument(doc);
    await expectSame('okapiword gasket pump', 5);
    const hits = await fast.searchLexical('okapiword gasket pump', 5);
    expect(hits.map((h) => (h.target.kind === 'page' ? h.target.pageNumber : 0))).toEqual([1, 2, 3, 4, 5]);
  });
});
