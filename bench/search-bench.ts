/**
 * Search latency and recall of the SQLite knowledge store at scale.
 *
 *   npx tsx bench/search-bench.ts [--pages 10000,100000] [--queries 200] [--baseline-queries 50] [--keep] [--rescore N[/C][,M…]] [--no-sizes] [--baseline-cache FILE]
 *   npx tsx bench/search-bench.ts --pages 1000000 --db /tmp/fs-1m/fieldscope.db
 *   npx tsx bench/search-bench.ts [--pages 10000,100000] [--queries 200] [--baseline-queries 50] [--keep]
 *   npx tsx bench/search-bench.ts --pages 1000000 --db /tmp/fs-1m/fieldscope.db [--lexical-recall 40]
 *
 * `--db FILE` (one size only) fills FILE and keeps it, with what the queries are drawn from in
 * FILE.corpus.json; a later run with the same FILE skips the fill (a 1M fill takes ~20 min) and
 * times the code as it is now against the same data and the same queries.
 *
 * For each size: fills a temporary store with synthetic pages (CLIP-like vectors: a shared
 * per-modality offset + a topic cluster + page and chunk noise, dim 512; ~4 chunks a page;
 * page text drawn from a Zipf-weighted word list with part numbers; one photo per 100 pages),
 * then times the one store call the search service makes per query, `searchSignals`, with the
 * SignalQuery it builds (perSignal limit 30, identifiers by extractIdentifiers):
 *   text  = chunks (SEMANTIC) + page images and photos (CROSS_MODAL) + lexical + identifiers
 *   image = page images and photos (VISUAL) + chunks (CROSS_MODAL)
 * then each single-signal call alone (the breakdown), with where each vector search spent its
 * time (Hamming pass, selection, refine, exact rescoring; median over the queries), and the
 * database's size per table. Runs before 2026-11-30 05:00 timed text as chunks + lexical +
 * identifiers only, leaving out the CROSS_MODAL searchImages (~23 ms at 1M pages).
 *
 * Recall@10 of every approximate path against an exact baseline: for the vector paths, one
 * sequential pass over all stored vectors scores every baseline query at once
 * (exact-vector-baseline.ts), so 50+ queries cost about one scan; for BM25, the exact FTS5
 * ranking per query. `--rescore N[,M…]` sets how many vectors a search rescores exactly; with
 * several values, each gets its own latency and recall line (to trade recall against latency); `--no-sizes` skips the per-table sizes (they read the whole file).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { loadConfig } from '../src/config.js';
import { createKnowledgeStore } from '../src/store/create-store.js';
import { DEFAULT_SEARCH_SETTINGS } from '../src/search/search-service.js';
import { extractIdentifiers } from '../src/search/identifiers.js';
import type { Candidate, HitTarget, KnowledgeStore, SignalQuery } from '../src/store/knowledge-store.js';
import { SqliteKnowledgeStore } from '../src/store/sqlite/sqlite-knowledge-store.js';
import type { CandidateCounts, SearchStages } from '../src/store/sqlite/vector-space.js';
import { exactTopTargets, sizePerTable, targetKeys } from './exact-vector-baseline.js';
import { DIM, fill, loadQuerySources, makeQueries, percentile, reseed, saveQuerySources, type Corpus, type QuerySource, type TextQuery } from './synthetic-corpus.js';

const LIMIT = 30; // what the search service asks each signal for at limit 10

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SIZES = arg('pages', '10000,100000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const QUERIES = Number(arg('queries', '200'));
const BASELINE_QUERIES = Number(arg('baseline-queries', '50'));
const KEEP = process.argv.includes('--keep');
const DB = arg('db', '');
/** Candidate counts to compare (`--rescore 1000,400/4000`: rescored[/kept by the Hamming pass, default 4×]); the first is used for the main figures. */
const RESCORE: (CandidateCounts | undefined)[] = arg('rescore', '')
  ? arg('rescore', '')
      .split(',')
      .map((v) => {
        const [rescore, coarse] = v.split('/').map(Number);
        return { rescore: rescore!, coarse: coarse ?? rescore! * 4 };
      })
  : [undefined];
