/**
 * Probe for the next step of the embedded vector search (docs/search.md, "Vector search in the
 * embedded store"): would a partitioned index over the 1-bit codes (IVF: lists from k-modes on
 * the codes, a search probing the lists nearest the query) keep recall while scanning a few
 * percent of the codes? On a database filled by bench:search, for its text queries against the
 * chunk space, it compares the coarse pass as it is (the `coarse` nearest codes by Hamming
 * distance among all) with the same pass over the probed lists only, and reports which share of
 * the exact top 10 (from a `--baseline-cache` file of bench:search) the coarse candidates hold.
 *
 *   npx tsx bench/probes/ivf-codes.ts --db /tmp/fs-1m/fieldscope.db --baseline /tmp/b1m.json [--lists 1024] [--coarse 1600]
 *
 * Result at 1M pages (1,024 lists): scanning all codes 0.986 of the exact top 10 among the coarse
 * candidates; the nearest 16 lists (1.6 % of the codes) 0.406, 64 lists (6.3 %) 0.710. The
 * `--baseline` file is what `bench:search --baseline-cache` writes.
 */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createSimdHammingScan, createWasmMemory } from '../../src/store/sqlite/hamming-kernel.js';
import { loadQuerySources, makeQueries, reseed } from '../synthetic-corpus.js';

const { values } = parseArgs({ options: { db: { type: 'string' }, baseline: { type: 'string' }, lists: { type: 'string', default: '512' }, coarse: { type: 'string', default: '1600' } } });
const file = values.db!;
const L = Number(values.lists);
const COARSE = Number(values.coarse);
const BYTES = 64;
const LANES = 4;

const db = new Database(file, { readonly: true, fileMustExist: true });
const centerBlob = db.prepare("SELECT value FROM meta WHERE key = 'center:chunk'").pluck().get() as Buffer;
const center = new Float32Array(centerBlob.buffer.slice(centerBlob.byteOffset, centerBlob.byteOffset + centerBlob.byteLength));
const n = db.prepare('SELECT count(*) FROM chunk_codes').pluck().get() as number;

// Codes and their targets, in WebAssembly memory: [query | codes | distances | histogram].
const codesAt = BYTES;
const outAt = codesAt + n * BYTES;
const histAt = (outAt + n * 2 + 3) & ~3;
const memory = createWasmMemory(Math.ceil((histAt + 513 * 4) / 65536) + 1);
const scan = createSimdHammingScan(memory, LANES)!;
const heap = new Uint8Array(memory.buffer);
const targetOf = new Int32Array(n);
let t = performance.now();
{
  let i = 0;
  for (const [target, code] of db.prepare('SELECT target_id, code FROM chunk_codes ORDER BY chunk_id').raw().iterate() as IterableIterator<[number, Buffer]>) {
    heap.set(code, codesAt + i * BYTES);
    targetOf[i++] = target;
  }
}
console.log(`loaded ${n.toLocaleString('en')} codes in ${((performance.now() - t) / 1000).toFixed(1)} s`);

/** Hamming distances of `query` (64 bytes) to every stored code, as a fresh copy. */
function distancesTo(query: Uint8Array): Uint16Array {
  heap.set(query, 0);
  new Uint32Array(memory.buffer, histAt, 513).fill(0);
  scan(codesAt, n, LANES, 0, outAt, histAt);
  return new Uint16Array(memory.buffer, outAt, n).slice();
}
const popcount = (x: number): number => {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
};
function hamming(a: Uint8Array, b: Uint8Array): number {
  const x = new Int32Array(a.buffer, a.byteOffset, 16);
  const y = new Int32Array(b.buffer, b.byteOffset, 16);
  let d = 0;
  for (let i = 0; i < 16; i++) d += popcount(x[i]! ^ y[i]!);
  return d;
}

// k-modes on a sample: centroids are the per-bit majority of their members.
t = performance.now();
const SAMPLE = Math.min(n, 40 * L);
const sample = Array.from({ length: SAMPLE }, (_, i) => heap.slice(codesAt + Math.floor((i * n) / SAMPLE) * BYTES, codesAt + (Math.floor((i * n) / SAMPLE) + 1) * BYTES));
let centroids = Array.from({ length: L }, (_, c) => sample[Math.floor((c * SAMPLE) / L)]!.slice());
for (let iteration = 0; iteration < 6; iteration++) {
  const counts = Array.from({ length: L }, () => new Int32Array(512));
  const sizes = new Int32Array(L);
  for (const code of sample) {
    let best = 0;
    let bestD = 1e9;
    for (let c = 0; c < L; c++) {
      const d = hamming(code, centroids[c]!);
      if (d < bestD) [best, bestD] = [c, d];
    }
    sizes[best]!++;
    for (let bit = 0; bit < 512; bit++) if ((code[bit >>> 3]! >>> (bit & 7)) & 1) counts[best]![bit]!++;
  }
  centroids = centroids.map((old, c) => {
    if (sizes[c] === 0) return old;
    const next = new Uint8Array(BYTES);
    for (let bit = 0; bit < 512; bit++) if (counts[c]![bit]! * 2 > sizes[c]!) next[bit >>> 3]! |= 1 << (bit & 7);
    return next;
  });
}
console.log(`k-modes, ${L} lists on ${SAMPLE.toLocaleString('en')} codes: ${((performance.now() - t) / 1000).toFixed(1)} s`);

