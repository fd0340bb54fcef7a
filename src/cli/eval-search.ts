/**
 * `fieldscope eval search [set-folder] [--store sqlite|qdrant] [--json] [--min-recall3 R]`:
 * retrieval quality of search on a labelled query set, per signal and fused.
 *
 * A set is a folder with
 *   corpus.json    { "documents": ["path", …], "photos": ["path", …] } — paths relative to the
 *                  folder; a photo's caption and metadata come from captions.json beside it
 *                  (the demo's convention: { "<file>": { caption, metadata } });
 *   queries.jsonl  one query a line: { "id", "split": "tune"|"heldout", "text"?, "image"?,
 *                  "variant"?, "expect": ["<file>#<page>" | "<file>", …], "note"? } — a label
 *                  names a corpus file by its file name, with a page for a document page, or
 *                  alone for a photo or any page of a document. `image` is a path relative to
 *                  the folder; `variant` (greyscale, webp, crop-10, jpeg-q50, resize-50) is made
 *                  from it at run time, so the set holds no near-copies of its own.
 * The project ships one in demo/search-eval/ (the default): the demo knowledge base plus a
 * fault-code page, an actuator SOP, an image-only scanned work order and three more photos,
 * with text, identifier, photo-variant and mixed queries split into a tuning half and a
 * held-out half.
 *
 * Everything is checked before anything runs: every bad line is reported with its line number
 * and the command exits 2 without ingesting. The corpus goes into a throwaway knowledge base (a
 * temporary DATA_DIR; with --store qdrant a fresh collection in QDRANT_URL, deleted afterwards),
 * through the server's own services (createCore), and every query goes through
 * SearchService.rank, so the figures are the product's.
 *
 * Exit codes: 0 with a report; 3 when --min-recall3 is given and fused recall@3 (all queries) is
 * below it; 1 when it cannot run (configuration, model, store); 2 for bad arguments or a bad set.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { QdrantClient } from '@qdrant/js-client-rest';
import sharp from 'sharp';
import { z } from 'zod';
import { loadConfig, type Config } from '../config.js';
import { DEMO_DIR } from '../demo/load-demo.js';
import { isAppError } from '../errors.js';
import { FUSION_METHODS, type FusionMethod, type MatchKind } from '../search/fusion.js';
import { rankingMetrics, type JudgedRanking, type RankingMetrics } from '../search/retrieval-metrics.js';
import type { Core } from '../core/create-core.js';
import { collectionName } from '../store/qdrant/qdrant-collection.js';
import type { HitTarget, JsonObject } from '../store/knowledge-store.js';
import { openThrowawayCore, type ThrowawayCore } from './throwaway-core.js';
import type { OutStream } from './terminal.js';

export const DEFAULT_SEARCH_SET = path.join(DEMO_DIR, 'search-eval');

const USAGE = `Usage: fieldscope eval search [set-folder] [--store sqlite|qdrant] [--fusion evidence|rrf|rsf|dbsf] [--json] [--min-recall3 R]

Measures search (recall@1/3/10, MRR, nDCG@10, per signal and fused) on a labelled query set:
a folder with corpus.json and queries.jsonl (default: the project's set, demo/search-eval).
The corpus is ingested into a throwaway knowledge base; yours is not touched.
  --store sqlite|qdrant  where the throwaway knowledge base lives (qdrant: a fresh collection
                         in QDRANT_URL, deleted afterwards; default sqlite)
  --fusion METHOD        evidence (the product, default), or a baseline: rrf (reciprocal
                         rank), rsf (Weaviate's relative score), dbsf (Qdrant's distribution-based)
  --json                 print the report as JSON
  --min-recall3 R        exit 3 when fused recall@3 over all queries is below R (0..1)
`;

export const IMAGE_VARIANTS = ['greyscale', 'webp', 'crop-10', 'jpeg-q50', 'resize-50'] as const;
export type ImageVariant = (typeof IMAGE_VARIANTS)[number];
export const SPLITS = ['tune', 'heldout'] as const;
export type Split = (typeof SPLITS)[number];
const SIGNALS: MatchKind[] = ['SEMANTIC', 'CROSS_MODAL', 'KEYWORD', 'IDENTIFIER', 'VISUAL'];
const RANK_DEPTH = 10;

export interface SearchEvalIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
}

export class EvalSetError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export interface EvalQuery {
  id: string;
  line: number;
  split: Split;
  text: string | null;
  image: string | null;
  variant: ImageVariant | null;
  expect: string[];
  note: string | null;
}

export interface EvalSet {
  folder: string;
  documents: { key: string; file: string }[];
  photos: { key: string; file: string; caption: string | null; metadata: JsonObject }[];
  queries: EvalQuery[];
}

const corpusSchema = z.object({ documents: z.array(z.string().min(1)), photos: z.array(z.string().min(1)) }).strict();
const querySchema = z
  .object({
    id: z.string().min(1).max(100),
    split: z.enum(SPLITS),
    text: z.string().min(1).max(2000).optional(),
    image: z.string().min(1).optional(),
    variant: z.enum(IMAGE_VARIANTS).optional(),
    expect: z.array(z.string().min(1)).min(1),
    note: z.string().optional(),
  })
  .strict()
  .refine((q) => q.text !== undefined || q.image !== undefined, { message: 'a query needs "text", "image" or both' })
  .refine((q) => q.variant === undefined || q.image !== undefined, { message: '"variant" needs an "image"' });

/** A label: `file#page` (a page of a document) or `file` (a photo, or any page of a document). */
export function parseLabel(label: string): { key: string; page: number | null } {
  const hash = label.lastIndexOf('#');
  if (hash < 0) return { key: label, page: null };
  const page = label.slice(hash + 1);
  if (!/^[1-9]\d{0,5}$/.test(page)) return { key: label, page: Number.NaN };
  return { key: label.slice(0, hash), page: Number(page) };
}

