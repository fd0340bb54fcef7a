/**
 * Near-copy lookup by perceptual hash at scale: the SQLite store's banded lookup
 * (image_hashes, 8 indexed 8-bit bands, the query searchImageHash runs) against a linear scan
 * of every hash in JS (what photo ingest did before), over N random 64-bit hashes.
 *
 *   npx tsx bench/hash-lookup-bench.ts [--hashes 100000] [--queries 200]
 *
 * Uniform random hashes are the friendly case: real hashes cluster on some band values (flat
 * images, pages of text; those uninformative hashes are not stored), and every row sharing a
 * band with the query is read and checked.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { hammingDistance, hashBands, HASH_BANDS } from '../src/identify/perceptual-hash.js';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : fallback;
}

const count = arg('hashes', 100_000);
const queries = arg('queries', 200);
const db = new Database(':memory:');
for (const m of MIGRATIONS) db.exec(m.sql);
db.pragma('foreign_keys = OFF'); // hashes without their targets: only the lookup is measured
const insert = db.prepare('INSERT INTO image_hashes (target_id, hash, b0, b1, b2, b3, b4, b5, b6, b7) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
const hashes: string[] = [];
db.transaction(() => {
  for (let i = 1; i <= count; i++) {
    const hash = randomBytes(8).toString('hex');
    hashes.push(hash);
    insert.run(i, hash, ...hashBands(hash));
  }
})();
const lookup = db.prepare(`SELECT target_id, hash FROM image_hashes WHERE ${Array.from({ length: HASH_BANDS }, (_, i) => `b${i} = ?`).join(' OR ')}`).raw();

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const banded: number[] = [];
const linear: number[] = [];
let rows = 0;
for (let n = 0; n < queries; n++) {
  // A copy of a stored image: its hash with 3 bits flipped.
  let value = BigInt(`0x${hashes[(n * 7919) % hashes.length]!}`);
  for (const bit of [n % 64, (n * 7) % 64, (n * 13 + 5) % 64]) value ^= 1n << BigInt(bit);
  const query = value.toString(16).padStart(16, '0');
  let t = performance.now();
  const found = (lookup.all(...hashBands(query)) as [number, string][]).map(([id, h]) => ({ id, d: hammingDistance(query, h) }));
  const best = found.filter((r) => r.d <= 6).sort((a, b) => a.d - b.d)[0];
  banded.push(performance.now() - t);
  rows += found.length;
  t = performance.now();
  let closest = 65;
  for (const h of hashes) closest = Math.min(closest, hammingDistance(query, h));
  linear.push(performance.now() - t);
  if (!best || best.d !== closest) throw new Error(`banded lookup missed the closest hash for query ${n}`);
}
console.log(`hash lookup over ${count.toLocaleString('en')} hashes, ${queries} queries (copies with 3 bits flipped), node ${process.version}`);
console.log(`banded (SQLite, 8 indexed bands)  p50 ${percentile(banded, 0.5).toFixed(2)} ms  p95 ${percentile(banded, 0.95).toFixed(2)} ms  (${Math.round(rows / queries)} rows read per query)`);
console.log(`linear scan in JS                 p50 ${percentile(linear, 0.5).toFixed(2)} ms  p95 ${percentile(linear, 0.95).toFixed(2)} ms`);
console.log('every banded lookup found the closest hash the scan found');
