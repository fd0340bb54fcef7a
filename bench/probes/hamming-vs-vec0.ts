/**
 * Probe for issue 13 item 8: is sqlite-vec's binary quantization (vec0 `bit[N]` columns, Hamming
 * distance, brute-force KNN inside SQLite) a drop-in for the coarse pass of our binary index
 * (WebAssembly SIMD popcount over codes held in memory)? Both return the k nearest of N random
 * 512-bit codes to 20 random queries; figures are per query, median.
 *
 *   npx tsx bench/probes/hamming-vs-vec0.ts [--rows 100000] [--k 400]
 */
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createSimdHammingScan, createWasmMemory } from '../../src/store/sqlite/hamming-kernel.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, k: { type: 'string', default: '400' } } });
const rows = Number(values.rows);
const k = Number(values.k);
const bytes = 64; // 512 bits
const codes = randomBytes(rows * bytes);
const queries = Array.from({ length: 20 }, () => randomBytes(bytes));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// sqlite-vec: vec0 with a bit[512] column (in memory, so no disk reads are timed).
const db = new Database(':memory:');
sqliteVec.load(db);
db.exec(`CREATE VIRTUAL TABLE codes USING vec0(code bit[${bytes * 8}])`);
const insert = db.prepare('INSERT INTO codes(rowid, code) VALUES (?, vec_bit(?))');
db.transaction(() => {
  for (let i = 0; i < rows; i++) insert.run(BigInt(i + 1), codes.subarray(i * bytes, (i + 1) * bytes));
})();
const knn = db.prepare(`SELECT rowid, distance FROM codes WHERE code MATCH vec_bit(?) AND k = ${k}`);
const vecTimes: number[] = [];
const vecResults: number[][] = [];
for (const q of queries) {
  const t = performance.now();
  const res = knn.all(q) as { rowid: number; distance: number }[];
  vecTimes.push(performance.now() - t);
  vecResults.push(res.map((r) => r.distance));
}

// Our kernel: codes in WebAssembly memory, one u16 distance per code, then a partial selection.
const lanes = bytes / 16;
const memory = createWasmMemory(Math.ceil((rows * bytes + bytes + rows * 2 + 4 + (lanes * 128 + 1) * 4) / 65536) + 1);
const scan = createSimdHammingScan(memory, lanes);
if (!scan) throw new Error('no WebAssembly SIMD here');
const heap = new Uint8Array(memory.buffer);
heap.set(queries[0]!, 0);
heap.set(codes, bytes);
const out = bytes + rows * bytes;
const wasmTimes: number[] = [];
let agree = 0;
queries.forEach((q, qi) => {
  new Uint8Array(memory.buffer).set(q, 0);
  const t = performance.now();
  const histogram = (out + rows * 2 + 3) & ~3;
  const hist = new Uint32Array(memory.buffer, histogram, 513);
  hist.fill(0);
  scan(bytes, rows, lanes, 0, out, histogram);
  const d = new Uint16Array(memory.buffer, out, rows);
  // k smallest distances by counting (distances are 0..512): what binary-index.ts does.
  let cut = 0;
  for (let seen = 0; cut <= 512 && seen + hist[cut]! < k; cut++) seen += hist[cut]!;
  const picked: number[] = [];
  for (let i = 0; i < rows; i++) if (d[i]! < cut) picked.push(d[i]!);
  for (let i = 0; i < rows && picked.length < k; i++) if (d[i]! === cut) picked.push(d[i]!);
  wasmTimes.push(performance.now() - t);
  const a = picked.sort((x, y) => x - y).slice(0, k);
  const b = vecResults[qi]!;
  if (a.length === b.length && a.every((x, i) => x === b[i])) agree++;
});

console.log(JSON.stringify({ rows, k, sqliteVecBitKnnMsP50: +median(vecTimes).toFixed(2), wasmSimdScanMsP50: +median(wasmTimes).toFixed(2), sameDistances: `${agree}/${queries.length}` }));
