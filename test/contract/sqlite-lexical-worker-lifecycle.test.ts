/**
 * When the lexical worker (store/sqlite/lexical-thread.ts) runs, on a real SQLite file: not at
 * open (each costs ~35 MB and ~0.7 s of CPU per tenant store, and CLIs that never search should
 * not pay), started by the first large search, which ranks on the calling thread meanwhile;
 * ended after an idle spell and started again by the next search; closing the store while it
 * starts ends it cleanly. The answers are the calling thread's on every path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import { axis, CONTRACT_DIM, CONTRACT_MODEL_ID, newDocument, type PageSpec } from './knowledge-store.contract.js';

const WORDS = 'pump valve seal gasket bearing shaft impeller motor filter pressure flow sensor coupling housing flange bolt torque'.split(' ');
const PAGES = 120;
const QUERIES = ['pump valve', 'seal gasket bearing', 'torque', 'flange bolt pressure', 'impeller'];

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('lexical worker lifecycle: lazy start, idle stop, close while starting', () => {
  let dir: string;
  let file: string;
  let here: SqliteKnowledgeStore;
  const open: SqliteKnowledgeStore[] = [];

  async function store(lexicalWorkerMinRows: number): Promise<SqliteKnowledgeStore> {
    const s = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, lexicalWorkerMinRows });
    await s.init();
    open.push(s);
    return s;
  }

  async function sameAsHere(s: SqliteKnowledgeStore): Promise<void> {
    for (const query of QUERIES) expect(await s.searchLexical(query, 10)).toEqual(await here.searchLexical(query, 10));
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-lexical-lifecycle-'));
    file = path.join(dir, 'fieldscope.db');
    here = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, lexicalWorkerMinRows: Number.POSITIVE_INFINITY });
    await here.init();
    const pages: PageSpec[] = Array.from({ length: PAGES }, (_, p) => ({
      text: Array.from({ length: 6 + (p % 9) }, (_, w) => WORDS[(p * 7 + w * w) % WORDS.length]).join(' '),
      image: axis(p % 8, (p + 1) % 8, 0.3),
    }));
    await here.addDocument(newDocument({ id: 'manual', pages }));
  }, 60_000);

  afterAll(async () => {
    for (const s of open) await s.close();
    await here?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts no worker at open, nor for a store below lexicalWorkerMinRows; the first large search starts it and ranks here meanwhile', async () => {
    const small = await store(PAGES + 1);
    const large = await store(PAGES);
    expect(small.lexicalThreadForTests()!.state).toBe('stopped');
    expect(large.lexicalThreadForTests()!.state).toBe('stopped');
    expect(large.lexicalThreadForTests()!.starts).toBe(0);

    await sameAsHere(small);
    expect(small.lexicalThreadForTests()!.starts).toBe(0);

    const thread = large.lexicalThreadForTests()!;
    expect(await large.searchLexical('pump valve', 10)).toEqual(await here.searchLexical('pump valve', 10));
    expect(thread.starts).toBe(1);
    expect(thread.answered).toBe(0); // ranked on the calling thread while the worker loads
    await thread.start();
    expect(thread.state).toBe('ready');
    await sameAsHere(large);
    expect(thread.answered).toBe(QUERIES.length); // and now by the worker
    expect(thread.starts).toBe(1);
    // searchSignals on the worker path: the same lists.
    const query = { text: { vector: axis(1), words: 'seal gasket', identifiers: [] }, image: { vector: axis(2), hash: null, maxHashDistance: 6 } };
    expect(await large.searchSignals(query, 10)).toEqual(await here.searchSignals(query, 10));
  });

  it('ends a worker left idle, and the next search starts it again with the same answers', async () => {
    const s = await store(0);
    const thread = s.lexicalThreadForTests()!;
    thread.idleMs = 500;
    await thread.start();
    await sameAsHere(s);
    const answered = thread.answered;
    expect(answered).toBe(QUERIES.length);
    await until(() => thread.state === 'stopped');
    expect(thread.idleStops).toBe(1);

    // After idle: ranked here while a new worker starts, then by it.
    await sameAsHere(s);
    expect(thread.starts).toBe(2);
    await thread.start();
    await sameAsHere(s);
    expect(thread.answered).toBe(answered + QUERIES.length);

    // A worker kept busy is not ended: searches more often than idleMs keep it.
    for (let i = 0; i < 6; i++) {
      await sameAsHere(s);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(thread.state).toBe('ready');
    expect(thread.idleStops).toBe(1);
    await until(() => thread.state === 'stopped');
    expect(thread.idleStops).toBe(2);
  });

  it('closing the store while the worker starts ends it; nothing is left waiting', async () => {
    const s = await store(0);
    const thread = s.lexicalThreadForTests()!;
    expect(await s.searchLexical('torque', 10)).toEqual(await here.searchLexical('torque', 10));
    expect(thread.state).toBe('starting');
    const starting = thread.start();
    await s.close();
    expect(thread.state).toBe('stopped');
    await expect(starting).rejects.toThrow(/lexical search worker/);
    await expect(s.searchLexical('torque', 10)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // And a store closed before any search never started one.
    const unused = await store(0);
    await unused.close();
    expect(unused.lexicalThreadForTests()).toBeNull();
  });
});