/**
 * Parses queries.jsonl against the corpus keys: every problem, each with its line number.
 * Blank lines and lines starting with // are skipped.
 */
export function parseQueries(text: string, documents: ReadonlySet<string>, photos: ReadonlySet<string>): { queries: EvalQuery[]; problems: string[] } {
  const queries: EvalQuery[] = [];
  const problems: string[] = [];
  const ids = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('//')) return;
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (error) {
      problems.push(`queries.jsonl line ${line}: not JSON (${(error as Error).message})`);
      return;
    }
    const parsed = querySchema.safeParse(json);
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((i) => `queries.jsonl line ${line}: ${i.path.length > 0 ? `"${i.path.join('.')}": ` : ''}${i.message}`));
      return;
    }
    const q = parsed.data;
    const earlier = ids.get(q.id);
    if (earlier !== undefined) problems.push(`queries.jsonl line ${line}: id "${q.id}" is already used on line ${earlier}`);
    ids.set(q.id, line);
    for (const label of q.expect) {
      const { key, page } = parseLabel(label);
      if (Number.isNaN(page)) problems.push(`queries.jsonl line ${line}: label "${label}": the page after # must be a whole number from 1`);
      else if (photos.has(key) && page !== null) problems.push(`queries.jsonl line ${line}: label "${label}": "${key}" is a photo, it has no pages`);
      else if (!documents.has(key) && !photos.has(key)) problems.push(`queries.jsonl line ${line}: label "${label}": "${key}" is not a file of corpus.json`);
    }
    queries.push({ id: q.id, line, split: q.split, text: q.text ?? null, image: q.image ?? null, variant: q.variant ?? null, expect: q.expect, note: q.note ?? null });
  });
  if (queries.length === 0 && problems.length === 0) problems.push('queries.jsonl has no queries');
  return { queries, problems };
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

const captionsSchema = z.record(z.string(), z.union([z.string(), z.object({ caption: z.string().optional(), metadata: z.record(z.string(), z.unknown()).optional() }).passthrough()]));

