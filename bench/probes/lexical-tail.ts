/**
 * Where BM25's tail goes at scale: the exact top-k plan (lexical-top-k.ts) query by query, with
 * the CPU of every FTS5 conjunction it runs, on a read-only store. Says which queries set p95 and
 * why, and measures what two fixes would buy before anyone builds them:
 *
 *   npx tsx bench/probes/lexical-tail.ts /tmp/fs-1m8k/fieldscope.db [--queries 50] [--worst 8]
 *       [--tight-bounds] [--block-max 10 [--loose]] [--js-scores] [--stages '"alignment"'] [--mmap BYTES]
 *
 * - default: the bench's text queries (same seed as bench/search-bench.ts), CPU per query and per
 *   conjunction (second of two rounds; the first warms the page cache and the page-count cache).
 * - --tight-bounds: the same, after each phrase's true best single-term score was learnt (not
 *   timed): what exact per-term maxima (which a block-max index holds for free) would save.
 * - --block-max SHIFT: a prototype of per-term block maxima over rowid blocks of 2^SHIFT ids,
 *   built here from a full scan (timed), then the singleton and conjunction ranks of the worst
 *   queries run only over the blocks whose bound reaches the k-th score, checked row for row
 *   against the full rank. With --loose, the bounds an index of our own could keep instead (per
 *   block the max tf and min length/tf; tf read back from the score and the page length).
 * - --js-scores: the top rows' BM25 recomputed in JS as fts5_aux.c does, compared bit for bit
 *   (the design's premise: scores computed outside FTS5 can equal its own). Also shows a trap:
 *   with `rowid = ?` in the WHERE, FTS5's bm25() and highlight() give other values for a row than
 *   a scan or `rowid BETWEEN ? AND ?` do, so never rescore single rows that way.
 * - --stages PHRASE: CPU of FTS5's parts for one phrase (doclist walk, bm25 over every row, top 30,
 *   top 30 when a WHERE on rowid keeps bm25 off most rows). --mmap: mmap_size (default the worker's 1 GiB).
 *
 * CPU time (process.cpuUsage), not wall: the machine is shared. Reads nothing but the store.
 */
import Database from 'better-sqlite3';
import { lexicalPhrases } from '../../src/store/sqlite/lexical-query.js';
import { LEXICAL_TOKENIZE } from '../../src/store/sqlite/migrations.js';
import { fts5Idf, LexicalTopK } from '../../src/store/sqlite/lexical-top-k.js';
import { loadQuerySources, makeQueries, percentile, reseed } from '../synthetic-corpus.js';

const file = process.argv[2];
if (!file) throw new Error('usage: lexical-tail.ts DB [--queries N] [--worst K] [--tight-bounds] [--block-max SHIFT] [--stages PHRASE]');
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? '') : undefined;
};
const QUERIES = Number(flag('queries') ?? 50);
const WORST = Number(flag('worst') ?? 8);
const LIMIT = 30;
const PLAN_BUDGET = 64;

const db = new Database(file, { readonly: true, fileMustExist: true });
// The lexical worker's settings (lexical-worker.js).
db.pragma(`mmap_size = ${Number(flag('mmap') ?? 1073741824)}`);
db.pragma('cache_size = -65536');

const cpu = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const RANK_SQL = 'SELECT rowid, bm25(lexical) AS score FROM lexical WHERE lexical MATCH ? ORDER BY score, rowid LIMIT ?';
const rankFull = (expression: string, rows: number): [number, number][] => db.prepare(RANK_SQL).raw().all(expression, rows) as [number, number][];

const stages = flag('stages');
if (stages !== undefined) {
  const parts: [string, string][] = [
    ['count(*) (doclist walk in C)', 'SELECT count(*) FROM lexical WHERE lexical MATCH ?'],
    ['sum(rowid) (walk + VM per row)', 'SELECT sum(rowid) FROM lexical WHERE lexical MATCH ?'],
    ['bm25 of every row', 'SELECT max(s) FROM (SELECT bm25(lexical) AS s FROM lexical WHERE lexical MATCH ? LIMIT -1)'],
    ['top 30 by bm25 (the plan)', `${RANK_SQL.replace('LIMIT ?', 'LIMIT 30')}`],
    ['top 30, rows with rowid % 50 = 0', `${RANK_SQL.replace('MATCH ?', 'MATCH ? AND rowid % 50 = 0').replace('LIMIT ?', 'LIMIT 30')}`],
    ['top 30, rowid in one 10k range', `${RANK_SQL.replace('MATCH ?', 'MATCH ? AND rowid BETWEEN 500000 AND 509999').replace('LIMIT ?', 'LIMIT 30')}`],
  ];
  console.log(`stages for ${stages}: ${db.prepare(parts[0]![1]).pluck().get(stages)} pages, mmap_size ${db.pragma('mmap_size', { simple: true })}`);
  for (let round = 0; round < 3; round++) {
    for (const [name, sql] of parts) {
      const c0 = cpu();
      db.prepare(sql).raw().all(stages);
      if (round > 0) console.log(`  round ${round}: ${name.padEnd(32)} ${(cpu() - c0).toFixed(1)} ms CPU`);
    }
  }
  process.exit(0);
}