const label = (c: CandidateCounts): string => `${c.rescore}/${c.coarse}`;
const SIZES_PER_TABLE = !process.argv.includes('--no-sizes');
/** `--baseline-cache FILE`: keep the exact results there and reuse them (the 1M passes take minutes). */
const BASELINE_CACHE = arg('baseline-cache', '');
/** `--side-by-side ROUNDS`: text and image queries with the lexical signal on the calling thread and in the lexical worker, alternately, alone and 2 at a time. */
const SIDE_BY_SIDE = Number(arg('side-by-side', '0'));
/** `--lexical-in-thread`: the main figures with the lexical signal on the calling thread (the code before the lexical worker). */
const LEXICAL_IN_THREAD = process.argv.includes('--lexical-in-thread');
/** `--lexical-recall N`: also time searchLexical alone, fast and exact, on N queries, and its recall@10 (no exact vector scans). */
const LEXICAL_RECALL = Number(arg('lexical-recall', '0'));
if (DB && SIZES.length !== 1) throw new Error('--db takes one --pages size.');

// ---- measurement ----
/**
 * CPU ms this thread has run (Linux: /proc/thread-self/schedstat, ns); NaN elsewhere. With the
 * lexical worker, process.cpuUsage() counts both threads, while a query's latency on an idle
 * machine is about the busier thread's share: this one's, or the rest (the worker's).
 */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

function ms(v: number): string {
  return `${v.toFixed(1)} ms`;
}
const key = (t: HitTarget): string => (t.kind === 'page' ? `${t.documentId}#${t.pageNumber}` : `photo:${t.photoId}`);

interface Keyed {
  key: string;
  score: number;
}

/**
 * Share of the exact top 10 the fast top 10 recovers; a fast hit whose exact score ties the
 * exact 10th counts (ties are ordered arbitrarily). Exact scores of fast hits come from the
 * fast path itself when it rescored exactly, else from the exact list.
 */
function recallAt10(fast: Keyed[], exact: Keyed[], fastScoresAreExact: boolean): number {
  const want = exact.slice(0, 10);
  if (want.length === 0) return 1;
  const cutoff = want[want.length - 1]!.score - 1e-6;
  const exactScore = new Map(exact.map((c) => [c.key, c.score]));
  let hits = 0;
  for (const c of fast.slice(0, want.length)) {
    const score = fastScoresAreExact ? c.score : exactScore.get(c.key);
    if (score !== undefined && score >= cutoff) hits++;
  }
  return hits / want.length;
}
/** The exact answers of the first `n` queries, keyed (what recall compares against). */
interface Baseline {
  file: string;
  n: number;
  limit: number;
  lexical: Keyed[][];
  chunks: Keyed[][];
  imageChunks: Keyed[][];
  images: Keyed[][];
}
const keyed = (candidates: Candidate[]): Keyed[] => candidates.map((c) => ({ key: key(c.target), score: c.score }));

interface Timings {
  text: number[];
  image: number[];
  /** CPU ms of the same calls: the store works on this thread, so on a shared machine this is what a quiet one would take. */
  textCpu: number[];
  imageCpu: number[];
  /** CPU ms of the calling thread alone (threadCpuMs); the rest of textCpu ran in the lexical worker. */
  textThreadCpu: number[];
  calls: Record<string, number[]>;
  /** Per vector call: where the indexed search spent its time (SQLite store only). */
  stages: Record<string, SearchStages[]>;
}

/** The SignalQuery the search service builds for a text query (search-service.ts `rank`). */
function textSignalQuery(q: TextQuery): SignalQuery {
  return { text: { vector: q.vector, words: q.text, identifiers: extractIdentifiers(q.text) }, image: null, read: null };
}

/**
 * The SignalQuery the search service builds for an image query. The synthetic queries are vectors
 * without image bytes, so there is no difference hash or layout to look up (those are index
 * lookups of a few rows) and nothing read on the photo.
 */
function imageSignalQuery(vector: Float32Array): SignalQuery {
  return { image: { vector, hash: null, maxHashDistance: DEFAULT_SEARCH_SETTINGS.maxHashDistance, layout: null }, text: null, read: null };
}

/**
 * Each query through `store.searchSignals`, the one call the search service makes (text: chunks,
 * images (CROSS_MODAL), lexical, identifiers; image: images, chunks); then, in a second pass, the
 * same queries signal by signal for the breakdown (each single call is timed alone, after the
 * whole query ran once, so caches are as warm as in the first pass's later queries).
 */
