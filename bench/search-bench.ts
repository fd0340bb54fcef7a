/**
 * Search latency and recall of the SQLite knowledge store at scale.
 *
 *   npx tsx bench/search-bench.ts [--pages 10000,100000] [--queries 200] [--baseline-queries 50] [--keep]
 *   npx tsx bench/search-bench.ts --pages 1000000 --db /tmp/fs-1m/fieldscope.db
 *
 * `--db FILE` (one size only) fills FILE and keeps it, with what the queries are drawn from in
 * FILE.corpus.json; a later run with the same FILE skips the fill (a 1M fill takes ~20 min) and
 * times the code as it is now against the same data and the same queries.
 *
 * For each size: fills a temporary store with synthetic pages (CLIP-like vectors: a shared
 * per-modality offset + a topic cluster + page and chunk noise, dim 512; ~4 chunks a page;
 * page text drawn from a Zipf-weighted word list with part numbers; one photo per 100 pages),
 * then times the calls the search service makes, sequentially, as it makes them:
 *   text  = searchChunks + searchLexical + searchIdentifiers (identifiers only when the text has some)
 *   image = searchImages + searchChunks
 * for the default store and for a brute-force baseline (exact vector scans, exact BM25), and
 * reports recall@10 of the default store against the baseline for every approximate path.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { loadConfig } from '../src/config.js';
import { createKnowledgeStore } from '../src/store/create-store.js';
import type { Candidate, HitTarget, KnowledgeStore } from '../src/store/knowledge-store.js';
import { SqliteKnowledgeStore } from '../src/store/sqlite/sqlite-knowledge-store.js';
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
if (DB && SIZES.length !== 1) throw new Error('--db takes one --pages size.');

// ---- measurement ----
function ms(v: number): string {
  return `${v.toFixed(1)} ms`;
}
const key = (t: HitTarget): string => (t.kind === 'page' ? `${t.documentId}#${t.pageNumber}` : `photo:${t.photoId}`);

/**
 * Share of the exact top 10 the fast top 10 recovers; a fast hit whose exact score ties the
 * exact 10th counts (ties are ordered arbitrarily).
 */
function recallAt10(fast: Candidate[], exact: Candidate[], fastScoresAreExact: boolean): number {
  const want = exact.slice(0, 10);
  if (want.length === 0) return 1;
  const cutoff = want[want.length - 1]!.score - 1e-6;
  const exactScore = new Map(exact.map((c) => [key(c.target), c.score]));
  let hits = 0;
  for (const c of fast.slice(0, want.length)) {
    const score = fastScoresAreExact ? c.score : exactScore.get(key(c.target));
    if (score !== undefined && score >= cutoff) hits++;
  }
  return hits / want.length;
}

interface Timings {
  text: number[];
  image: number[];
  /** CPU ms of the same calls: the store works on this thread, so on a shared machine this is what a quiet one would take. */
  textCpu: number[];
  imageCpu: number[];
  calls: Record<string, number[]>;
}