/** Reads and checks a set folder; throws EvalSetError with every problem found. */
export async function loadEvalSet(folder: string): Promise<EvalSet> {
  const problems: string[] = [];
  const read = async (name: string) => readFile(path.join(folder, name), 'utf8').catch(() => null);
  const corpusText = await read('corpus.json');
  const queriesText = await read('queries.jsonl');
  if (corpusText === null) problems.push(`${path.join(folder, 'corpus.json')}: missing or unreadable`);
  if (queriesText === null) problems.push(`${path.join(folder, 'queries.jsonl')}: missing or unreadable`);
  if (corpusText === null || queriesText === null) throw new EvalSetError(problems);

  let corpus: z.infer<typeof corpusSchema>;
  try {
    const parsed = corpusSchema.safeParse(JSON.parse(corpusText));
    if (!parsed.success) throw new EvalSetError(parsed.error.issues.map((i) => `corpus.json: ${i.path.length > 0 ? `"${i.path.join('.')}": ` : ''}${i.message}`));
    corpus = parsed.data;
  } catch (error) {
    if (error instanceof EvalSetError) throw error;
    throw new EvalSetError([`corpus.json: not JSON (${(error as Error).message})`]);
  }

  const keys = new Map<string, string>();
  const entry = async (relative: string, what: string) => {
    const file = path.resolve(folder, relative);
    const key = path.basename(file);
    if (!(await isFile(file))) problems.push(`corpus.json: ${what} "${relative}" does not exist`);
    if (keys.has(key)) problems.push(`corpus.json: two files are named "${key}" ("${keys.get(key)}" and "${relative}"); labels name files by file name, so names must be unique`);
    keys.set(key, relative);
    return { key, file };
  };
  const documents = [];
  for (const relative of corpus.documents) documents.push(await entry(relative, 'document'));
  const photos: EvalSet['photos'] = [];
  const captionFiles = new Map<string, z.infer<typeof captionsSchema>>();
  for (const relative of corpus.photos) {
    const { key, file } = await entry(relative, 'photo');
    const captionsFile = path.join(path.dirname(file), 'captions.json');
    if (!captionFiles.has(captionsFile)) {
      const text = await readFile(captionsFile, 'utf8').catch(() => null);
      let parsed: z.infer<typeof captionsSchema> = {};
      if (text !== null) {
        try {
          const result = captionsSchema.safeParse(JSON.parse(text));
          if (result.success) parsed = result.data;
          else problems.push(`${captionsFile}: ${result.error.issues[0]?.message ?? 'invalid'}`);
        } catch (error) {
          problems.push(`${captionsFile}: not JSON (${(error as Error).message})`);
        }
      }
      captionFiles.set(captionsFile, parsed);
    }
    const caption = captionFiles.get(captionsFile)?.[key];
    photos.push({
      key,
      file,
      caption: typeof caption === 'string' ? caption : (caption?.caption ?? null),
      metadata: typeof caption === 'object' && caption.metadata ? (caption.metadata as JsonObject) : {},
    });
  }

  const { queries, problems: queryProblems } = parseQueries(queriesText, new Set(documents.map((d) => d.key)), new Set(photos.map((p) => p.key)));
  problems.push(...queryProblems);
  for (const q of queries) {
    if (q.image !== null && !(await isFile(path.resolve(folder, q.image)))) problems.push(`queries.jsonl line ${q.line}: image "${q.image}" does not exist`);
  }
  if (problems.length > 0) throw new EvalSetError(problems);
  return { folder, documents, photos, queries };
}

/** A variant of a query photo, as a technician's phone or a chat app would make it. */
export async function imageVariant(bytes: Uint8Array, variant: ImageVariant | null): Promise<Uint8Array> {
  if (variant === null) return bytes;
  const image = sharp(bytes);
  const { width = 0, height = 0 } = await image.metadata();
  switch (variant) {
    case 'greyscale':
      return image.greyscale().jpeg({ quality: 90 }).toBuffer();
    case 'webp':
      return image.webp({ quality: 80 }).toBuffer();
    case 'jpeg-q50':
      return image.jpeg({ quality: 50 }).toBuffer();
    case 'resize-50':
      return image.resize(Math.max(1, Math.round(width / 2))).toBuffer();
    case 'crop-10': {
      const left = Math.round(width * 0.1);
      const top = Math.round(height * 0.1);
      return image.extract({ left, top, width: width - 2 * left, height: height - 2 * top }).toBuffer();
    }
  }
}