async function timeQueries(store: KnowledgeStore, queries: { text: TextQuery[]; image: Float32Array[] }, count: number): Promise<Timings & { results: { chunks: Candidate[]; lexical: Candidate[]; images: Candidate[]; imageChunks: Candidate[] }[] }> {
  const calls: Record<string, number[]> = { searchChunks: [], 'searchImages(text)': [], searchLexical: [], searchIdentifiers: [], searchImages: [], 'searchChunks(image)': [] };
  const text: number[] = [];
  const image: number[] = [];
  const textCpu: number[] = [];
  const imageCpu: number[] = [];
  const textThreadCpu: number[] = [];
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const results: { chunks: Candidate[]; lexical: Candidate[]; images: Candidate[]; imageChunks: Candidate[] }[] = [];
  const stages: Record<string, SearchStages[]> = { searchChunks: [], searchImages: [], 'searchChunks(image)': [] };
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await fn();
    calls[name]!.push(performance.now() - t);
    if (stages[name] && store instanceof SqliteKnowledgeStore) {
      const last = store.lastSearchStages()[name === 'searchImages' ? 'image' : 'chunk'];
      if (last) stages[name]!.push(last);
    }
    return out;
  };
  const n = Math.min(count, queries.text.length);
  for (let i = 0; i < n; i++) {
    const q = queries.text[i]!;
    const t0 = performance.now();
    const c0 = cpuMs();
    const h0 = threadCpuMs();
    const textFound = await store.searchSignals(textSignalQuery(q), LIMIT);
    text.push(performance.now() - t0);
    textCpu.push(cpuMs() - c0);
    textThreadCpu.push(threadCpuMs() - h0);
    const v = queries.image[i]!;
    const t1 = performance.now();
    const c1 = cpuMs();
    const imageFound = await store.searchSignals(imageSignalQuery(v), LIMIT);
    image.push(performance.now() - t1);
    imageCpu.push(cpuMs() - c1);
    results.push({ chunks: textFound.textChunks, lexical: textFound.lexical, images: imageFound.imageImages, imageChunks: imageFound.imageChunks });
  }
  // The breakdown: the same calls one by one.
  for (let i = 0; i < n; i++) {
    const q = queries.text[i]!;
    const identifiers = extractIdentifiers(q.text);
    await timed('searchChunks', () => store.searchChunks(q.vector, LIMIT));
    await timed('searchImages(text)', () => store.searchImages(q.vector, LIMIT));
    await timed('searchLexical', () => store.searchLexical(q.text, LIMIT));
    if (identifiers.length > 0) await timed('searchIdentifiers', () => store.searchIdentifiers(identifiers, LIMIT));
    const v = queries.image[i]!;
    await timed('searchImages', () => store.searchImages(v, LIMIT));
    await timed('searchChunks(image)', () => store.searchChunks(v, LIMIT));
  }
  return { text, image, textCpu, imageCpu, textThreadCpu, calls, stages, results };
}

function reseededQueries(corpus: Corpus, sources: QuerySource[], count: number): { text: TextQuery[]; image: Float32Array[] } {
  reseed(20261130);
  return makeQueries(corpus, sources, count);
}

/** searchLexical alone: the default store against exact BM25 (one FTS5 OR over every term), query by query. */
async function lexicalRecall(fast: KnowledgeStore, exact: KnowledgeStore, queries: TextQuery[]): Promise<void> {
  const fastMs: number[] = [];
  const fastCpu: number[] = [];
  const exactMs: number[] = [];
  const recall: number[] = [];
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (const q of queries.slice(0, 10)) await fast.searchLexical(q.text, LIMIT); // warm-up
  await workerReady(fast);
  for (const q of queries) {
    const t0 = performance.now();
    const c0 = cpuMs();
    const got = await fast.searchLexical(q.text, LIMIT);
    fastCpu.push(cpuMs() - c0);
    fastMs.push(performance.now() - t0);
    const t1 = performance.now();
    const want = await exact.searchLexical(q.text, LIMIT);
    exactMs.push(performance.now() - t1);
    recall.push(recallAt10(keyed(got), keyed(want), true));
  }
  const row = (label: string, values: number[]): string => `${label.padEnd(34)} p50 ${ms(percentile(values, 50)).padStart(10)}   p95 ${ms(percentile(values, 95)).padStart(10)}   (n=${values.length})`;
  console.log(row('searchLexical alone', fastMs));
  console.log(row('searchLexical alone, CPU', fastCpu));
  console.log(row('searchLexical exact (FTS5 OR)', exactMs));
  console.log(`searchLexical recall@10 vs exact BM25 over every term (n=${recall.length}): ${(recall.reduce((a, b) => a + b, 0) / recall.length).toFixed(3)} (min ${Math.min(...recall).toFixed(1)}, exact top 10 in ${recall.filter((r) => r === 1).length})`);
}

