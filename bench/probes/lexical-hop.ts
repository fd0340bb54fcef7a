/**
 * What the hop to the lexical worker costs by itself: a 10-page store, a one-word query, the
 * worker's start-up (first search) and RSS, then 500 searches alternately through the worker and
 * on the calling thread (lexicalWorkerMinRows 0 / Infinity). Used to choose
 * DEFAULT_LEXICAL_WORKER_MIN_ROWS with the bench's `--side-by-side` at small sizes.
 *
 *   npx tsx bench/probes/lexical-hop.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
const dir = mkdtempSync(path.join(os.tmpdir(), 'fs-probe-'));
const file = path.join(dir, 'x.db');
const a = new SqliteKnowledgeStore({ file, dim: 8, modelId: 'p', lexicalWorkerMinRows: Infinity });
await a.init();
const v = new Float32Array(8); v[0] = 1;
for (let d = 0; d < 10; d++) await a.addDocument({ document: { id: `d${d}`, title: 't', kind: 'text', mimeType: 'text/plain', contentHash: `h${d}`, byteSize: 1, pageCount: 1, metadata: {}, blobKey: `b${d}`, createdAt: new Date().toISOString() }, pages: [{ number: 1, text: `pump valve ${d}`, thumbnailKey: null, imageVector: null, chunks: [], identifiers: [] }] });
for (let i = 0; i < 200; i++) await a.searchLexical('pump', 10);
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
a.lexicalWorkerMinRows = 0;
await a.searchLexical('pump', 10);
const first = performance.now() - t0;
for (let i = 0; i < 200; i++) await a.searchLexical('pump', 10);
await new Promise((r) => setTimeout(r, 500));
const rss1 = process.memoryUsage().rss;
const hop: number[] = []; const here: number[] = [];
for (let i = 0; i < 500; i++) {
  a.lexicalWorkerMinRows = 0; let t = performance.now(); await a.searchLexical('pump', 10); hop.push(performance.now() - t);
  a.lexicalWorkerMinRows = Infinity; t = performance.now(); await a.searchLexical('pump', 10); here.push(performance.now() - t);
}
const p = (x: number[], q: number) => x.sort((m, n) => m - n)[Math.floor(q * x.length)]!.toFixed(3);
console.log(`first search through the worker (start-up) ${first.toFixed(0)} ms; RSS +${((rss1 - rss0) / 1e6).toFixed(0)} MB; tiny query p50 worker ${p(hop, 0.5)} ms vs here ${p(here, 0.5)} ms (p95 ${p(hop, 0.95)} / ${p(here, 0.95)}); load ${os.loadavg()[0]!.toFixed(2)}`);
await a.close();
rmSync(dir, { recursive: true, force: true });