const { corpus, sources } = loadQuerySources(`${file}.corpus.json`);
reseed(20261130); // bench/search-bench.ts's queries
const texts = makeQueries(corpus, sources, QUERIES).text.map((q) => q.text);

interface Run {
  text: string;
  ms: number;
  weightless: string[];
  steps: { expression: string; rows: number; ms: number }[];
}

function runAll(topK: LexicalTopK, learnBounds: boolean): Run[] {
  let runs: Run[] = [];
  for (let round = 0; round < 2; round++) {
    runs = [];
    for (const text of texts) {
      const phrases = lexicalPhrases(text);
      // A one-phrase plan ranks the phrase alone and remembers its best score (LexicalTopK.bestAlone).
      if (learnBounds && round === 1) for (const p of phrases) db.transaction(() => topK.search([p], 1, rankFull))();
      const steps: Run['steps'] = [];
      const rank = (expression: string, rows: number): [number, number][] => {
        const c0 = cpu();
        const found = rankFull(expression, rows);
        steps.push({ expression, rows, ms: cpu() - c0 });
        return found;
      };
      const c0 = cpu();
      const top = db.transaction(() => topK.search(phrases, LIMIT, rank))();
      runs.push({ text, ms: cpu() - c0, weightless: top?.weightless ?? [], steps });
    }
  }
  return runs;
}

function report(title: string, runs: Run[]): Run[] {
  const ms = runs.map((r) => r.ms);
  const conj = runs.map((r) => r.steps.length);
  console.log(`\n${title}: n=${runs.length}, plan CPU p50 ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms; conjunctions p50 ${percentile(conj, 50)}, max ${Math.max(...conj)}`);
  const worst = [...runs].sort((a, b) => b.ms - a.ms).slice(0, WORST);
  for (const r of worst) {
    const counts = lexicalPhrases(r.text).map((p) => `${p} ${db.prepare('SELECT count(*) FROM lexical WHERE lexical MATCH ?').pluck().get(p)}`);
    console.log(`  ${r.ms.toFixed(0).padStart(4)} ms  "${r.text}"  [pages: ${counts.join(', ')}]${r.weightless.length ? `  weightless: ${r.weightless.join(' ')}` : ''}`);
    console.log(`         ${r.steps.map((s) => `${s.expression}[${s.rows}] ${s.ms.toFixed(0)}`).join('; ')}`);
  }
  return worst;
}

const rows = db.prepare('SELECT count(*) FROM lexical_docsize').pluck().get() as number;
console.log(`${file}: ${rows} rows in the full-text index; ${texts.length} bench text queries, top ${LIMIT}`);
const worst = report('the plan as it is', runAll(new LexicalTopK(db, PLAN_BUDGET), false));
if (flag('tight-bounds') !== undefined) report('with every phrase\'s true best single score known (--tight-bounds)', runAll(new LexicalTopK(db, PLAN_BUDGET), true));

/** An SQLite varint (FTS5's %_data averages record): the value and the offset after it. */
function varint(buf: Uint8Array, at: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    const byte = buf[at + i]!;
    if (i === 8) return [v * 256 + byte, at + 9];
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [v, at + i + 1];
  }
  return [v, at + 9];
}