async function timeQueries(store: KnowledgeStore, queries: { text: TextQuery[]; image: Float32Array[] }, count: number): Promise<Timings & { results: { chunks: Candidate[]; lexical: Candidate[]; images: Candidate[]; imageChunks: Candidate[] }[] }> {
  const calls: Record<string, number[]> = { searchChunks: [], searchLexical: [], searchIdentifiers: [], searchImages: [], 'searchChunks(image)': [] };
  const text: number[] = [];
  const image: number[] = [];
  const textCpu: number[] = [];
  const imageCpu: number[] = [];
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const results: { chunks: Candidate[]; lexical: Candidate[]; images: Candidate[]; imageChunks: Candidate[] }[] = [];
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await fn();
    calls[name]!.push(performance.now() - t);
    return out;
  };
  for (let i = 0; i < Math.min(count, queries.text.length); i++) {
    const q = queries.text[i]!;
    const t0 = performance.now();
    const c0 = cpuMs();
    const chunks = await timed('searchChunks', () => store.searchChunks(q.vector, LIMIT));
    const lexical = await timed('searchLexical', () => store.searchLexical(q.text, LIMIT));
    if (q.identifiers.length > 0) await timed('searchIdentifiers', () => store.searchIdentifiers(q.identifiers, LIMIT));
    text.push(performance.now() - t0);
    textCpu.push(cpuMs() - c0);
    const v = queries.image[i]!;
    const t1 = performance.now();
    const c1 = cpuMs();
    const images = await timed('searchImages', () => store.searchImages(v, LIMIT));
    const imageChunks = await timed('searchChunks(image)', () => store.searchChunks(v, LIMIT));
    image.push(performance.now() - t1);
    imageCpu.push(cpuMs() - c1);
    results.push({ chunks, lexical, images, imageChunks });
  }
  return { text, image, textCpu, imageCpu, calls, results };
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
    const fast = new SqliteKnowledgeStore({ file, dim: DIM, modelId: 'bench' });
    await fast.init();
    const openMs = performance.now() - openStart;
    const exact = new SqliteKnowledgeStore({ file, dim: DIM, modelId: 'bench', vectorSearch: 'exact', lexicalRankBudget: Number.POSITIVE_INFINITY });
    await exact.init();

    reseed(20261130); // the same queries whether the corpus was just filled or reused
    const queries = makeQueries(corpus, sources, QUERIES);
    const chunkCount = pages * 4;
    console.log(`fill: ${Number.isNaN(fillMs) ? "reused" : `${(fillMs / 1000).toFixed(1)} s`} (~${chunkCount.toLocaleString('en')} chunks, ${(pages / 100).toLocaleString('en')} photos); DB size ${(fileSize(file) / 1e6).toFixed(0)} MB; reopen + index load ${ms(openMs)}`);

    await timeQueries(fast, queries, 10); // warm-up
    const f = await timeQueries(fast, queries, QUERIES);
    await timeQueries(exact, queries, 3); // warm-up
    const e = await timeQueries(exact, queries, BASELINE_QUERIES);

    const row = (label: string, values: number[]): string => `${label.padEnd(34)} p50 ${ms(percentile(values, 50)).padStart(10)}   p95 ${ms(percentile(values, 95)).padStart(10)}   (n=${values.length})`;
    console.log(row('text  (chunks+lexical+identifiers)', f.text));
    console.log(row('image (images+chunks)', f.image));
    console.log(row('text  CPU (quiet-machine latency)', f.textCpu));
    console.log(row('image CPU', f.imageCpu));
    for (const [name, values] of Object.entries(f.calls)) console.log(row(`  ${name}`, values));
    console.log('baseline: exact vector scans, exact BM25');
    console.log(row('text  (chunks+lexical+identifiers)', e.text));
    console.log(row('image (images+chunks)', e.image));
    for (const [name, values] of Object.entries(e.calls)) console.log(row(`  ${name}`, values));

    const recall = { searchChunks: [] as number[], searchLexical: [] as number[], searchImages: [] as number[], 'searchChunks(image)': [] as number[] };
    for (let i = 0; i < e.results.length; i++) {
      const a = f.results[i]!;
      const b = e.results[i]!;
      recall.searchChunks.push(recallAt10(a.chunks, b.chunks, true));
      recall.searchLexical.push(recallAt10(a.lexical, b.lexical, false));
      recall.searchImages.push(recallAt10(a.images, b.images, true));
      recall['searchChunks(image)'].push(recallAt10(a.imageChunks, b.imageChunks, true));
    }
    const mean = (v: number[]): number => v.reduce((x, y) => x + y, 0) / v.length;
    console.log(`recall@10 vs baseline (n=${e.results.length}): ${Object.entries(recall).map(([k, v]) => `${k} ${mean(v).toFixed(3)} (min ${Math.min(...v).toFixed(1)})`).join(', ')}`);
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
  console.log(row('text  (chunks+lexical+identifiers)', q.text));
  console.log(row('image (images+chunks)', q.image));
  await store.close();
  const collection = `${config.store.qdrant!.collectionPrefix}points`;
  if (KEEP) console.log(`kept collection ${collection}`);
  else await new QdrantClient({ url: config.store.qdrant!.url, apiKey: config.store.qdrant!.apiKey, checkCompatibility: false }).deleteCollection(collection);
}

if (process.env.QDRANT_URL) for (const pages of SIZES) await runQdrant(pages);
else console.log('\n(QDRANT_URL is not set: the Qdrant part of the bench was skipped.)');