/** Waits for the lexical worker when the warm-up started it (it starts lazily, on the first large search). */
async function workerReady(store: KnowledgeStore): Promise<void> {
  const thread = store instanceof SqliteKnowledgeStore ? store.lexicalThreadForTests() : null;
  if (thread && thread.state !== 'stopped') await thread.start();
}

/**
 * The lexical signal on the calling thread against in the lexical worker, on the same store and
 * queries, alternately (A B A B …, so load from others falls on both): each query alone (latency),
 * then two clients with one query each in flight (throughput: what a server answering two users
 * at once gets). CPU is the whole process's, every thread.
 */
async function sideBySide(store: SqliteKnowledgeStore, queries: { text: TextQuery[]; image: Float32Array[] }, rounds: number): Promise<void> {
  const configured = store.lexicalWorkerMinRows;
  const modes: [string, number][] = [
    ['calling thread', Number.POSITIVE_INFINITY],
    ['lexical worker', 0],
  ];
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const n = queries.text.length;
  const row = (label: string, values: number[]): string => `${label.padEnd(34)} p50 ${ms(percentile(values, 50)).padStart(10)}   p95 ${ms(percentile(values, 95)).padStart(10)}   (n=${values.length})`;
  console.log(`signals side by side: ${rounds} round(s) of ${n} text and ${n} image queries per mode`);
  for (let round = 1; round <= rounds; round++) {
    for (const [name, minRows] of modes) {
      store.lexicalWorkerMinRows = minRows;
      for (let i = 0; i < Math.min(5, n); i++) await store.searchSignals(textSignalQuery(queries.text[i]!), LIMIT); // warm-up (starts the worker)
      await workerReady(store);
      const text: number[] = [];
      const image: number[] = [];
      const textThread: number[] = [];
      const textAll: number[] = [];
      const c0 = cpuMs();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const h0 = threadCpuMs();
        const a0 = cpuMs();
        await store.searchSignals(textSignalQuery(queries.text[i]!), LIMIT);
        text.push(performance.now() - t0);
        textThread.push(threadCpuMs() - h0);
        textAll.push(cpuMs() - a0);
        const t1 = performance.now();
        await store.searchSignals(imageSignalQuery(queries.image[i]!), LIMIT);
        image.push(performance.now() - t1);
      }
      const aloneCpu = (cpuMs() - c0) / (2 * n);
      // Two clients, each with one query in flight: client k takes queries k, k+2, … (text then image).
      const together: number[] = [];
      const c1 = cpuMs();
      const w0 = performance.now();
      await Promise.all(
        [0, 1].map(async (k) => {
          for (let i = k; i < n; i += 2) {
            const t0 = performance.now();
            await store.searchSignals(textSignalQuery(queries.text[i]!), LIMIT);
            await store.searchSignals(imageSignalQuery(queries.image[i]!), LIMIT);
            together.push(performance.now() - t0);
          }
        }),
      );
      const wall = performance.now() - w0;
      const togetherCpu = (cpuMs() - c1) / (2 * n);
      console.log(`  round ${round}, ${name} (load ${os.loadavg()[0]!.toFixed(2)}):`);
      console.log(row('    text  searchSignals, alone', text));
      console.log(row('    image searchSignals, alone', image));
      console.log(`    CPU per query (all threads), alone: ${ms(aloneCpu)}`);
      console.log(row('    text CPU, calling thread', textThread));
      console.log(row('    text CPU, other threads', textAll.map((c, i) => c - textThread[i]!)));
      console.log(row('    text CPU, busier thread', textAll.map((c, i) => Math.max(textThread[i]!, c - textThread[i]!))));
      console.log(row('    text+image, 2 clients', together));
      console.log(`    2 clients: ${((2 * n * 1000) / wall).toFixed(1)} queries/s (${n} text + ${n} image in ${(wall / 1000).toFixed(2)} s), CPU per query ${ms(togetherCpu)}`);
    }
  }
  store.lexicalWorkerMinRows = configured;
}