export interface QueryOutcome {
  id: string;
  split: Split;
  kind: 'text' | 'image' | 'text+image';
  expect: string[];
  /** Fused ranking (labels), best first, at most 10. */
  fused: string[];
  /** 1-based rank of the first expected target in the fused ranking; null when not in the first 10. */
  rank: number | null;
  perSignal: Partial<Record<MatchKind, string[]>>;
}

export interface MetricsTable {
  fused: RankingMetrics | null;
  signals: Partial<Record<MatchKind, RankingMetrics | null>>;
}

export interface SearchEvalReport {
  set: string;
  store: 'sqlite' | 'qdrant';
  fusion: FusionMethod;
  model: { id: string; isTestModel: boolean };
  corpus: { documents: number; pages: number; photos: number };
  queries: number;
  /** By split, and all together. Per-signal figures count only the queries on which the signal ran. */
  metrics: Record<Split | 'all', MetricsTable>;
  /** Queries whose expected target is not in the fused top 3. */
  misses: QueryOutcome[];
  outcomes: QueryOutcome[];
  seconds: number;
}

function judgedOf(outcomes: QueryOutcome[], pick: (o: QueryOutcome) => string[] | undefined): JudgedRanking[] {
  return outcomes.flatMap((o) => {
    const ranking = pick(o);
    return ranking === undefined ? [] : [{ ranking, relevant: new Set(o.expect) }];
  });
}

export function metricsTable(outcomes: QueryOutcome[]): MetricsTable {
  const signals: MetricsTable['signals'] = {};
  for (const signal of SIGNALS) {
    const judged = judgedOf(outcomes, (o) => o.perSignal[signal]);
    if (judged.length > 0) signals[signal] = rankingMetrics(judged);
  }
  return { fused: rankingMetrics(judgedOf(outcomes, (o) => o.fused)), signals };
}

async function runQueries(core: Core, set: EvalSet, fusion: FusionMethod): Promise<{ outcomes: QueryOutcome[]; corpus: SearchEvalReport['corpus'] }> {
  const services = core.home.services;
  // The same encoder and store as the server's search service; only the fusion may differ.
  const search = fusion === 'evidence' ? services.search : services.search.withFusion(fusion);
  const labelOf = new Map<string, string>();
  const pageCounts = new Map<string, number>();
  let pages = 0;
  for (const d of set.documents) {
    const { document } = await services.ingest.ingestDocument({ bytes: await readFile(d.file), filename: d.key, metadata: { source: 'eval' } });
    labelOf.set(`doc:${document.id}`, d.key);
    pageCounts.set(d.key, document.pageCount);
    pages += document.pageCount;
  }
  for (const p of set.photos) {
    const { photo } = await services.ingest.ingestPhoto({ bytes: await readFile(p.file), filename: p.key, caption: p.caption, metadata: { source: 'eval', ...p.metadata } });
    labelOf.set(`photo:${photo.id}`, p.key);
  }
  // Page labels can only be checked once the documents are split into pages.
  const problems = set.queries.flatMap((q) =>
    q.expect.flatMap((label) => {
      const { key, page } = parseLabel(label);
      const count = pageCounts.get(key);
      return page !== null && count !== undefined && page > count ? [`queries.jsonl line ${q.line}: label "${label}": "${key}" has ${count} page(s)`] : [];
    }),
  );
  if (problems.length > 0) throw new EvalSetError(problems);

  const outcomes: QueryOutcome[] = [];
  for (const q of set.queries) {
    // A label without a page accepts any page of its document: rank documents as wholes then.
    const wholeDocuments = new Set(q.expect.filter((l) => parseLabel(l).page === null));
    const label = (target: HitTarget): string => {
      if (target.kind === 'photo') return labelOf.get(`photo:${target.photoId}`) ?? `photo:${target.photoId}`;
      const key = labelOf.get(`doc:${target.documentId}`) ?? `doc:${target.documentId}`;
      return wholeDocuments.has(key) ? key : `${key}#${target.pageNumber}`;
    };
    const image = q.image !== null ? await imageVariant(await readFile(path.resolve(set.folder, q.image)), q.variant) : null;
    const ranked = await search.rank({ text: q.text, image, limit: RANK_DEPTH });
    const fused = [...new Set(ranked.fused.map((h) => label(h.target)))].slice(0, RANK_DEPTH);
    const perSignal: QueryOutcome['perSignal'] = {};
    for (const list of ranked.lists) {
      // Text queries always run IDENTIFIER; it only counts as run when the text has identifiers.
      if (list.signal === 'IDENTIFIER' && ranked.identifiers.length === 0) continue;
      const ranking = [...(perSignal[list.signal] ?? []), ...list.candidates.map((c) => label(c.target))];
      perSignal[list.signal] = [...new Set(ranking)];
    }
    const index = fused.findIndex((key) => q.expect.includes(key));
    outcomes.push({
      id: q.id,
      split: q.split,
      kind: q.text !== null && q.image !== null ? 'text+image' : q.text !== null ? 'text' : 'image',
      expect: q.expect,
      fused,
      rank: index < 0 ? null : index + 1,
      perSignal: Object.fromEntries(Object.entries(perSignal).map(([k, v]) => [k, v.slice(0, RANK_DEPTH)])),
    });
  }
  return { outcomes, corpus: { documents: set.documents.length, pages, photos: set.photos.length } };
}

