/**
 * The same BM25 plan (LexicalRanker) on the calling thread and in the lexical worker, over one
 * read-only file, query by query, alternating: says whether running it in the worker costs more.
 *
 *   npx tsx bench/probes/lexical-thread-cost.ts /tmp/fs-1m8k/fieldscope.db [--queries 50] [--rounds 2]
 */
import Database from 'better-sqlite3';
import { LexicalRanker } from '../../src/store/sqlite/lexical-ranker.js';
import { LexicalThread } from '../../src/store/sqlite/lexical-thread.js';
import { loadQuerySources, makeQueries, percentile, reseed } from '../synthetic-corpus.js';

const file = process.argv[2]!;
const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('queries', 50);
const ROUNDS = arg('rounds', 2);
const options = { exact: false, planBudget: 64, rankBudget: 100_000 };
const { corpus, sources } = loadQuerySources(`${file}.corpus.json`);
reseed(20261130);
const texts = makeQueries(corpus, sources, N).text.map((q) => q.text);

const db = new Database(file, { readonly: true, fileMustExist: true });
db.pragma('mmap_size = 1073741824');
db.pragma('cache_size = -65536');
const ranker = new LexicalRanker(db, options);
const thread = new LexicalThread({ file, ...options });
await thread.start();
for (const t of texts.slice(0, 10)) {
  ranker.rank(t, 30, undefined);
  await thread.rank(t, 30, undefined);
}
for (let r = 0; r < ROUNDS; r++) {
  const here: number[] = [];
  const there: number[] = [];
  for (const t of texts) {
    let t0 = performance.now();
    const a = ranker.rank(t, 30, undefined);
    here.push(performance.now() - t0);
    t0 = performance.now();
    const b = await thread.rank(t, 30, undefined);
    there.push(performance.now() - t0);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`rows differ for ${t}`);
  }
  const f = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, mean ${(xs.reduce((s, x) => s + x, 0) / xs.length).toFixed(1)} ms`;
  console.log(`round ${r + 1}: calling thread ${f(here)} | worker ${f(there)}`);
}
await thread.close();
db.close();