// Every code to its nearest centroid (one kernel scan per centroid).
t = performance.now();
const listOf = new Int32Array(n);
const bestD = new Uint16Array(n).fill(65535);
centroids.forEach((centroid, c) => {
  const d = distancesTo(centroid);
  for (let i = 0; i < n; i++) {
    if (d[i]! < bestD[i]!) {
      bestD[i] = d[i]!;
      listOf[i] = c;
    }
  }
});
const listSizes = new Int32Array(L);
for (let i = 0; i < n; i++) listSizes[listOf[i]!]!++;
console.log(`assigned in ${((performance.now() - t) / 1000).toFixed(1)} s; list sizes min ${Math.min(...listSizes)} median ${[...listSizes].sort((a, b) => a - b)[L >> 1]} max ${Math.max(...listSizes)}`);

// The bench's text queries and their exact top 10 targets.
const { corpus, sources } = loadQuerySources(`${file}.corpus.json`);
reseed(20261130);
const baseline = JSON.parse(readFileSync(values.baseline!, 'utf8')) as { n: number; chunks: { key: string }[][] };
const queries = makeQueries(corpus, sources, baseline.n).text;
const targetByKey = db.prepare("SELECT t.id FROM targets t JOIN documents d ON d.seq = t.document_seq WHERE d.id = ? AND t.page_number = ?").pluck();
const exactTargets = baseline.chunks.map((hits) =>
  hits.slice(0, 10).map((h) => {
    const [doc, page] = h.key.split('#');
    return targetByKey.get(doc, Number(page)) as number;
  }),
);

function quantize(v: Float32Array): Uint8Array {
  const code = new Uint8Array(BYTES);
  for (let i = 0; i < 512; i++) if (v[i]! - center[i]! > 0) code[i >>> 3]! |= 1 << (i & 7);
  return code;
}
/** Share of `want` among the targets of the `COARSE` nearest allowed codes. */
function coarseRecall(d: Uint16Array, allowed: (i: number) => boolean, want: number[]): { recall: number; scanned: number } {
  const histogram = new Int32Array(513);
  let scanned = 0;
  for (let i = 0; i < n; i++) {
    if (!allowed(i)) continue;
    histogram[d[i]!]!++;
    scanned++;
  }
  let cutoff = 0;
  for (let seen = 0; cutoff <= 512 && seen + histogram[cutoff]! < COARSE; cutoff++) seen += histogram[cutoff]!;
  const found = new Set<number>();
  for (let i = 0; i < n; i++) if (d[i]! <= cutoff && allowed(i)) found.add(targetOf[i]!);
  return { recall: want.filter((w) => found.has(w)).length / want.length, scanned };
}

const probes = [4, 8, 16, 32, 64].filter((p) => p < L);
const sums = new Map<string, { recall: number; scanned: number }>();
const add = (k: string, r: { recall: number; scanned: number }): void => {
  const s = sums.get(k) ?? { recall: 0, scanned: 0 };
  sums.set(k, { recall: s.recall + r.recall, scanned: s.scanned + r.scanned });
};
queries.forEach((q, qi) => {
  const bits = quantize(q.vector);
  const d = distancesTo(bits);
  add('all codes', coarseRecall(d, () => true, exactTargets[qi]!));
  const order = centroids.map((c, i) => [hamming(bits, c), i] as const).sort((a, b) => a[0] - b[0]);
  for (const p of probes) {
    const probed = new Uint8Array(L);
    for (const [, i] of order.slice(0, p)) probed[i] = 1;
    add(`${p} of ${L} lists`, coarseRecall(d, (i) => probed[listOf[i]!] === 1, exactTargets[qi]!));
  }
});
for (const [k, s] of sums) console.log(`${k.padEnd(16)} codes scanned ${((s.scanned / queries.length / n) * 100).toFixed(1).padStart(5)} %   exact top 10 among the ${COARSE} coarse candidates: ${(s.recall / queries.length).toFixed(3)}`);
db.close();
