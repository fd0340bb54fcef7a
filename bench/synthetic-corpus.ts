/**
 * Synthetic knowledge bases for benchmarks: CLIP-like vectors (a shared per-modality offset + a
 * topic cluster + page and chunk noise), page text from a Zipf-weighted word list with part
 * numbers, ~4 chunks a page, one photo per 100 pages. Deterministic (seeded).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { extractIdentifiers } from '../src/search/identifiers.js';
import type { KnowledgeStore, NewDocument, NewPage } from '../src/store/knowledge-store.js';

export const DIM = 512;
const PAGES_PER_DOCUMENT = 20;
const PAGES_PER_TOPIC = 100;

// ---- deterministic randomness ----
let seed = 12345;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
let spare: number | null = null;
/** Restarts the generator, so the queries drawn after a fresh fill and after reopening a kept one are the same. */
export function reseed(value: number): void {
  seed = value >>> 0;
  spare = null;
}
function gaussian(): number {
  if (spare !== null) {
    const s = spare;
    spare = null;
    return s;
  }
  const u = random() || 1e-12;
  const v = random();
  const r = Math.sqrt(-2 * Math.log(u));
  spare = r * Math.sin(2 * Math.PI * v);
  return r * Math.cos(2 * Math.PI * v);
}
function randomUnit(): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = gaussian();
  return normalize(v);
}
function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}
function mix(...terms: [number, Float32Array][]): Float32Array {
  const out = new Float32Array(DIM);
  for (const [w, v] of terms) for (let i = 0; i < DIM; i++) out[i]! += w * v[i]!;
  return normalize(out);
}
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

