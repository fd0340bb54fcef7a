/**
 * The lexical worker (store/sqlite/lexical-worker.js) on a real SQLite file: ranked there, the
 * lexical signal must be exactly what the calling thread ranks (same targets, order, scores,
 * excerpts), alone and inside searchSignals; a search must see every write committed before it
 * started; a crashed worker fails the waiting search with SEARCH_WORKER_FAILED and the next
 * search gets a new worker; an aborted search stops waiting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchFilter, SignalQuery } from '../../src/store/knowledge-store.js';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import { axis, CONTRACT_DIM, CONTRACT_MODEL_ID, newDocument, type PageSpec } from './knowledge-store.contract.js';
import { lexicalCorpus, PARTS } from './lexical-corpus.js';


describe('lexical worker: same answers as the calling thread, fresh reads, crashes, aborts', () => {
  let dir: string;
  let file: string;
  let here: SqliteKnowledgeStore;
  let worker: SqliteKnowledgeStore;
  const { random, pageWords, queryTerms } = lexicalCorpus(20261130);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-lexical-worker-'));
    file = path.join(dir, 'fieldscope.db');
    here = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, lexicalWorkerMinRows: Number.POSITIVE_INFINITY });
    await here.init();
    for (let d = 0; d < 6; d++) {
      const pages: PageSpec[] = [];
      for (let p = 0; p < 50; p++) {
        const words = pageWords();
        const text = words.join(' ');
        pages.push({ text, image: axis(p, p + 1, 0.3), chunks: [{ text, vector: axis(p + d, p, 0.5) }], identifiers: words.filter((w) => PARTS.includes(w)) });
      }
      await here.addDocument(newDocument({ id: `manual-${d}`, metadata: { site: d % 2 === 0 ? 'north' : 'south' }, pages }));
    }
    worker = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, lexicalWorkerMinRows: 0 });
    await worker.init();
    // Started lazily by the first search (sqlite-lexical-worker-lifecycle.test.ts); here, ready up front.
    await worker.lexicalThreadForTests()!.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await here?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function randomQuery(): string {
    const terms = queryTerms();
    if (random() < 0.05) terms.push('zebraword');
    return terms.join(' ');
  }

  it('ranks in the worker exactly as on the calling thread (targets, order, scores, excerpts, coverage)', async () => {
    const startsBefore = worker.lexicalThreadForTests()!.starts;
    const filters: (SearchFilter | undefined)[] = [undefined, { documentIds: ['manual-2', 'manual-3'] }, { metadata: { site: 'south' } }, { kinds: ['photo'] }];
    for (let i = 0; i < 120; i++) {
      const query = randomQuery();
      const limit = [1, 5, 10, 30][i % 4]!;
      const filter = filters[i % filters.length];
      const want = await here.searchLexical(query, limit, filter);
      const got = await worker.searchLexical(query, limit, filter);
      expect(got, `${query} limit ${limit} ${JSON.stringify(filter ?? {})}`).toEqual(want);
    }
    // It was the worker that answered (one started, none died).
    expect(worker.lexicalThreadForTests()!.starts).toBe(Math.max(1, startsBefore));
  });

  it('searchSignals gives the same lists either way', async () => {
    for (let i = 0; i < 20; i++) {
      const query: SignalQuery = {
        text: { vector: axis(i), words: randomQuery(), identifiers: i % 3 === 0 ? ['4471-B'] : [] },
        image: i % 2 === 0 ? { vector: axis(i + 1), hash: null, maxHashDistance: 6 } : null,
        read: i % 4 === 0 ? { words: randomQuery(), identifiers: [] } : null,
      };
      expect(await worker.searchSignals(query, 30)).toEqual(await here.searchSignals(query, 30));
    }
  });

  it('a bad filter keeps its code through the worker path', async () => {
    await expect(worker.searchLexical('pump', 10, { documentIds: 'manual-1' as unknown as string[] })).rejects.toMatchObject({ code: 'INVALID_FILTER' });
  });

  it('sees every write committed before the search started (its own connection reads the latest WAL snapshot)', async () => {
    for (let round = 0; round < 3; round++) {
      const word = `freshword${round}x`;
      expect(await worker.searchLexical(word, 10)).toEqual([]);
      // Written through the other connection, then searched at once through the worker.
      await here.addDocument(newDocument({ id: `fresh-${round}`, pages: [{ text: `a page about the ${word} gasket` }] }));
      const found = await worker.searchLexical(word, 10);
      expect(found.map((c) => c.target)).toEqual([{ kind: 'page', documentId: `fresh-${round}`, pageNumber: 1 }]);
      // And through the store's own connection, as the server writes and searches.
      await worker.addDocument(newDocument({ id: `own-${round}`, pages: [{ text: `${word} again on a second manual` }] }));
      const both = await worker.searchSignals({ text: { vector: axis(round), words: word, identifiers: [] } }, 10);
      expect(both.lexical.map((c) => c.target).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
        { kind: 'page', documentId: `fresh-${round}`, pageNumber: 1 },
        { kind: 'page', documentId: `own-${round}`, pageNumber: 1 },
      ]);
    }
    // A deletion too.
    await worker.deleteDocument('fresh-0');
    expect((await worker.searchLexical('freshword0x', 10)).map((c) => c.target)).toEqual([{ kind: 'page', documentId: 'own-0', pageNumber: 1 }]);
  });

  it('a crashed worker fails the waiting search with SEARCH_WORKER_FAILED, and the next search gets a new one', async () => {
    const thread = worker.lexicalThreadForTests()!;
    const want = await here.searchLexical('pump valve', 10);
    expect(await worker.searchLexical('pump valve', 10)).toEqual(want);
    const starts = thread.starts;
    thread.crashForTest(); // queued before the search: the worker dies before reading it
    await expect(worker.searchLexical('pump valve', 10)).rejects.toMatchObject({ code: 'SEARCH_WORKER_FAILED', category: 'UNAVAILABLE' });
    expect(await worker.searchLexical('pump valve', 10)).toEqual(want);
    expect(thread.starts).toBe(starts + 1);
    // searchSignals too: the lexical list's failure is the search's, with the same code.
    await thread.start(); // the new worker, once ready (while it starts, searches rank here)
    thread.crashForTest();
    await expect(worker.searchSignals({ text: { vector: axis(1), words: 'seal', identifiers: [] } }, 10)).rejects.toMatchObject({ code: 'SEARCH_WORKER_FAILED' });
    expect((await worker.searchSignals({ text: { vector: axis(1), words: 'seal', identifiers: [] } }, 10)).lexical).toEqual(await here.searchLexical('seal', 10));
    expect((await worker.storeStatus()).ready).toBe(true);
  });

  it('closing the store fails a search still waiting for the worker with UNAVAILABLE', async () => {
    const other = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, lexicalWorkerMinRows: 0 });
    await other.init();
    await other.lexicalThreadForTests()!.start();
    expect(await other.searchLexical('gasket', 10)).toEqual(await here.searchLexical('gasket', 10));
    // Its rejection is awaited from the start: it comes while close() waits for the worker to end.
    const pending = expect(other.searchLexical('pump valve seal', 30)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await other.close();
    await pending;
  });

  it('an aborted search stops waiting with the signal’s reason, and the worker serves the next one', async () => {
    const controller = new AbortController();
    const reason = new Error('deadline passed');
    await worker.lexicalThreadForTests()!.start();
    const pending = worker.searchSignals({ text: { vector: axis(2), words: 'pump valve seal gasket', identifiers: [] } }, 30, undefined, { signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    // Already aborted: nothing is sent.
    await expect(worker.searchLexical('pump', 10, undefined, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(await worker.searchLexical('bearing', 10)).toEqual(await here.searchLexical('bearing', 10));
  });
});
