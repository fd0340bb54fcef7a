/**
 * The SQLite knowledge store: the shared contract (once as configured by default, once with the
 * quantized index forced on for every size), plus what only a file-backed store has —
 * migrations, reopening, start-up checks, crash safety, several connections on one file, and
 * the coarse index against exact search.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BinaryCodeIndex, quantize } from '../../src/store/sqlite/binary-index.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { SqliteKnowledgeStore, type SqliteKnowledgeStoreOptions } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import type { KnowledgeStore } from '../../src/store/knowledge-store.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { axis, CONTRACT_DIM, CONTRACT_MODEL_ID, defineKnowledgeStoreContract, newDocument, newPhoto, type PageSpec } from './knowledge-store.contract.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-store-'));
  tempDirs.push(dir);
  return dir;
}

async function openStore(options: Partial<SqliteKnowledgeStoreOptions> & { file: string }): Promise<SqliteKnowledgeStore> {
  const store = new SqliteKnowledgeStore({ dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, ...options });
  await store.init();
  return store;
}

defineKnowledgeStoreContract('SQLite', async () => {
  const dir = tempDir();
  const store = await openStore({ file: path.join(dir, 'fieldscope.db') });
  return { store, cleanup: () => store.close() };
});

defineKnowledgeStoreContract('SQLite, quantized index at every size', async () => {
  const dir = tempDir();
  const store = await openStore({ file: path.join(dir, 'fieldscope.db'), exactSearchThreshold: 0 });
  return { store, cleanup: () => store.close() };
});

defineKnowledgeStoreContract('SQLite, lexical ranking budget of 3 pages', async () => {
  const dir = tempDir();
  const store = await openStore({ file: path.join(dir, 'fieldscope.db'), lexicalRankBudget: 3 });
  return { store, cleanup: () => store.close() };
});

/** Row counts of every table, shadow tables of the full-text index included. */
function tableCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'`).pluck().all() as string[];
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number;
    return counts;
  } finally {
    db.close();
  }
}

function bigDocument(pages: number, chunksPerPage: number, dim: number, hash = 'big-document-hash'): ReturnType<typeof newDocument> {
  const specs: PageSpec[] = [];
  for (let p = 0; p < pages; p++) {
    const v = new Float32Array(dim).map((_, i) => Math.sin(p * 31 + i));
    specs.push({ text: `page ${p} of the big manual, sealwordx ${p}`, image: v, identifiers: [`BG-${p}`], chunks: Array.from({ length: chunksPerPage }, (_, c) => ({ text: `chunk ${c} of page ${p}`, vector: v.map((x, i) => x + Math.cos(c + i)) })) });
  }
  return newDocument({ id: 'big-document', hash, pages: specs });
}