// ---- text ----
const BASE_WORDS = (
  'pump valve seal gasket bearing shaft impeller motor filter pressure flow temperature sensor coupling housing ' +
  'flange bolt torque inspect replace remove install clean check drain isolate lubricate grease oil level leak ' +
  'vibration noise alignment wear crack corrosion rust paint weld pipe hose fitting clamp bracket cover panel ' +
  'switch relay fuse cable terminal wire voltage current breaker contactor starter inverter drive belt pulley ' +
  'gear gearbox chain sprocket compressor receiver dryer cooler fan blower duct damper actuator positioner ' +
  'controller display alarm fault reset calibrate setpoint manual automatic start stop emergency lockout tagout ' +
  'permit hazard glove goggles helmet ladder scaffold crane sling hoist lift weight capacity inspection record ' +
  'log schedule weekly monthly annual hours service interval spare part kit assembly diagram figure table step ' +
  'procedure warning caution note tighten loosen rotate align measure gauge meter reading tolerance clearance ' +
  'diameter length thread nut washer spring pin key bushing sleeve ring cap plug port inlet outlet suction discharge ' +
  'tank vessel boiler burner nozzle heater thermostat coolant antifreeze hydraulic pneumatic cylinder piston rod ' +
  'accumulator manifold solenoid regulator relief bypass strainer screen mesh element cartridge housing bowl'
).split(' ');
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 've', 'so', 'pi', 'da', 'fe', 'gu', 'ho', 'ji', 'ze'];
const WORDS: string[] = [...new Set(BASE_WORDS)];
while (WORDS.length < 1000) WORDS.push(pick(SYLLABLES) + pick(SYLLABLES) + pick(SYLLABLES) + 'x');
// Zipf(1): the handful of commonest words are on nearly every page, the tail on a few percent.
const CDF: number[] = [];
{
  let total = 0;
  for (let i = 0; i < WORDS.length; i++) total += 1 / (i + 1);
  let c = 0;
  for (let i = 0; i < WORDS.length; i++) CDF.push((c += 1 / (i + 1) / total));
}
function zipfWord(): string {
  const r = random();
  let lo = 0;
  let hi = CDF.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (CDF[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return WORDS[lo]!;
}
const PART_NUMBERS = Array.from({ length: 5000 }, (_, i) => {
  const n = 100 + ((i * 7919) % 9000);
  switch (i % 4) {
    case 0:
      return `P-${n}`;
    case 1:
      return `${n}-${String.fromCharCode(65 + (i % 26))}`;
    case 2:
      return `SOP-${n % 500}`;
    default:
      return `VLV-${n}-${String.fromCharCode(65 + (i % 5))}`;
  }
});

// ---- synthetic knowledge base ----
export interface QuerySource {
  pageVector: Float32Array;
  words: string[];
  partNumbers: string[];
}

export interface Corpus {
  textMean: Float32Array;
  imageMean: Float32Array;
  topics: Float32Array[];
}

export function makeCorpus(pages: number): Corpus {
  return { textMean: randomUnit(), imageMean: randomUnit(), topics: Array.from({ length: Math.max(10, Math.round(pages / PAGES_PER_TOPIC)) }, randomUnit) };
}

function makePage(corpus: Corpus, number: number): { page: NewPage; source: QuerySource } {
  const topic = pick(corpus.topics);
  const pageVector = mix([1, topic], [0.8, randomUnit()]);
  const length = 60 + Math.floor(random() * 90);
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(zipfWord());
  const partNumbers: string[] = [];
  if (random() < 0.25) for (let i = 0, n = 1 + Math.floor(random() * 3); i < n; i++) partNumbers.push(pick(PART_NUMBERS));
  for (const p of partNumbers) words.splice(Math.floor(random() * words.length), 0, p);
  const text = words.join(' ');
  const chunkCount = 3 + Math.floor(random() * 3);
  const per = Math.ceil(words.length / chunkCount);
  const chunks = Array.from({ length: chunkCount }, (_, c) => ({
    text: words.slice(c * per, (c + 1) * per).join(' '),
    vector: mix([1, corpus.textMean], [1, pageVector], [0.6, randomUnit()]),
  }));
  return {
    page: { number, text, thumbnailKey: null, imageVector: mix([1, corpus.imageMean], [1, pageVector], [0.6, randomUnit()]), chunks, identifiers: extractIdentifiers(text) },
    source: { pageVector, words: [...new Set(words.filter((w) => !partNumbers.includes(w)))], partNumbers },
  };
}

export interface TextQuery {
  text: string;
  vector: Float32Array;
  identifiers: string[];
}

export function makeQueries(corpus: Corpus, sources: QuerySource[], count: number): { text: TextQuery[]; image: Float32Array[] } {
  const text: TextQuery[] = [];
  const image: Float32Array[] = [];
  for (let q = 0; q < count; q++) {
    const s = pick(sources);
    const words: string[] = [];
    for (let i = 0, n = 2 + Math.floor(random() * 3); i < n; i++) words.push(pick(s.words));
    if (s.partNumbers.length > 0 && random() < 0.5) words.push(pick(s.partNumbers));
    const t = words.join(' ');
    text.push({ text: t, vector: mix([1, corpus.textMean], [1, s.pageVector], [0.9, randomUnit()]), identifiers: extractIdentifiers(t) });
    image.push(mix([1, corpus.imageMean], [1, s.pageVector], [0.9, randomUnit()]));
  }
  return { text, image };
}

export async function fill(store: KnowledgeStore, pages: number): Promise<{ corpus: Corpus; sources: QuerySource[]; rssSamples: number[] }> {
  const corpus = makeCorpus(pages);
  const sources: QuerySource[] = [];
  const keepEvery = Math.max(1, Math.floor(pages / 2000));
  let added = 0;
  let docNo = 0;
  const started = Date.now();
  // RSS after every document: the store's writes are synchronous, so a timer would never fire meanwhile.
  const rssSamples: number[] = [process.memoryUsage().rss];
  while (added < pages) {
    const n = Math.min(PAGES_PER_DOCUMENT, pages - added);
    const docPages: NewPage[] = [];
    for (let i = 0; i < n; i++) {
      const { page, source } = makePage(corpus, i + 1);
      docPages.push(page);
      if ((added + i) % keepEvery === 0) sources.push(source);
    }
    const id = `doc-${docNo++}`;
    const input: NewDocument = {
      document: { id, title: id, kind: docNo % 3 === 0 ? 'markdown' : 'pdf', mimeType: 'application/pdf', contentHash: `hash-${id}`, byteSize: 1, pageCount: n, metadata: { site: docNo % 2 === 0 ? 'north' : 'south' }, blobKey: `blobs/${id}`, createdAt: new Date().toISOString() },
      pages: docPages,
    };
    await store.addDocument(input);
    for (let i = 0; i < n; i += 100) {
      const { page } = makePage(corpus, 1);
      await store.addPhoto({
        photo: { id: `photo-${docNo}-${i}`, caption: page.text.slice(0, 120), metadata: {}, contentHash: `photo-hash-${docNo}-${i}`, mimeType: 'image/jpeg', width: 640, height: 480, blobKey: `photos/${docNo}-${i}`, createdAt: new Date().toISOString(), readText: null },
        imageVector: page.imageVector!,
        chunks: page.chunks.slice(0, 1),
        identifiers: page.identifiers,
      });
    }
    added += n;
    rssSamples.push(process.memoryUsage().rss);
    if (process.stdout.isTTY) process.stdout.write(`\r  filling: ${added}/${pages} pages, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    else if (pages >= 100_000 && added % Math.floor(pages / 10) < n) console.log(`  filling: ${added}/${pages} pages, ${((Date.now() - started) / 1000).toFixed(0)} s, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  return { corpus, sources, rssSamples };
}

/** What makeQueries needs of a filled corpus, saved beside a kept database so a later run can reuse it. */
export function saveQuerySources(file: string, corpus: Corpus, sources: QuerySource[]): void {
  const f32 = (v: Float32Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const json = { textMean: f32(corpus.textMean), imageMean: f32(corpus.imageMean), sources: sources.map((s) => ({ pageVector: f32(s.pageVector), words: s.words, partNumbers: s.partNumbers })) };
  writeFileSync(file, JSON.stringify(json));
}

export function loadQuerySources(file: string): { corpus: Corpus; sources: QuerySource[] } {
  const f32 = (b64: string): Float32Array => {
    const bytes = Buffer.from(b64, 'base64');
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const json = JSON.parse(readFileSync(file, 'utf8')) as { textMean: string; imageMean: string; sources: { pageVector: string; words: string[]; partNumbers: string[] }[] };
  return {
    corpus: { textMean: f32(json.textMean), imageMean: f32(json.imageMean), topics: [] },
    sources: json.sources.map((s) => ({ pageVector: f32(s.pageVector), words: s.words, partNumbers: s.partNumbers })),
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