// --js-scores: can BM25 be computed outside FTS5 and still equal its scores to the bit? For the
// conjunctions of the worst queries, the top rows' scores recomputed the way fts5_aux.c does
// (idf through SQLite's own ln(), the libm log FTS5 calls; tf from highlight() on a scratch
// FTS5 table with the same tokenizer; the length from lexical_docsize), compared bit for bit.
if (flag('js-scores') !== undefined) {
  const K1 = 1.2;
  const B = 0.75;
  const averages = db.prepare('SELECT block FROM lexical_data WHERE id = 1').pluck().get() as Buffer;
  const sqliteVersion = db.prepare('SELECT sqlite_version()').pluck().get() as string;
  const [nRow, next] = varint(averages, 0);
  const nToken = varint(averages, next)[0];
  const avgdl = nToken / nRow;
  const ln = db.prepare('SELECT ln((? - ? + 0.5) / (? + 0.5))').pluck();
  const idfOf = (hits: number): number => {
    const idf = ln.get(nRow, hits, hits) as number;
    return idf <= 0 ? 1e-6 : idf;
  };
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.tail_scratch USING fts5 (text, tokenize = '${LEXICAL_TOKENIZE}')`);
  let same = 0;
  let differ = 0;
  for (const run of worst) {
    for (const step of run.steps) {
      const before = differ;
      const phrases = step.expression.split(' AND ');
      const idf = phrases.map((p) => idfOf(db.prepare('SELECT count(*) FROM lexical WHERE lexical MATCH ?').pluck().get(p) as number));
      const top = rankFull(step.expression, step.rows);
      db.exec('DELETE FROM temp.tail_scratch');
      const list = JSON.stringify(top.map(([id]) => id));
      db.prepare('INSERT INTO temp.tail_scratch (rowid, text) SELECT id, text FROM main.targets WHERE id IN (SELECT value FROM json_each(?))').run(list);
      // tf per phrase and page: highlight() marks over the scratch rows (never with `rowid = ?`, see the header).
      const tfs = phrases.map((p) => {
        const byId = new Map<number, number>();
        for (const [id, marked, text] of db.prepare("SELECT rowid, highlight(tail_scratch, 0, char(1), ''), text FROM temp.tail_scratch WHERE tail_scratch MATCH ?").raw().all(p) as [number, string, string][]) {
          byId.set(id, marked.split('\u0001').length - text.split('\u0001').length);
        }
        return byId;
      });
      for (const [id, bm25] of top) {
        const sz = db.prepare('SELECT sz FROM lexical_docsize WHERE id = ?').pluck().get(id) as Buffer;
        const D = varint(sz, 0)[0];
        let score = 0;
        phrases.forEach((_, i) => {
          const tf = tfs[i]!.get(id) ?? 0;
          // fts5_aux.c: score += aIDF[i] * ((aFreq[i] * (k1 + 1.0)) / (aFreq[i] + k1 * (1 - b + b * D / avgdl)))
          score += idf[i]! * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + (B * D) / avgdl)));
        });
        if (-1.0 * score === bm25) same++;
        else {
          differ++;
          if (differ <= 3) console.log(`  differs: ${step.expression} page ${id}: FTS5 ${bm25}, JS ${-score}`);
        }
      }
      console.log(`  ${step.expression}[${step.rows}] idf ${idf.map((x) => x.toPrecision(4)).join(' ')}: ${differ - before} of ${top.length} differ`);
    }
  }
  console.log(`\nBM25 recomputed in JS for the top rows of ${worst.length} queries' conjunctions: ${same} scores equal to the bit, ${differ} differ`);
  // The trap: FTS5's bm25 (and highlight) with `rowid = ?` in the WHERE report other values than
  // the same row in a scan or under `rowid BETWEEN ? AND ?`.
  const step = worst[0]?.steps[0];
  if (step) {
    for (const [id, bm25] of rankFull(step.expression, 3)) {
      const eq = db.prepare('SELECT bm25(lexical) FROM lexical WHERE lexical MATCH ? AND rowid = ?').pluck().get(step.expression, id);
      const between = db.prepare('SELECT bm25(lexical) FROM lexical WHERE lexical MATCH ? AND rowid BETWEEN ? AND ?').pluck().get(step.expression, id, id);
      console.log(`  SQLite ${sqliteVersion}, ${step.expression} page ${id}: scan ${bm25}, rowid BETWEEN ${between}, rowid = ? ${eq}`);
    }
  }
}