function fileSize(file: string): number {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // absent
    }
  }
  return total;
}

async function runSize(pages: number): Promise<void> {
  const dir = DB ? path.dirname(path.resolve(DB)) : mkdtempSync(path.join(os.tmpdir(), 'fieldscope-bench-'));
  const file = DB ? path.resolve(DB) : path.join(dir, 'fieldscope.db');
  const sidecar = `${file}.corpus.json`;
  try {
    console.log(`\n== ${pages.toLocaleString('en')} pages ==`);
    let corpus: Corpus;
    let sources: QuerySource[];
    let fillMs = Number.NaN;
    if (DB && existsSync(file) && existsSync(sidecar)) {
      ({ corpus, sources } = loadQuerySources(sidecar));
      console.log(`reusing ${file} (filled by an earlier run; fill time and ingest memory are in that run's output)`);
    } else {
      if (DB && existsSync(file)) throw new Error(`${file} exists without ${sidecar}: remove it, or name a new file.`);
      if (DB) mkdirSync(dir, { recursive: true });
      const store = new SqliteKnowledgeStore({ file, dim: DIM, modelId: 'bench' });
      await store.init();
      const fillStart = performance.now();
      // Ingest memory: RSS after every document (bounded means flat, not growing with the corpus).
      const filled = await fill(store, pages);
      ({ corpus, sources } = filled);
      const { rssSamples } = filled;
      fillMs = performance.now() - fillStart;
      await store.close();
      if (DB) saveQuerySources(sidecar, corpus, sources);
      const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
      const quarter = (q: number) => rssSamples[Math.min(rssSamples.length - 1, Math.floor((q * rssSamples.length) / 4))]!;
      console.log(`ingest memory: RSS ${mb(rssSamples[0]!)} at start, ${mb(quarter(1))} / ${mb(quarter(2))} / ${mb(quarter(3))} / ${mb(rssSamples.at(-1)!)} at 25/50/75/100 % of the fill, peak ${mb(rssSamples.reduce((m, v) => Math.max(m, v), 0))}`);
    }

    const openStart = performance.now();
    const fast = new SqliteKnowledgeStore({ file, dim: DIM, modelId: 'bench', vectorCandidates: RESCORE[0], ...(LEXICAL_IN_THREAD ? { lexicalWorkerMinRows: Number.POSITIVE_INFINITY } : {}) });
    await fast.init();
    const openMs = performance.now() - openStart;
    const exact = new SqliteKnowledgeStore({ file, dim: DIM, modelId: 'bench', vectorSearch: 'exact', lexicalSearch: 'exact', lexicalWorkerMinRows: Number.POSITIVE_INFINITY });
    await exact.init();

    reseed(20261130); // the same queries whether the corpus was just filled or reused
    const queries = makeQueries(corpus, sources, QUERIES);
    const chunkCount = pages * 4;
    console.log(`fill: ${Number.isNaN(fillMs) ? 'reused' : `${(fillMs / 1000).toFixed(1)} s`} (~${chunkCount.toLocaleString('en')} chunks, ${(pages / 100).toLocaleString('en')} photos); DB size ${(fileSize(file) / 1e6).toFixed(0)} MB; reopen + index load ${ms(openMs)}`);

    if (LEXICAL_RECALL > 0) {
      const lexical = reseededQueries(corpus, sources, Math.max(QUERIES, LEXICAL_RECALL));
      await lexicalRecall(fast, exact, lexical.text.slice(0, LEXICAL_RECALL));
    }
    await timeQueries(fast, queries, 10); // warm-up
    await workerReady(fast);
    const f = await timeQueries(fast, queries, QUERIES);

    const row = (label: string, values: number[]): string => `${label.padEnd(34)} p50 ${ms(percentile(values, 50)).padStart(10)}   p95 ${ms(percentile(values, 95)).padStart(10)}   (n=${values.length})`;
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}${RESCORE[0] ? `; candidates ${label(RESCORE[0])} (rescored/coarse)` : ''}; lexical signal ${LEXICAL_IN_THREAD ? 'on the calling thread' : `in the lexical worker from ${fast.lexicalWorkerMinRows.toLocaleString('en')} indexed pages`}`);
    console.log(row('text  searchSignals', f.text));
    console.log(row('image searchSignals', f.image));
    console.log(row('text  CPU, all threads', f.textCpu));
    console.log(row('text  CPU, calling thread', f.textThreadCpu));
    console.log(row('text  CPU, other threads', f.textCpu.map((c, i) => c - f.textThreadCpu[i]!)));
    console.log(row('image CPU, all threads', f.imageCpu));
    for (const [name, values] of Object.entries(f.calls)) console.log(row(`  ${name}`, values));
    for (const [name, list] of Object.entries(f.stages)) {
      if (list.length === 0) continue;
      const p50 = (pick: (s: SearchStages) => number): string => percentile(list.map(pick), 50).toFixed(1);
      console.log(
        `  ${name.padEnd(20)} stages p50: hamming ${p50((s) => s.hammingMs)} ms, select ${p50((s) => s.selectMs)} ms, refine ${p50((s) => s.refineMs)} ms, rescore ${p50((s) => s.rescoreMs)} ms (${list[0]!.rescored} rescored of ${list[0]!.scanned.toLocaleString('en')} vectors)`,
      );
    }

    // Baseline: exact BM25 per query; exact vectors for all baseline queries in one pass per space.
    const n = Math.min(BASELINE_QUERIES, f.results.length);
    let baseline: Baseline;
    if (BASELINE_CACHE && existsSync(BASELINE_CACHE)) {
      baseline = JSON.parse(readFileSync(BASELINE_CACHE, 'utf8')) as Baseline;
      if (baseline.file !== file || baseline.n !== n || baseline.limit !== LIMIT) throw new Error(`${BASELINE_CACHE} holds the baseline of another run (${baseline.file}, n=${baseline.n}, limit ${baseline.limit}): remove it.`);
      console.log(`baseline: read from ${BASELINE_CACHE}`);
    } else {
      const lexicalMs: number[] = [];
      const lexical: Keyed[][] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        lexical.push(keyed(await exact.searchLexical(queries.text[i]!.text, LIMIT)));
        lexicalMs.push(performance.now() - t);
      }
      const passStart = performance.now();
      const textVectors = queries.text.slice(0, n).map((q) => q.vector);
      const imageVectors = queries.image.slice(0, n);
      const chunkHits = exactTopTargets(file, 'chunk', [...textVectors, ...imageVectors], LIMIT);
      const chunkPassMs = performance.now() - passStart;
      const imageHits = exactTopTargets(file, 'image', imageVectors, LIMIT);
      const imagePassMs = performance.now() - passStart - chunkPassMs;
      const keys = targetKeys(file, [...new Set([...chunkHits, ...imageHits].flat().map((h) => h.targetId))]);
      const exactKeyed = (hits: { targetId: number; score: number }[]): Keyed[] => hits.map((h) => ({ key: keys.get(h.targetId)!, score: h.score }));
      baseline = { file, n, limit: LIMIT, lexical, chunks: chunkHits.slice(0, n).map(exactKeyed), imageChunks: chunkHits.slice(n).map(exactKeyed), images: imageHits.map(exactKeyed) };
      if (BASELINE_CACHE) writeFileSync(BASELINE_CACHE, JSON.stringify(baseline));
      console.log('baseline: exact BM25 per query; exact vectors, every baseline query in one pass per space');
      console.log(row('  searchLexical', lexicalMs));
      console.log(`  exact vector passes: chunks ${(chunkPassMs / 1000).toFixed(1)} s for ${2 * n} queries, images ${(imagePassMs / 1000).toFixed(1)} s for ${n} queries`);
    }

    const recallOf = (results: typeof f.results): string => {
      const recall = { searchChunks: [] as number[], searchLexical: [] as number[], searchImages: [] as number[], 'searchChunks(image)': [] as number[] };
      for (let i = 0; i < n; i++) {
        const a = results[i]!;
        recall.searchChunks.push(recallAt10(keyed(a.chunks), baseline.chunks[i]!, true));
        recall.searchLexical.push(recallAt10(keyed(a.lexical), baseline.lexical[i]!, false));
        recall.searchImages.push(recallAt10(keyed(a.images), baseline.images[i]!, true));
        recall['searchChunks(image)'].push(recallAt10(keyed(a.imageChunks), baseline.imageChunks[i]!, true));
      }
      const mean = (v: number[]): number => v.reduce((x, y) => x + y, 0) / v.length;
      return `recall@10 vs baseline (n=${n}): ${Object.entries(recall).map(([k, v]) => `${k} ${mean(v).toFixed(3)} (min ${Math.min(...v).toFixed(1)})`).join(', ')}`;
    };
    console.log(recallOf(f.results));
    if (SIDE_BY_SIDE > 0) await sideBySide(fast, queries, SIDE_BY_SIDE);
    // Other rescore counts, timed after the baseline's passes (which read the whole file).
    for (const count of RESCORE.slice(1)) {
      fast.vectorCandidates = count;
      const r = await timeQueries(fast, queries, QUERIES);
      const p50 = (name: string): string => ms(percentile(r.calls[name]!, 50));
      const rescoreP50 = (name: string): string => ms(percentile(r.stages[name]!.map((st) => st.rescoreMs), 50));
      console.log(
        `candidates ${label(count!)}: p50 searchChunks ${p50('searchChunks')} (rescore ${rescoreP50('searchChunks')}), searchImages ${p50('searchImages')} (rescore ${rescoreP50('searchImages')}), searchChunks(image) ${p50('searchChunks(image)')}; load ${os.loadavg()[0]!.toFixed(2)}`,
      );
      console.log(`  ${recallOf(r.results)}`);
    }
    // Last: it reads the whole file, which would change what the timed searches find cached.
    if (SIZES_PER_TABLE) {
      const sizes = sizePerTable(file);
      const mb = (b: number): string => `${(b / 1e6).toFixed(0)} MB`;
      console.log(`size per table (pages / payload): ${sizes.filter((t) => t.bytes >= 1e6).map((t) => `${t.name} ${mb(t.bytes)} / ${mb(t.payload)}`).join(', ')}`);
    }
    await fast.close();
    await exact.close();
  } finally {
    if (KEEP || DB) console.log(`kept ${file}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`search bench: dim ${DIM}, limit ${LIMIT}, ${QUERIES} queries (${BASELINE_QUERIES} for the baseline), node ${process.version}, ${os.cpus().length} CPUs`);
