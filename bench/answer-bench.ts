/**
 * Latency of `ask` around the model, at 10k pages on the embedded store.
 *
 *   npx tsx bench/answer-bench.ts [--pages 10000] [--queries 200]
 *
 * Model time is excluded by construction: the CLIP encoder is replaced by one that returns the
 * synthetic query vectors at once, and the language model is a local OpenAI-compatible double
 * that answers instantly over real HTTP with the real `openai` client. Prints p50/p95 of:
 *   search alone · ask EXTRACTIVE (no model) · ask LLM (instant double), and the overhead the
 *   LLM path adds around the model call (ask LLM − search).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnswerService } from '../src/answer/answer-service.js';
import { OpenAIChatModel } from '../src/answer/openai-chat-model.js';
import type { ClipEncoder } from '../src/clip/clip-encoder.js';
import { SearchService } from '../src/search/search-service.js';
import { SqliteKnowledgeStore } from '../src/store/sqlite/sqlite-knowledge-store.js';
import { FAKE_MODEL, startFakeOpenAIServer } from '../test/helpers/fake-openai-server.js';
import { DIM, fill, makeQueries, percentile } from './synthetic-corpus.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const PAGES = Number(arg('pages', '10000'));
const QUERIES = Number(arg('queries', '200'));

async function time(label: string, run: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 10; i++) await run(i); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    await run(i);
    samples.push(performance.now() - t);
  }
  console.log(`${label.padEnd(30)} p50 ${percentile(samples, 50).toFixed(1).padStart(7)} ms   p95 ${percentile(samples, 95).toFixed(1).padStart(7)} ms   (n=${samples.length})`);
  return samples;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-answer-bench-'));
const fake = await startFakeOpenAIServer();
try {
  const store = new SqliteKnowledgeStore({ file: path.join(dir, 'fieldscope.db'), dim: DIM, modelId: 'bench' });
  await store.init();
  console.log(`answer bench: ${PAGES.toLocaleString('en')} pages, ${QUERIES} queries, node ${process.version}, ${os.cpus().length} CPUs`);
  const t = performance.now();
  const { corpus, sources } = await fill(store, PAGES);
  console.log(`fill: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const queries = makeQueries(corpus, sources, QUERIES + 10).text;
  const vectors = new Map(queries.map((q) => [q.text, q.vector]));
  // Instant encoder: model time excluded.
  const encoder = {
    model: { id: 'bench', dim: DIM, isTestModel: true },
    embedTexts: async (texts: readonly string[]) => texts.map((x) => vectors.get(x) ?? queries[0]!.vector),
    embedImages: async () => [],
  } as unknown as ClipEncoder;
  const search = new SearchService(encoder, store);
  const extractive = new AnswerService(search, encoder, null);
  fake.handle(() => ({ kind: 'json', value: { answer: 'Replace the seal [1]. Torque to 25 Nm [2].', answerable: true } }));
  const llm = new AnswerService(search, encoder, new OpenAIChatModel({ baseURL: fake.baseURL, model: FAKE_MODEL, timeoutMs: 10_000, maxRetries: 0, supportsImages: false }));

  const q = (i: number) => queries[i % queries.length]!.text;
  const s = await time('search (limit 5)', (i) => search.search({ text: q(i), limit: 5 }));
  const e = await time('ask EXTRACTIVE', (i) => extractive.ask({ question: q(i) }));
  const l = await time('ask LLM (instant double)', (i) => llm.ask({ question: q(i) }));
  let answered = 0;
  for (let i = 0; i < 50; i++) if ((await extractive.ask({ question: q(i) })).citations.length > 0) answered++;
  console.log(`extractive answers with citations: ${answered}/50 (the rest: no good match, answered "I don't know")`);
  const modes = new Set<string>();
  for (let i = 0; i < 5; i++) modes.add((await llm.ask({ question: q(i) })).mode);
  console.log(`LLM answers were in mode ${[...modes].join(', ')} (must be LLM for the overhead figure to mean anything)`);
  console.log(`overhead around the model (ask LLM − search): p50 ${(percentile(l, 50) - percentile(s, 50)).toFixed(1)} ms, p95 ${(percentile(l, 95) - percentile(s, 95)).toFixed(1)} ms`);
  console.log(`targets: extractive ask p50 < 150 ms: ${percentile(e, 50) < 150 ? 'PASS' : 'FAIL'}; LLM overhead p50 < 20 ms: ${percentile(l, 50) - percentile(s, 50) < 20 ? 'PASS' : 'FAIL'}`);
  await store.close();
} finally {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}