const shiftFlag = flag('block-max');
if (shiftFlag !== undefined) {
  const SHIFT = Number(shiftFlag || 10);
  const maxId = db.prepare('SELECT max(id) FROM lexical_docsize').pluck().get() as number;
  const blocks = (maxId >> SHIFT) + 1;
  const maxima = new Map<string, Float64Array>();
  let buildMs = 0;
  // --loose: instead of each block's best score, bounds an index written with the pages could keep
  // (valid under any later idf and mean length): per block the max tf and the min length/tf, with
  // g = (k1+1)/(1 + k1(1−b)/tf + k1·b·(length/tf)/avgdl) ≤ its value at those two.
  const LOOSE = flag('loose') !== undefined;
  const averages = db.prepare('SELECT block FROM lexical_data WHERE id = 1').pluck().get() as Buffer;
  const [indexRows, next] = varint(averages, 0);
  const avgdl = varint(averages, next)[0] / indexRows;
  let misread = 0;
  // Per block, the best single-term score of the phrase (−bm25 of the same statement shape the plan runs), or the loose bound.
  const blockMax = (phrase: string): Float64Array => {
    let m = maxima.get(phrase);
    if (m) return m;
    const c0 = cpu();
    m = new Float64Array(blocks);
    if (!LOOSE) {
      for (const [id, bm25] of db.prepare('SELECT rowid, bm25(lexical) FROM lexical WHERE lexical MATCH ?').raw().iterate(phrase) as Iterable<[number, number]>) {
        const b = id >> SHIFT;
        if (-bm25 > m[b]!) m[b] = -bm25;
      }
    } else {
      const hits = db.prepare('SELECT count(*) FROM lexical WHERE lexical MATCH ?').pluck().get(phrase) as number;
      const idf = fts5Idf(indexRows, hits);
      const maxTf = new Float64Array(blocks);
      const minRatio = new Float64Array(blocks).fill(Number.POSITIVE_INFINITY);
      const sql = 'SELECT l.rowid, bm25(lexical), d.sz FROM lexical l JOIN lexical_docsize d ON d.id = l.rowid WHERE lexical MATCH ?';
      for (const [id, bm25, sz] of db.prepare(sql).raw().iterate(phrase) as Iterable<[number, number, Buffer]>) {
        // tf from the score: s/idf = 2.2·tf/(tf + K), K = 1.2(0.25 + 0.75·len/avgdl).
        const length = varint(sz, 0)[0];
        const k = 1.2 * (0.25 + (0.75 * length) / avgdl);
        const g = -bm25 / idf;
        const tf = Math.round((g * k) / (2.2 - g));
        if (Math.abs((2.2 * tf) / (tf + k) - g) > 1e-9 * g) misread++;
        const b = id >> SHIFT;
        if (tf > maxTf[b]!) maxTf[b] = tf;
        if (length / tf < minRatio[b]!) minRatio[b] = length / tf;
      }
      for (let b = 0; b < blocks; b++) if (maxTf[b]! > 0) m[b] = idf * (2.2 / (1 + 0.3 / maxTf[b]! + (0.9 * minRatio[b]!) / avgdl)) * (1 + 1e-9);
    }
    buildMs += cpu() - c0;
    maxima.set(phrase, m);
    return m;
  };
  const restricted = db
    .prepare('SELECT rowid, bm25(lexical) AS score FROM lexical WHERE lexical MATCH ? AND rowid BETWEEN ? AND ? AND (rowid >> ?) IN (SELECT value FROM json_each(?)) ORDER BY score, rowid LIMIT ?')
    .raw();
  const over = (expression: string, rows: number, keep: number[]): [number, number][] =>
    keep.length === 0 ? [] : (restricted.all(expression, keep[0]! << SHIFT, ((keep.at(-1)! + 1) << SHIFT) - 1, SHIFT, JSON.stringify(keep), rows) as [number, number][]);
  console.log(`\n${LOOSE ? 'loose block bounds (max tf, min length/tf)' : 'block maxima'} over ${blocks} blocks of ${1 << SHIFT} rowids (--block-max ${SHIFT}); each conjunction of the worst queries, full rank against the blocks that can reach the k-th score:`);
  for (const run of worst) {
    for (const step of run.steps) {
      const phrases = step.expression.split(' AND ');
      const bound = new Float64Array(blocks);
      for (const p of phrases) {
        const m = blockMax(p);
        for (let b = 0; b < blocks; b++) bound[b]! += m[b]!;
      }
      let c0 = cpu();
      const full = rankFull(step.expression, step.rows);
      const fullMs = cpu() - c0;
      c0 = cpu();
      // θ0 ≤ the true k-th score: for one phrase, the k-th best block maximum (each is a real page's
      // score); for a conjunction, the k-th score over the k blocks of highest bound.
      let theta: number;
      const order = [...bound.keys()].sort((a, b) => bound[b]! - bound[a]!);
      if (phrases.length === 1 && !LOOSE) theta = bound[order[step.rows - 1]!] ?? 0;
      else {
        const first = over(step.expression, step.rows, order.slice(0, step.rows).sort((a, b) => a - b));
        theta = first.length >= step.rows ? -first[step.rows - 1]![1] : 0;
      }
      const keep = order.filter((b) => bound[b]! > 0 && bound[b]! * (1 + 1e-9) >= theta).sort((a, b) => a - b);
      const found = over(step.expression, step.rows, keep);
      const ms = cpu() - c0;
      const same = JSON.stringify(found) === JSON.stringify(full);
      console.log(`  ${step.expression}[${step.rows}]: full ${fullMs.toFixed(1)} ms, block-max ${ms.toFixed(1)} ms over ${keep.length}/${blocks} blocks, rows identical: ${same}`);
      if (!same) process.exitCode = 1;
    }
  }
  console.log(`  building the maxima of ${maxima.size} phrases (full scans): ${buildMs.toFixed(0)} ms CPU${LOOSE ? `; tf not recovered from the score on ${misread} rows` : ''}`);
}
db.close();