describe('SqliteKnowledgeStore (file-specific)', () => {
  let dir: string;
  let file: string;
  const open: KnowledgeStore[] = [];
  async function track(store: SqliteKnowledgeStore): Promise<SqliteKnowledgeStore> {
    open.push(store);
    return store;
  }

  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, 'fieldscope.db');
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('runs migrations once: reopening is a no-op and keeps the data', async () => {
    const store = await openStore({ file });
    const doc = newDocument({ pages: [{ text: 'persistent lemurword', image: axis(1), chunks: [{ text: 'c', vector: axis(2) }], identifiers: ['PX-1'] }] });
    await store.addDocument(doc);
    await store.close();
    const schemaBefore = new Database(file, { readonly: true }).prepare('SELECT group_concat(sql) FROM sqlite_schema').pluck().get();

    const again = await track(await openStore({ file }));
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    expect(raw.prepare('SELECT group_concat(sql) FROM sqlite_schema').pluck().get()).toBe(schemaBefore);
    raw.close();
    expect(await again.getDocument(doc.document.id)).toEqual(doc.document);
    const target = { kind: 'page', documentId: doc.document.id, pageNumber: 1 };
    expect((await again.searchLexical('lemurword', 5))[0]?.target).toEqual(target);
    expect((await again.searchIdentifiers(['px1'], 5))[0]?.target).toEqual(target);
    expect((await again.searchImages(axis(1), 5))[0]?.target).toEqual(target);
    expect((await again.searchChunks(axis(2), 5))[0]?.target).toEqual(target);
  });

  it('migration 3 gives pages stored before OCR a text source (FILE with text, NONE without) and photos no readText', async () => {
    const store = await openStore({ file });
    const doc = newDocument({ pages: [{ text: 'layer text dingoword' }, { text: '' }] });
    const photo = newPhoto({ caption: 'old photo', vector: axis(7) });
    await store.addDocument(doc);
    await store.addPhoto(photo);
    await store.close();
    // Back to the version-2 schema, as a file written before OCR existed.
    const raw = new Database(file);
    raw.exec('DROP TABLE image_layouts; ALTER TABLE targets DROP COLUMN text_source; ALTER TABLE photos DROP COLUMN read_text;');
    raw.pragma('user_version = 2');
    raw.close();

    const again = await track(await openStore({ file }));
    expect((await again.getPages(doc.document.id)).map((p) => p.textSource)).toEqual(['file', 'none']);
    expect(await again.getPhoto(photo.photo.id)).toEqual({ ...photo.photo, readText: null });
    expect((await again.searchLexical('dingoword', 5))[0]?.target).toEqual({ kind: 'page', documentId: doc.document.id, pageNumber: 1 });
  });

  it('keeps the quantized index across reopen', async () => {
    const store = await openStore({ file, exactSearchThreshold: 0 });
    const doc = newDocument({ pages: [{ text: 'x', image: axis(3), chunks: [{ text: 'c', vector: axis(4) }] }, { text: 'y', image: axis(5), chunks: [{ text: 'd', vector: axis(6) }] }] });
    await store.addDocument(doc);
    await store.close();
    const again = await track(await openStore({ file, exactSearchThreshold: 0 }));
    expect((await again.searchChunks(axis(6), 1))[0]?.target).toEqual({ kind: 'page', documentId: doc.document.id, pageNumber: 2 });
    expect((await again.searchImages(axis(3), 1))[0]?.target).toEqual({ kind: 'page', documentId: doc.document.id, pageNumber: 1 });
  });

  it('refuses to open with another vector size or another model, saying what to do', async () => {
    const store = await openStore({ file });
    await store.close();
    const wrongDim = new SqliteKnowledgeStore({ file, dim: 64, modelId: CONTRACT_MODEL_ID });
    const error = await wrongDim.init().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'VECTOR_SIZE_MISMATCH', category: 'CONFIGURATION' });
    expect((error as Error).message).toMatch(/32-dimensional/);
    expect((error as Error).message).toMatch(/DATA_DIR/);
    expect((await wrongDim.storeStatus()).ready).toBe(false);

    const wrongModel = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: 'another-model' });
    await expect(wrongModel.init()).rejects.toMatchObject({ code: 'MODEL_MISMATCH', category: 'CONFIGURATION' });
    // The right configuration still opens it.
    await track(await openStore({ file }));
  });

  it('refuses a database written by a newer schema', async () => {
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    raw.close();
    await expect(new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID }).init()).rejects.toMatchObject({ code: 'STORE_SCHEMA_TOO_NEW' });
  });

  it('is not usable before init or after close', async () => {
    const store = new SqliteKnowledgeStore({ file, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID });
    await expect(store.getDocument('x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await store.init();
    await store.close();
    await expect(store.searchLexical('x', 5)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await store.storeStatus()).ready).toBe(false);
  });

  it('a failure in the middle of addDocument leaves no row in any table', async () => {
    const store = await track(await openStore({ file, exactSearchThreshold: 5 }));
    await store.addDocument(newDocument({ pages: [{ text: 'existing', image: axis(1), chunks: [{ text: 'c', vector: axis(1) }], identifiers: ['EX-1'] }] }));
    const before = tableCounts(file);

    // Fifty good pages (enough to cross the quantization threshold mid-way), then a NaN.
    const pages: PageSpec[] = [];
    for (let i = 0; i < 50; i++) pages.push({ text: `page ${i} capybaraword`, image: axis(i), chunks: [{ text: `c${i}`, vector: axis(i + 1) }], identifiers: [`CP-${i}`] });
    const bad = axis(0);
    bad[3] = Number.NaN;
    pages.push({ text: 'bad', chunks: [{ text: 'bad', vector: bad }] });
    const failing = newDocument({ pages });
    await expect(store.addDocument(failing)).rejects.toMatchObject({ code: 'INVALID_VECTOR' });
    expect(tableCounts(file)).toEqual(before);
    expect(await store.searchLexical('capybaraword', 5)).toEqual([]);

    // A wrong-sized image vector on the last page: same outcome.
    pages[50] = { text: 'bad', image: new Float32Array(CONTRACT_DIM + 3).fill(1) };
    await expect(store.addDocument(newDocument({ pages }))).rejects.toMatchObject({ code: 'INVALID_VECTOR' });
    expect(tableCounts(file)).toEqual(before);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('a process killed (SIGKILL) in the middle of addDocument leaves no partial document', async () => {
    const storeUrl = pathToFileURL(path.join(REPO_ROOT, 'src/store/sqlite/sqlite-knowledge-store.ts')).href;
    const script = path.join(dir, 'ingest-child.mts');
    writeFileSync(
      script,
      `import { SqliteKnowledgeStore } from ${JSON.stringify(storeUrl)};
       const dim = 512;
       const store = new SqliteKnowledgeStore({ file: process.argv[2], dim, modelId: 'child-model' });
       await store.init();
       const pages = [];
       for (let p = 0; p < 3000; p++) {
         const v = new Float32Array(dim).map((_, i) => Math.sin(p * 31 + i));
         pages.push({ text: 'page ' + p + ' of the big manual, sealwordx', image: v, identifiers: ['BG-' + p],
           chunks: Array.from({ length: 8 }, (_, c) => ({ text: 'chunk ' + c, vector: v.map((x, i) => x + Math.cos(c + i)) })) });
       }
       const doc = {
         document: { id: 'big-document', title: 'Big', kind: 'pdf', mimeType: 'application/pdf', contentHash: 'big-document-hash', byteSize: 1,
           pageCount: pages.length, metadata: {}, blobKey: 'blobs/big', createdAt: new Date().toISOString() },
         pages: pages.map((p, i) => ({ number: i + 1, text: p.text, thumbnailKey: null, imageVector: p.image, chunks: p.chunks, identifiers: p.identifiers })),
       };
       process.stdout.write('WRITING\\n');
       const started = Date.now();
       await store.addDocument(doc);
       process.stdout.write('COMMITTED after ' + (Date.now() - started) + ' ms\\n');
       await store.close();`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('WRITING')) resolve();
      });
      void exited.then(() => reject(new Error(`child exited early: ${out}\n${err}`)));
    });
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(out).not.toContain('COMMITTED');

    const store = await track(await openStore({ file, dim: 512, modelId: 'child-model' }));
    expect(await store.getDocument('big-document')).toBeNull();
    expect(await store.findDocumentByHash('big-document-hash')).toBeNull();
    expect(await store.countPages()).toBe(0);
    expect(await store.searchLexical('sealwordx', 5)).toEqual([]);
    const counts = tableCounts(file);
    for (const [table, count] of Object.entries(counts)) if (table !== 'meta' && !table.startsWith('lexical_')) expect(count, table).toBe(0);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    // And the same file ingests cleanly afterwards.
    expect((await store.addDocument(bigDocument(20, 2, 512))).created).toBe(true);
    expect(await store.countPages()).toBe(20);
  }, 60_000);

  it('two connections on one file see each other’s writes and deletes (index kept in step)', async () => {
    const a = await track(await openStore({ file, exactSearchThreshold: 0 }));
    const b = await track(await openStore({ file, exactSearchThreshold: 0 }));
    const first = newDocument({ pages: [{ text: 'one', image: axis(7), chunks: [{ text: 'c', vector: axis(8) }] }] });
    await a.addDocument(first);
    expect((await b.searchChunks(axis(8), 5)).map((c) => c.target)).toEqual([{ kind: 'page', documentId: first.document.id, pageNumber: 1 }]);
    const second = newDocument({ pages: [{ text: 'two', image: axis(7, 9, 0.2), chunks: [{ text: 'd', vector: axis(8, 9, 0.2) }] }] });
    await b.addDocument(second);
    expect(await a.searchImages(axis(7), 5)).toHaveLength(2);
    await b.deleteDocument(first.document.id);
    expect((await a.searchChunks(axis(8), 5)).map((c) => c.target)).toEqual([{ kind: 'page', documentId: second.document.id, pageNumber: 1 }]);
    expect((await a.searchImages(axis(7), 5)).map((c) => c.target)).toEqual([{ kind: 'page', documentId: second.document.id, pageNumber: 1 }]);
  });

  it('a connection opened before the index existed writes codes for what it adds later', async () => {
    const a = await track(await openStore({ file, exactSearchThreshold: 2 }));
    const b = await track(await openStore({ file, exactSearchThreshold: 2 }));
    // A crosses the threshold: the centre is fixed and the coarse index starts.
    await a.addDocument(newDocument({ pages: [1, 2, 3, 4].map((i) => ({ text: `a${i}`, image: axis(i), chunks: [{ text: `a${i}`, vector: axis(i) }] })) }));
    // B, which has not searched since, adds more; A must find B's pages through its index.
    const late = newDocument({ pages: [{ text: 'late', image: axis(20), chunks: [{ text: 'late', vector: axis(21) }] }] });
    await b.addDocument(late);
    const target = { kind: 'page', documentId: late.document.id, pageNumber: 1 };
    expect((await a.searchImages(axis(20), 1))[0]?.target).toEqual(target);
    expect((await a.searchChunks(axis(21), 1))[0]?.target).toEqual(target);
    expect((await b.searchChunks(axis(21), 1))[0]?.target).toEqual(target);
    const counts = tableCounts(file);
    expect(counts.chunk_codes).toBe(counts.chunk_vectors);
    expect(counts.image_codes).toBe(counts.image_vectors);
  });

  it('lexical queries of many common words stay exact where it matters: the rare word decides', async () => {
    const store = await track(await openStore({ file, lexicalRankBudget: 5 }));
    const pages: PageSpec[] = [];
    for (let i = 0; i < 30; i++) pages.push({ text: `valve seal valve seal routine check ${i}` });
    pages.push({ text: 'valve seal with the rare okapiword marking' });
    const doc = newDocument({ pages });
    await store.addDocument(doc);
    const hits = await store.searchLexical('valve seal okapiword', 10);
    expect(hits[0]?.target).toEqual({ kind: 'page', documentId: doc.document.id, pageNumber: 31 });
    // One term is never cut, however common.
    expect(await store.searchLexical('valve', 50)).toHaveLength(31);
  });

  describe('quantized index', () => {
    const dim = 64;
    function rng(seed: number): () => number {
      let s = seed >>> 0;
      return () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 4294967296;
      };
    }
    function gaussian(random: () => number): number {
      return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    }
    /** Clustered vectors with a shared offset, like one modality of CLIP. */
    function clustered(count: number, seed: number): Float32Array[] {
      const random = rng(seed);
      const offset = Float32Array.from({ length: dim }, () => gaussian(random) * 0.5);
      const centers = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, () => gaussian(random)));
      return Array.from({ length: count }, () => {
        const c = centers[Math.floor(random() * centers.length)]!;
        return Float32Array.from({ length: dim }, (_, i) => offset[i]! + c[i]! * 0.3 + gaussian(random) * 0.25);
      });
    }

    /** What a candidates() call found, without its pass timings. */
    function found(index: BinaryCodeIndex, q: Float32Array, coarseK: number, refineK: number): { rowIds: number[]; targetIds: number[]; complete: boolean } {
      const { rowIds, targetIds, complete } = index.candidates(q, null, coarseK, refineK);
      return { rowIds, targetIds, complete };
    }

    it('the SIMD Hamming kernel and the JS fallback agree', () => {
      const simd = new BinaryCodeIndex(200);
      const js = new BinaryCodeIndex(200, { simd: false });
      expect(simd.usesSimd).toBe(true);
      const random = rng(3);
      for (let i = 1; i <= 3000; i++) {
        const v = Float32Array.from({ length: 200 }, () => random() - 0.5);
        const row = { rowId: i, targetId: i, owner: 1, kind: 0, code: quantize(v, null) };
        simd.add(row);
        js.add(row);
      }
      const q = Float32Array.from({ length: 200 }, () => random() - 0.5);
      expect(found(simd, q, 500, 100)).toEqual(found(js, q, 500, 100));
      simd.remove([5, 6, 7]);
      expect(simd.size).toBe(2997);
      expect(simd.candidates(q, null, 5000, 5000).rowIds).not.toContain(6);
      // Enough removals to compact the index: the survivors are still found, and it still grows.
      const removed = Array.from({ length: 1500 }, (_, i) => 2 * i + 1);
      simd.remove(removed);
      js.remove([5, 6, 7, ...removed]);
      expect(simd.size).toBe(3000 - 1500 - 1);
      expect(found(simd, q, 500, 100)).toEqual(found(js, q, 500, 100));
      const all = simd.candidates(q, null, 5000, 5000);
      expect(all.complete).toBe(true);
      expect(new Set(all.rowIds)).toEqual(new Set(Array.from({ length: 3000 }, (_, i) => i + 1).filter((id) => id % 2 === 0 && id !== 6)));
      simd.add({ rowId: 3001, targetId: 3001, owner: 1, kind: 0, code: quantize(q, null) });
      expect(simd.candidates(q, null, 1, 1).rowIds).toEqual([3001]);
    });

    it('finds what exact search finds on clustered data, with and without filters', async () => {
      const vectors = clustered(3000, 11);
      const fast = await track(await openStore({ file, dim, exactSearchThreshold: 0 }));
      const documentIds: string[] = [];
      for (let d = 0; d < 30; d++) {
        const pages: PageSpec[] = [];
        for (let p = 0; p < 25; p++) {
          const base = (d * 25 + p) * 4;
          pages.push({ text: `p${p}`, image: vectors[base]!, chunks: [0, 1, 2, 3].map((c) => ({ text: `c${c}`, vector: vectors[base + c]! })) });
        }
        const doc = newDocument({ kind: d % 2 === 0 ? 'pdf' : 'markdown', metadata: { shift: d % 3 }, pages });
        documentIds.push(doc.document.id);
        await fast.addDocument(doc);
      }
      const exact = await track(await openStore({ file, dim, vectorSearch: 'exact' }));
      const queries = clustered(40, 99);
      const filters = [undefined, { kinds: ['markdown' as const] }, { documentIds: documentIds.slice(0, 3) }, { metadata: { shift: 1 } }];
      let hits = 0;
      let total = 0;
      for (const q of queries) {
        for (const filter of filters) {
          for (const method of ['searchChunks', 'searchImages'] as const) {
            const want = (await exact[method](q, 10, filter)).map((c) => JSON.stringify(c.target));
            const got = (await fast[method](q, 10, filter)).map((c) => JSON.stringify(c.target));
            total += want.length;
            hits += got.filter((t) => want.includes(t)).length;
          }
        }
      }
      expect(hits / total).toBeGreaterThanOrEqual(0.98);
    });

    it('a filter is applied inside the scan: a weak match survives thousands of stronger ones elsewhere', async () => {
      const store = await track(await openStore({ file, exactSearchThreshold: 0 }));
      const crowd: PageSpec[] = [];
      for (let i = 0; i < 3000; i++) crowd.push({ text: `crowd ${i}`, image: axis(1, 2, 0.01 * (i % 7)), chunks: [{ text: `c${i}`, vector: axis(1, 2, 0.01 * (i % 7)) }] });
      await store.addDocument(newDocument({ pages: crowd }));
      const needle = newDocument({ kind: 'html', pages: [{ text: 'needle', image: axis(1, 3, 2), chunks: [{ text: 'needle', vector: axis(1, 3, 2) }] }] });
      await store.addDocument(needle);
      const target = { kind: 'page', documentId: needle.document.id, pageNumber: 1 };
      expect((await store.searchChunks(axis(1), 3, { documentIds: [needle.document.id] })).map((c) => c.target)).toEqual([target]);
      expect((await store.searchImages(axis(1), 3, { kinds: ['html'] })).map((c) => c.target)).toEqual([target]);
    });

    it('says where an indexed search spent its time, and takes other candidate counts', async () => {
      const store = await track(await openStore({ file, exactSearchThreshold: 0 }));
      expect(store.lastSearchStages()).toEqual({ chunk: null, image: null });
      const pages: PageSpec[] = Array.from({ length: 50 }, (_, i) => ({ text: `p${i}`, image: axis(1 + (i % 5), 2, 0.01 * i), chunks: [{ text: `c${i}`, vector: axis(1 + (i % 7), 3, 0.01 * i) }] }));
      await store.addDocument(newDocument({ pages }));
      await store.searchChunks(axis(1), 5);
      const stages = store.lastSearchStages().chunk!;
      expect(stages).toMatchObject({ scanned: 50, rescored: 50 });
      for (const ms of [stages.hammingMs, stages.selectMs, stages.refineMs, stages.rescoreMs]) expect(ms).toBeGreaterThanOrEqual(0);
      store.vectorCandidates = { coarse: 20, rescore: 7 };
      const hits = await store.searchImages(axis(1), 5);
      expect(store.lastSearchStages().image).toMatchObject({ scanned: 50, rescored: 7 });
      expect(hits).toHaveLength(5);
    });

    it('photos added after the index exists are found by it', async () => {
      const store = await track(await openStore({ file, exactSearchThreshold: 0 }));
      await store.addDocument(newDocument({ pages: [{ text: 'a', image: axis(1), chunks: [{ text: 'a', vector: axis(1) }] }] }));
      const photo = newPhoto({ caption: 'rust', vector: axis(2), chunks: [{ text: 'rust', vector: axis(3) }] });
      await store.addPhoto(photo);
      expect((await store.searchImages(axis(2), 1))[0]?.target).toEqual({ kind: 'photo', photoId: photo.photo.id });
      expect((await store.searchChunks(axis(3), 1))[0]?.target).toEqual({ kind: 'photo', photoId: photo.photo.id });
    });
  });
});

describe('SQLite page size', () => {
  const pageSize = (file: string): number => {
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true }) as number;
    } finally {
      db.close();
    }
  };

  it('a new file gets 8 KiB pages (three 512-dim vectors a page, not one in 4 KiB); a file made with 4 KiB pages keeps them and works', async () => {
    const fresh = path.join(tempDir(), 'fieldscope.db');
    const store = await openStore({ file: fresh });
    await store.addDocument(newDocument({ pages: [{ text: 'a', image: axis(1), chunks: [{ text: 'a', vector: axis(1) }] }] }));
    await store.close();
    expect(pageSize(fresh)).toBe(8192);

    const old = path.join(tempDir(), 'fieldscope.db');
    const raw = new Database(old);
    raw.pragma('page_size = 4096');
    raw.exec('VACUUM');
    raw.close();
    const reopened = await openStore({ file: old });
    await reopened.addDocument(newDocument({ pages: [{ text: 'b', image: axis(2), chunks: [{ text: 'b', vector: axis(2) }] }] }));
    expect((await reopened.searchChunks(axis(2), 1))[0]?.matchedText).toBe('b');
    await reopened.close();
    expect(pageSize(old)).toBe(4096);
  });
});

afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