export async function evaluateSearch(core: Core, set: EvalSet, store: 'sqlite' | 'qdrant', fusion: FusionMethod = 'evidence'): Promise<SearchEvalReport> {
  const started = performance.now();
  const { outcomes, corpus } = await runQueries(core, set, fusion);
  const model = core.encoder.model;
  return {
    set: set.folder,
    store,
    fusion,
    model: { id: model.id, isTestModel: model.isTestModel },
    corpus,
    queries: outcomes.length,
    metrics: {
      tune: metricsTable(outcomes.filter((o) => o.split === 'tune')),
      heldout: metricsTable(outcomes.filter((o) => o.split === 'heldout')),
      all: metricsTable(outcomes),
    },
    misses: outcomes.filter((o) => o.rank === null || o.rank > 3),
    outcomes,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

const f3 = (x: number) => x.toFixed(3);

export function formatSearchReport(r: SearchEvalReport): string {
  const lines = [
    `Search eval: ${r.set}`,
    `Store ${r.store}; fusion ${r.fusion}; model ${r.model.id}${r.model.isTestModel ? ' (the bundled TEST model: random weights, dense signals carry no meaning)' : ''}`,
    `Corpus: ${r.corpus.documents} documents (${r.corpus.pages} pages), ${r.corpus.photos} photos; ${r.queries} queries; ${r.seconds} s`,
    '',
  ];
  for (const split of ['all', 'tune', 'heldout'] as const) {
    const table = r.metrics[split];
    lines.push(`${split === 'all' ? 'All queries' : split === 'tune' ? 'Tuning split' : 'Held-out split'}:`);
    lines.push(`  ${'ranking'.padEnd(12)} ${'n'.padStart(3)}  ${'R@1'.padStart(5)}  ${'R@3'.padStart(5)}  ${'R@10'.padStart(5)}  ${'MRR'.padStart(5)}  ${'nDCG@10'.padStart(7)}`);
    const row = (name: string, m: RankingMetrics | null | undefined) => {
      if (!m) return;
      lines.push(`  ${name.padEnd(12)} ${String(m.queries).padStart(3)}  ${f3(m.recall[1])}  ${f3(m.recall[3])}  ${f3(m.recall[10]).padStart(5)}  ${f3(m.mrr)}  ${f3(m.ndcg10).padStart(7)}`);
    };
    row('FUSED', table.fused);
    for (const signal of SIGNALS) row(signal, table.signals[signal]);
    lines.push('');
  }
  if (r.misses.length > 0) {
    lines.push('Expected target not in the fused top 3:');
    for (const m of r.misses) lines.push(`  ${m.id} (${m.split}, ${m.kind}): expected ${m.expect.join(' | ')}; rank ${m.rank ?? '>10'}; top 3: ${m.fused.slice(0, 3).join(', ')}`);
  } else lines.push('Every expected target is in the fused top 3.');
  return `${lines.join('\n')}\n`;
}

function describeError(error: unknown): string {
  if (isAppError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export async function runSearchEvalCommand(argv: string[], io: Partial<SearchEvalIO> = {}): Promise<number> {
  const out: SearchEvalIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  let values: { help?: boolean; json?: boolean; store?: string; fusion?: string; 'min-recall3'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, store: { type: 'string' }, fusion: { type: 'string' }, 'min-recall3': { type: 'string' } },
    }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (positionals.length > 1) return void out.stderr.write(`Give at most one set folder.\n\n${USAGE}`), 2;
  const store = values.store ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'qdrant') return void out.stderr.write(`--store must be sqlite or qdrant; got "${store}".\n`), 2;
  const fusion = (values.fusion ?? 'evidence') as FusionMethod;
  if (!FUSION_METHODS.includes(fusion)) return void out.stderr.write(`--fusion must be one of ${FUSION_METHODS.join(', ')}; got "${values.fusion}".\n`), 2;
  const minRecall = values['min-recall3'] === undefined ? null : Number(values['min-recall3']);
  if (minRecall !== null && !(Number.isFinite(minRecall) && minRecall >= 0 && minRecall <= 1)) {
    return void out.stderr.write(`--min-recall3 must be a number from 0 to 1; got "${values['min-recall3']}".\n`), 2;
  }

  const folder = path.resolve(positionals[0] ?? DEFAULT_SEARCH_SET);
  let set: EvalSet;
  try {
    set = await loadEvalSet(folder);
  } catch (error) {
    if (!(error instanceof EvalSetError)) throw error;
    out.stderr.write(`fieldscope eval search: the set in ${folder} cannot be used:\n${error.problems.map((p) => `  ${p}`).join('\n')}\n`);
    return 2;
  }

  let scratch: ThrowawayCore;
  let dropCollection: (() => Promise<void>) | null = null;
  try {
    const userConfig = loadConfig(out.env);
    let storeConfig: Config['store'] = { kind: 'sqlite', qdrant: undefined };
    if (store === 'qdrant') {
      const qdrant = userConfig.store.qdrant;
      if (!qdrant) throw new Error('--store qdrant needs QDRANT_URL (and QDRANT_API_KEY when the server wants one).');
      // A collection of its own, never the user's: the prefix gets a random suffix.
      const prefix = `${qdrant.collectionPrefix}eval_${randomBytes(4).toString('hex')}_`;
      storeConfig = { kind: 'qdrant', qdrant: { ...qdrant, collectionPrefix: prefix } };
      dropCollection = async () => {
        const client = new QdrantClient({ url: qdrant.url, apiKey: qdrant.apiKey, checkCompatibility: false });
        await client.deleteCollection(collectionName(prefix));
      };
    }
    scratch = await openThrowawayCore(userConfig, 'search', storeConfig);
  } catch (error) {
    out.stderr.write(`fieldscope eval search cannot run: ${describeError(error)}\n`);
    return 1;
  }

  try {
    const report = await evaluateSearch(scratch.core, set, store, fusion);
    out.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatSearchReport(report));
    const recall3 = report.metrics.all.fused?.recall[3] ?? 0;
    if (minRecall !== null && recall3 < minRecall) {
      out.stderr.write(`fieldscope eval search: fused recall@3 ${f3(recall3)} is below --min-recall3 ${minRecall}.\n`);
      return 3;
    }
    return 0;
  } catch (error) {
    if (error instanceof EvalSetError) {
      out.stderr.write(`fieldscope eval search: the set in ${folder} cannot be used:\n${error.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 2;
    }
    out.stderr.write(`fieldscope eval search failed: ${describeError(error)}\n`);
    return 1;
  } finally {
    await scratch.dispose();
    await dropCollection?.().catch((error: unknown) => out.stderr.write(`fieldscope eval search: could not delete the throwaway Qdrant collection: ${describeError(error)}\n`));
  }
}
