/**
 * The search bench's exact baseline (one pass scoring many queries at once) must give what the
 * store's own exact scan gives, query by query: recall figures are only as good as it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { exactTopTargets, sizePerTable, targetKeys } from '../../bench/exact-vector-baseline.js';
import { DIM, fill, makeQueries, reseed } from '../../bench/synthetic-corpus.js';
import type { Candidate } from '../../src/store/knowledge-store.js';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-baseline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = (c: Candidate): string => (c.target.kind === 'page' ? `${c.target.documentId}#${c.target.pageNumber}` : `photo:${c.target.photoId}`);

it('scores every query in one pass exactly as the exact scan does, best row per target', async () => {
  const file = path.join(dir, 'fieldscope.db');
  const store = new SqliteKnowledgeStore({ file, dim: DIM, modelId: 'bench', vectorSearch: 'exact' });
  await store.init();
  reseed(7);
  const { corpus, sources } = await fill(store, 300);
  const queries = makeQueries(corpus, sources, 6);
  const limit = 12;
  const chunkQueries = [...queries.text.map((q) => q.vector), ...queries.image];
  const chunkHits = exactTopTargets(file, 'chunk', chunkQueries, limit);
  const imageHits = exactTopTargets(file, 'image', queries.image, limit);
  const keys = targetKeys(file, [...new Set([...chunkHits, ...imageHits].flat().map((h) => h.targetId))]);

  for (const [i, q] of chunkQueries.entries()) {
    const want = await store.searchChunks(q, limit);
    expect(want).toHaveLength(limit);
    expect(chunkHits[i]!.map((h) => keys.get(h.targetId))).toEqual(want.map(key));
    chunkHits[i]!.forEach((h, r) => expect(h.score).toBeCloseTo(want[r]!.score, 5));
  }
  for (const [i, q] of queries.image.entries()) {
    const want = await store.searchImages(q, limit);
    expect(imageHits[i]!.map((h) => keys.get(h.targetId))).toEqual(want.map(key));
  }
  await store.close();

  const sizes = sizePerTable(file);
  expect(sizes.find((t) => t.name === 'chunk_vectors')!.payload).toBeGreaterThan(300 * 3 * DIM * 4);
});
