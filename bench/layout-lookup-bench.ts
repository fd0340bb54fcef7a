/**
 * Near-copy lookup of mostly white pages by layout signature at scale (identify/page-layout.ts):
 * the SQLite store's lookup (image_layouts: SimHash key in 8 indexed 8-bit bands, keys within
 * LAYOUT_KEY_MAX_DISTANCE bits, then the signatures correlated; the same SQL as
 * SqliteKnowledgeStore.searchImageLayout) over N synthetic pages of text.
 *
 *   npx tsx bench/layout-lookup-bench.ts [--pages 100000] [--queries 200]
 *
 * The pages are the unfriendly case for the index: all the same "manual" (same margins, line
 * pitch and font size), differing only in how many lines they hold and where lines and words
 * end, so their keys cluster and many rows share a band with any query. Each query is a copy of
 * a stored page (grey levels rescaled like a scan, noise added); it must come back first.
 */
import Database from 'better-sqlite3';
import { isLayoutCopy, LAYOUT_BYTES, LAYOUT_KEY_MAX_DISTANCE, LAYOUT_SIDE, layoutCorrelation, layoutOf } from '../src/identify/page-layout.js';
import { hammingDistance, hashBands, HASH_BANDS } from '../src/identify/perceptual-hash.js';
import { MIGRATIONS } from '../src/store/sqlite/migrations.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : fallback;
}
const count = arg('pages', 100_000);
const queries = arg('queries', 200);

let seed = 12345;
const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;

/** A 64×64 page of text: lines every 2 px from row 6, words of 2–7 px with 1 px gaps, ragged right edge. */
function page(): Uint8Array {
  const px = new Uint8Array(LAYOUT_BYTES).fill(252);
  const lines = 8 + Math.floor(random() * 22);
  const paragraphBreak = Math.floor(random() * lines);
  for (let l = 0; l < lines; l++) {
    const row = 6 + l * 2 + (l > paragraphBreak ? 2 : 0);
    if (row >= LAYOUT_SIDE - 4) break;
    const end = 58 - Math.floor(random() * (l === paragraphBreak ? 40 : 8));
    for (let x = 6; x < end; ) {
      const word = 2 + Math.floor(random() * 6);
      for (let k = 0; k < word && x + k < end; k++) px[row * LAYOUT_SIDE + x + k] = 150 + Math.floor(random() * 40);
      x += word + 1;
    }
  }
  return px;
}

const db = new Database(':memory:');
for (const m of MIGRATIONS) db.exec(m.sql);
db.pragma('foreign_keys = OFF'); // layouts without their targets: only the lookup is measured
const insert = db.prepare('INSERT INTO image_layouts (target_id, key, signature, b0, b1, b2, b3, b4, b5, b6, b7) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
const pages: Uint8Array[] = [];
const t0 = performance.now();
db.transaction(() => {
  for (let i = 1; i <= count; i++) {
    const layout = layoutOf(page());
    pages.push(layout.signature);
    insert.run(i, layout.key, Buffer.from(layout.signature), ...hashBands(layout.key));
  }
})();
const fillSeconds = (performance.now() - t0) / 1000;
const keyed = db.prepare(`SELECT target_id, key FROM image_layouts WHERE ${Array.from({ length: HASH_BANDS }, (_, i) => `b${i} = ?`).join(' OR ')}`).raw();
const signatures = db.prepare('SELECT target_id, signature FROM image_layouts WHERE target_id IN (SELECT value FROM json_each(?))').raw();

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const times: number[] = [];
let rows = 0;
let compared = 0;
let otherCopies = 0;
let missed = 0;
for (let n = 0; n < queries; n++) {
  const source = (n * 7919) % count;
  const copy = pages[source]!.map((v) => Math.max(0, Math.min(255, Math.round(v * 0.9 + 12 + (random() - 0.5) * 8))));
  const query = layoutOf(copy);
  const t = performance.now();
  const candidates = (keyed.all(...hashBands(query.key)) as [number, string][]).filter(([, key]) => hammingDistance(query.key, key) <= LAYOUT_KEY_MAX_DISTANCE);
  const found = (signatures.all(JSON.stringify(candidates.map(([id]) => id))) as [number, Buffer][])
    .map(([id, s]) => ({ id, r: layoutCorrelation(query.signature, new Uint8Array(s)) }))
    .filter((c) => isLayoutCopy(c.r))
    .sort((a, b) => b.r - a.r);
  times.push(performance.now() - t);
  rows += (keyed.all(...hashBands(query.key)) as unknown[]).length;
  compared += candidates.length;
  if (found[0]?.id !== source + 1) missed++;
  otherCopies += found.filter((c) => c.id !== source + 1).length;
}
console.log(`layout lookup over ${count.toLocaleString('en')} synthetic pages of text (filled in ${fillSeconds.toFixed(1)} s), ${queries} queries (scan-like copies), node ${process.version}`);
console.log(`banded (SQLite, 8 indexed bands)  p50 ${percentile(times, 0.5).toFixed(2)} ms  p95 ${percentile(times, 0.95).toFixed(2)} ms`);
console.log(`  per query: ${Math.round(rows / queries)} key rows read, ${Math.round(compared / queries)} signatures compared (keys within ${LAYOUT_KEY_MAX_DISTANCE} bits)`);
console.log(`  copy not first: ${missed} of ${queries}; other pages called copies: ${(otherCopies / queries).toFixed(2)} per query`);