for (const pages of SIZES) await runSize(pages);

/**
 * With QDRANT_URL set (and QDRANT_API_KEY if needed), the same synthetic workload against Qdrant,
 * in a throwaway collection (prefix fieldscope_bench_<time>_), deleted afterwards unless --keep.
 */
async function runQdrant(pages: number): Promise<void> {
  const config = loadConfig({ ...process.env, VECTOR_STORE: 'qdrant', QDRANT_COLLECTION_PREFIX: `fieldscope_bench_${Date.now()}_` });
  const store = createKnowledgeStore({ kind: 'qdrant', dataDir: os.tmpdir(), dim: DIM, modelId: 'bench', qdrant: config.store.qdrant! });
  await store.init();
  console.log(`\n== Qdrant ${config.store.qdrant!.url}: ${pages.toLocaleString('en')} pages ==`);
  const fillStart = performance.now();
  const { corpus, sources } = await fill(store, pages);
  console.log(`fill: ${((performance.now() - fillStart) / 1000).toFixed(1)} s`);
  const queries = makeQueries(corpus, sources, QUERIES);
  await timeQueries(store, queries, 10);
  const q = await timeQueries(store, queries, QUERIES);
  const row = (label: string, values: number[]): string => `${label.padEnd(34)} p50 ${ms(percentile(values, 50)).padStart(10)}   p95 ${ms(percentile(values, 95)).padStart(10)}   (n=${values.length})`;
  console.log(row('text  searchSignals', q.text));
  console.log(row('image searchSignals', q.image));
  await store.close();
  const collection = `${config.store.qdrant!.collectionPrefix}points`;
  if (KEEP) console.log(`kept collection ${collection}`);
  else await new QdrantClient({ url: config.store.qdrant!.url, apiKey: config.store.qdrant!.apiKey, checkCompatibility: false }).deleteCollection(collection);
}

if (process.env.QDRANT_URL) for (const pages of SIZES) await runQdrant(pages);
else console.log('\n(QDRANT_URL is not set: the Qdrant part of the bench was skipped.)');
