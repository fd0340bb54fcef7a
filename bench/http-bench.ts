/**
 * `npm run bench`: CLIP embedding speed as a client sees it, over HTTP, against the two
 * references that matter, all in one run on one machine:
 *
 *   ceiling  a bare onnxruntime-node session in this process on ready tensors (vision: batches of
 *            8 [8,3,224,224] float tensors; text: `session.run` on pre-tokenized one-sentence queries);
 *   peer     transformers.js on the same model folder and the same image bytes (batches of 8);
 *   server   `node --import tsx src/main.ts` (what `npm start` runs) on 127.0.0.1 with CLIP_MODEL
 *            pointing at the folder, driven with concurrent `embedImage` multipart requests, each a
 *            different image (variants generated from real photos, so no cache can answer), and
 *            `embedText` queries that are all different too, sent one at a time through node:http on a
 *            kept-alive connection (fetch's own ~1 ms per call is printed beside, on `health`).
 *
 * Figures: images/s (server, ceiling, peer, ratios), embedText p50 idle vs bare `session.run` p50
 * and a `health` round trip, embedText p95 while images are being embedded. The server's own stage
 * metrics (/metrics: decode, queue wait, inference) are read before and after each phase, to say
 * where the time went. Image phases alternate in rounds (server, ceiling, peer, server, …) so that a
 * drift in the machine's speed hits all three alike. Every phase records the load other processes
 * put on the CPUs meanwhile; compare ratios within one run, not absolute figures across runs.
 *
 * A JSON report is written to --out (default .bench/http-bench-<time>.json). See bench/README.md.
 */
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { readModelJson, resolveModelFolder, type ClipModelSpec } from '../src/clip/model-files.js';
import { ClipTokenizer, padBatch } from '../src/clip/tokenize.js';
import { seededRandom as prng } from '../src/demo/seeded-random.js';
import { makeBenchImages, multipartEmbedImage, postMultipart, type MultipartRequest } from './bench-images.js';
import { startBenchServer, type BenchServer } from './bench-server.js';
import { postGraphql } from './probe-client.js';

const HELP = `usage: npm run bench -- [options]

  --model DIR        CLIP folder in the Hugging Face ONNX layout (default .bench/clip-b32)
  --photos DIR       real photos the distinct request images are made from (default test/fixtures/reference/photos)
  --images N         distinct images to generate (default 400)
  --seconds N        measured seconds per phase (default 10)
  --rounds N         image phases alternate in N rounds (default 2)
  --concurrency N    embedImage requests kept in flight (default 8)
  --env K=V          extra server environment, repeatable (e.g. --env CLIP_IMAGE_WORKERS=2)
  --out FILE         JSON report (default .bench/http-bench-<time>.json)
  --dtype fp32|q8     precision for all three: the server's CLIP_DTYPE, the bare sessions' files
                     (onnx/*_model_quantized.onnx for q8) and transformers.js's dtype (default fp32)
  --warmup-seconds N  mixed traffic before the first measured phase (default 30): embedText and
                     health one at a time while 2 embedImage requests stay in flight, so V8 has
                     compiled the request path, as in a server that has been serving for a while
                     (0 = only a few requests, the figures of a server that has just started)
  --skip-transformers  skip the peer`;

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: '.bench/clip-b32' },
    photos: { type: 'string' },
    images: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    env: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
    'skip-transformers': { type: 'boolean', default: false },
    'warmup-seconds': { type: 'string', default: '30' },
    dtype: { type: 'string', default: 'fp32' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const positive = (name: string, v: string): number => {
  const n = Number(v);
  if (!(n > 0)) {
    console.error(`--${name} must be a positive number, got ${v}`);
    process.exit(2);
  }
  return n;
};
const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MODEL_DIR = args.model === '.bench/clip-b32' ? path.join(REPO_ROOT, '.bench', 'clip-b32') : path.resolve(args.model);
const PHOTOS_DIR = path.resolve(args.photos ?? path.join(REPO_ROOT, 'test', 'fixtures', 'reference', 'photos'));
const IMAGE_COUNT = Math.round(positive('images', args.images));
const SECONDS = positive('seconds', args.seconds);
const ROUNDS = Math.round(positive('rounds', args.rounds));
const WARMUP_SECONDS = args['warmup-seconds'] === '0' ? 0 : positive('warmup-seconds', args['warmup-seconds']);
const CONCURRENCY = Math.round(positive('concurrency', args.concurrency));
const BATCH = 8;
if (args.dtype !== 'fp32' && args.dtype !== 'q8') {
  console.error(`--dtype must be fp32 or q8, got ${args.dtype}`);
  process.exit(2);
}
const DTYPE: 'fp32' | 'q8' = args.dtype;
const SERVER_ENV: Record<string, string> = Object.fromEntries(
  args.env.map((kv) => {
    const at = kv.indexOf('=');
    if (at < 1) {
      console.error(`--env expects KEY=VALUE, got ${kv}`);
      process.exit(2);
    }
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);
SERVER_ENV.CLIP_DTYPE ??= DTYPE;
const OUT = path.resolve(args.out ?? path.join(REPO_ROOT, '.bench', `http-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));

// ---------------------------------------------------------------------------------------------
// Statistics and load

interface Latency {
  n: number;
  p50: number;
  p95: number;
  mean: number;
}

function summarize(samples: readonly number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!);
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(pct(50)), p95: r(pct(95)), mean: r(s.reduce((t, v) => t + v, 0) / Math.max(1, s.length)) };
}

const CLK_TCK = 100;
const ticksOf = (pid: number | 'self'): number => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const g = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // utime, stime, and the children's (the server is one process; its worker threads count in utime)
    return Number(g[11]) + Number(g[12]);
  } catch {
    return 0;
  }
};
const machineBusyTicks = (): number => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f.reduce((t, v, i) => (i === 3 || i === 4 ? t : t + v), 0);
};

/**
 * The server's CPU ticks by kind of thread: `main` (HTTP, GraphQL, hashing, tensor assembly),
 * `libvips` (sharp's decode/resize threads, by name), `inference` (other threads running below the
 * process's priority: the image workers and the ORT threads they start) and `other` (libuv pool, text worker, V8 helpers). Says where a
 * server's CPU per image goes, which stays meaningful when other processes load the machine.
 */
type ThreadTicks = Record<'main' | 'inference' | 'libvips' | 'other', number>;
function serverThreadTicks(pid: number): ThreadTicks {
  const out: ThreadTicks = { main: 0, inference: 0, libvips: 0, other: 0 };
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  const stat = (tid: string) => {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const g = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return { comm: f.slice(f.indexOf('(') + 1, f.lastIndexOf(')')), nice: Number(g[16]), ticks: Number(g[11]) + Number(g[12]) };
    } catch {
      return null;
    }
  };
  const mainNice = stat(String(pid))?.nice ?? 0;
  for (const tid of tids) {
    const t = stat(tid);
    if (!t) continue;
    // libvips threads are named; they may be niced too (decodes yield to text queries), so name first.
    const kind = tid === String(pid) ? 'main' : /vips/i.test(t.comm) ? 'libvips' : t.nice > mainNice ? 'inference' : 'other';
    out[kind] += t.ticks;
  }
  return out;
}

/** CPU use during a phase: this bench, the server, and everything else on the machine (in cores). */
interface Load {
  benchCores: number;
  serverCores: number;
  /** The server's cores by kind of thread (see serverThreadTicks). */
  serverThreadCores: ThreadTicks;
  otherCores: number;
  loadavg1: number;
}

function loadMeter(serverPid: () => number | undefined): () => Load {
  const pid = serverPid();
  const t0 = performance.now();
  const [m0, b0, s0] = [machineBusyTicks(), ticksOf('self'), pid ? ticksOf(pid) : 0];
  const th0 = pid ? serverThreadTicks(pid) : null;
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const [m1, b1, s1] = [machineBusyTicks(), ticksOf('self'), pid ? ticksOf(pid) : 0];
    const th1 = pid ? serverThreadTicks(pid) : null;
    const cores = (t: number) => Math.round((t / CLK_TCK / secs) * 100) / 100;
    // Threads that ended during the phase drop out of th1, so the split can sum to a little less than serverCores.
    const serverThreadCores = Object.fromEntries(
      (['main', 'inference', 'libvips', 'other'] as const).map((k) => [k, th0 && th1 ? cores(Math.max(0, th1[k] - th0[k])) : 0]),
    ) as ThreadTicks;
    return { benchCores: cores(b1 - b0), serverCores: cores(s1 - s0), serverThreadCores, otherCores: cores(Math.max(0, m1 - m0 - (b1 - b0) - (s1 - s0))), loadavg1: os.loadavg()[0]! };
  };
}

// ---------------------------------------------------------------------------------------------
// Inputs: distinct images from real photos, distinct sentences


const WORDS = {
  state: ['corroded', 'cracked', 'leaking', 'worn', 'loose', 'bent', 'scorched', 'rusty', 'noisy', 'broken', 'dented', 'frayed'],
  part: ['flange', 'valve', 'bearing housing', 'drive belt', 'gasket', 'impeller', 'pressure gauge', 'coupling', 'seal', 'motor mount', 'filter', 'hose'],
  machine: ['centrifugal pump', 'boiler', 'gearbox', 'compressor', 'conveyor', 'hydraulic lift', 'chiller', 'turbine', 'mixer', 'fan'],
  place: ['inlet side', 'outlet side', 'top cover', 'base frame', 'control cabinet', 'north wall'],
};

/** The i-th query: every i gives a different sentence of 10–14 tokens, so no cache can answer. */
function sentence(i: number): string {
  const pick = <T>(xs: readonly T[], k: number) => xs[k % xs.length]!;
  const { state, part, machine, place } = WORDS;
  return `a ${pick(state, i)} ${pick(part, Math.floor(i / 12))} on the ${pick(place, Math.floor(i / 144))} of the ${pick(machine, i * 7 + Math.floor(i / 864))}`;
}

// ---------------------------------------------------------------------------------------------
// The server under test

/** The server with this run's model and settings (`--env`); the test model is allowed so `--model models/tiny-clip` checks the bench itself. */
function startServer(dataDir: string): Promise<BenchServer> {
  return startBenchServer({ dataDir, model: MODEL_DIR, env: { CLIP_ALLOW_TEST_MODEL: 'true', ...SERVER_ENV } });
}

async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`GraphQL error: ${body.errors[0]!.message}`);
  return body.data!;
}

/**
 * The text queries' client: node:http over one kept-alive connection. Node's fetch (undici) costs
 * ~1 ms more CPU per call than this on the bench machine (bench/probes/text-path.ts, healthHttp),
 * which is the client library's overhead, not the server's; the `health` round trip through fetch
 * is still printed beside it, so the difference stays visible.
 */
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

function gqlKeepAlive(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return postGraphql(url, keepAlive, query, variables);
}

/**
 * One embedImage request: the image's multipart body is built once (bench-images.ts) and posted
 * through node:http on kept-alive sockets. FormData + fetch per request cost the bench ~5–7 ms of
 * CPU per image on the 2 cores it shares with the server (~1–2 ms this way), CPU a client on
 * another machine would not take from the server.
 */
async function embedImageHttp(url: string, request: MultipartRequest): Promise<void> {
  const data = await postMultipart(url, request);
  if (!(data.embedImage as { dim?: number } | undefined)?.dim) throw new Error(`embedImage failed: ${JSON.stringify(data).slice(0, 200)}`);
}

/** The server's stage histograms (sum and count per stage) and batch sizes, from /metrics. */
async function serverStages(url: string): Promise<Record<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, { sum: number; count: number }> = {};
  for (const m of text.matchAll(/^fieldscope_(stage_duration_seconds|encoder_batch_size)_(sum|count)\{(?:stage|encoder)="([^"]+)"\} ([\d.e+-]+)$/gm)) {
    const key = `${m[1] === 'encoder_batch_size' ? 'batch_' : ''}${m[3]}`;
    out[key] ??= { sum: 0, count: 0 };
    out[key][m[2] as 'sum' | 'count'] = Number(m[4]);
  }
  return out;
}

/** Per-stage means (ms, or items for batch sizes) between two /metrics snapshots. */
function stageMeans(before: Record<string, { sum: number; count: number }>, after: Record<string, { sum: number; count: number }>): Record<string, { n: number; mean: number }> {
  const out: Record<string, { n: number; mean: number }> = {};
  for (const [k, a] of Object.entries(after)) {
    const n = a.count - (before[k]?.count ?? 0);
    if (n <= 0) continue;
    const sum = a.sum - (before[k]?.sum ?? 0);
    out[k] = { n, mean: Math.round(((k.startsWith('batch_') ? sum : sum * 1000) / n) * 100) / 100 };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Phases

/**
 * The k-th request's image: once every image has been sent, later laps append a few bytes after the
 * JPEG's end (decoders ignore them) so the bytes, hence the server's cache key, still differ. Without
 * this the last phases (after ~400 images) were answered from the embedding cache: the quiet runs'
 * "text under image load" ran against 120–210 cached images/s instead of inference.
 */
function distinctImage(images: readonly Uint8Array[], k: number): Uint8Array {
  const lap = Math.floor(k / images.length);
  const bytes = images[k % images.length]!;
  return lap === 0 ? bytes : Buffer.concat([bytes, Buffer.from(`lap ${lap}`)]);
}

/** The k-th request: the prebuilt body on the first lap, a body built for the lap's bytes after. */
function distinctRequest(images: readonly Uint8Array[], requests: readonly MultipartRequest[], k: number): MultipartRequest {
  return k < images.length ? requests[k]! : multipartEmbedImage(distinctImage(images, k));
}

/** `concurrency` loops each posting the next distinct image; images/s counted after a warm-up. */
async function serverImages(url: string, images: readonly Uint8Array[], requests: readonly MultipartRequest[], cursor: { next: number }, seconds: number, whileRunning?: () => Promise<void>) {
  let stop = false;
  const done: number[] = [];
  let failure: unknown = null;
  const loop = async () => {
    while (!stop) {
      const request = distinctRequest(images, requests, cursor.next++);
      try {
        await embedImageHttp(url, request);
        done.push(performance.now());
      } catch (e) {
        failure ??= e;
        return;
      }
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, loop);
  await new Promise((r) => setTimeout(r, 2000));
  const start = performance.now();
  if (whileRunning) await whileRunning();
  else await new Promise((r) => setTimeout(r, seconds * 1000));
  const end = performance.now();
  stop = true;
  await Promise.all(loops);
  if (failure) throw failure;
  const n = done.filter((t) => t >= start && t <= end).length;
  return { imagesPerSecond: n / ((end - start) / 1000), images: n, seconds: (end - start) / 1000 };
}

/**
 * The server's session options (src/clip/onnx-worker.js), spin-wait off included: the ceiling is
 * the same session without the server around it. (Until 2026-11-30 the vision ceiling ran with
 * ORT's default spinning, which the server does not use.)
 */
const SESSION_OPTIONS = (threads: number): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});

/** The ceiling: whole batches of ready tensors through a bare vision session using every core. */
async function bareVision(spec: ClipModelSpec) {
  const session = await ort.InferenceSession.create(path.join(spec.dir, spec.vision.file), SESSION_OPTIONS(os.cpus().length));
  const data = new Float32Array(BATCH * 3 * 224 * 224);
  const rand = prng(7);
  for (let i = 0; i < data.length; i++) data[i] = rand() * 4 - 2;
  const feeds = { [spec.vision.input]: new ort.Tensor('float32', data, [BATCH, 3, 224, 224]) };
  const run = async () => {
    const out = await session.run(feeds);
    for (const t of Object.values(out)) t.dispose();
  };
  await run();
  return {
    async measure(seconds: number) {
      let n = 0;
      const start = performance.now();
      while (performance.now() - start < seconds * 1000) {
        await run();
        n += BATCH;
      }
      const took = (performance.now() - start) / 1000;
      return { imagesPerSecond: n / took, images: n, seconds: took };
    },
    release: () => session.release(),
  };
}

/** The text floor: `session.run` on one pre-tokenized sentence, with the server's text-session thread count. */
async function bareText(spec: ClipModelSpec, threads: number) {
  const json = await readModelJson(spec);
  const tokenizer = new ClipTokenizer({ tokenizerJson: json.tokenizerJson, tokenizerConfigJson: json.tokenizerConfigJson });
  const session = await ort.InferenceSession.create(path.join(spec.dir, spec.text.file), SESSION_OPTIONS(threads));
  const padId = spec.text.padId ?? tokenizer.eosId;
  return {
    tokens: (i: number) => tokenizer.encode(sentence(i), 77).length,
    async run(i: number) {
      const b = padBatch([tokenizer.encode(sentence(i), 77)], { contextLength: 77, fixedLength: spec.text.fixedLength, padId });
      const feeds: Record<string, ort.Tensor> = { [spec.text.inputIds]: new ort.Tensor('int64', b.ids, [b.batch, b.length]) };
      if (spec.text.attentionMask) feeds[spec.text.attentionMask] = new ort.Tensor('int64', b.attentionMask, [b.batch, b.length]);
      const out = await session.run(feeds);
      for (const t of Object.values(out)) t.dispose();
    },
    release: () => session.release(),
  };
}

/** The peer: transformers.js end to end on the same folder and bytes (its default session options). */
async function peer(spec: ClipModelSpec, images: readonly Uint8Array[]) {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = path.dirname(spec.dir) + path.sep;
  const id = path.basename(spec.dir);
  const opts = { local_files_only: true, dtype: DTYPE, device: 'cpu' as const };
  const processor = await tf.AutoProcessor.from_pretrained(id, { local_files_only: true });
  const vision = await tf.CLIPVisionModelWithProjection.from_pretrained(id, opts);
  const tokenizer = await tf.AutoTokenizer.from_pretrained(id, { local_files_only: true });
  const text = await tf.CLIPTextModelWithProjection.from_pretrained(id, opts);
  let next = 0;
  const batch = async () => {
    const raw = await Promise.all(Array.from({ length: BATCH }, () => tf.RawImage.fromBlob(new Blob([images[next++ % images.length]!]))));
    const out = (await vision((await processor(raw)) as Record<string, unknown>)) as Record<string, { dims: number[] } | undefined>;
    if (out.image_embeds?.dims[0] !== BATCH) throw new Error('transformers.js returned no image_embeds');
  };
  await batch();
  return {
    async images(seconds: number) {
      let n = 0;
      const start = performance.now();
      while (performance.now() - start < seconds * 1000) {
        await batch();
        n += BATCH;
      }
      const took = (performance.now() - start) / 1000;
      return { imagesPerSecond: n / took, images: n, seconds: took };
    },
    async text(i: number) {
      const out = (await text((await tokenizer(sentence(i), { padding: true, truncation: true })) as Record<string, unknown>)) as Record<string, unknown>;
      if (!out.text_embeds) throw new Error('transformers.js returned no text_embeds');
    },
    release: () => Promise.all([vision.dispose(), text.dispose()]),
  };
}

// ---------------------------------------------------------------------------------------------

const f1 = (v: number) => v.toFixed(1);
const loadNote = (l: Load) => `[load: bench ${l.benchCores} + server ${l.serverCores} + others ${l.otherCores} cores, loadavg ${l.loadavg1.toFixed(1)}]`;

async function main(): Promise<void> {
  if (!existsSync(MODEL_DIR)) {
    console.error(
      `No model folder at ${MODEL_DIR}. Make the ViT-B/32-sized one (random weights, ~600 MB) with\n` +
        `  /usr/bin/python3 ../shared/tools/make_clip.py --size b32 --out ${MODEL_DIR} --tokenizer ../shared/clip/tokenizer\n` +
        'or pass --model DIR (any CLIP folder in the Hugging Face ONNX layout). See bench/README.md.',
    );
    process.exit(2);
  }
  const spec = await resolveModelFolder(MODEL_DIR, DTYPE === 'q8' ? 'quantized' : 'fp32');
  const textThreads = Number(SERVER_ENV.CLIP_TEXT_THREADS ?? process.env.CLIP_TEXT_THREADS ?? 2);
  console.log(`model   ${spec.dir}`);
  console.log(`machine ${os.cpus().length} CPUs, Node ${process.version}, ${SECONDS} s per phase, ${ROUNDS} rounds, ${CONCURRENCY} requests in flight, server env ${JSON.stringify(SERVER_ENV)}`);
  const images = await makeBenchImages(IMAGE_COUNT, PHOTOS_DIR);
  const requests = images.map((bytes) => multipartEmbedImage(bytes));
  console.log(`images  ${images.length} distinct JPEGs from ${PHOTOS_DIR} (${Math.round(images.reduce((t, b) => t + b.length, 0) / images.length / 1024)} KiB mean, 0.3–1.9 MP)`);

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-http-bench-'));
  const server = await startServer(dataDir);
  const serverPid = () => server.child.pid;
  const vision = await bareVision(spec);
  const text = await bareText(spec, textThreads);
  const tf = args['skip-transformers'] ? null : await peer(spec, images);
  const report: Record<string, unknown> = {
    when: new Date().toISOString(),
    model: spec.dir,
    cpus: os.cpus().length,
    node: process.version,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    serverEnv: SERVER_ENV,
    distinctImages: images.length,
    imageClient: 'node:http keep-alive, multipart bodies built once per image',
    ceilingSessionOptions: SESSION_OPTIONS(os.cpus().length),
  };
  try {
    const cursor = { next: 0 };
    // Warm the server's paths (first requests compile resolvers, fill pools).
    for (let i = 0; i < 4; i++) await embedImageHttp(server.url, distinctRequest(images, requests, cursor.next++));
    for (let i = 0; i < 5; i++) await gqlKeepAlive(server.url, 'query ($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [sentence(100_000 + i)] });
    // Steady state: V8 keeps compiling the request path for the first minute or so of traffic (on 2
    // cores its compiler threads also compete with inference), and a server in service is past that.
    if (WARMUP_SECONDS > 0) {
      const warmupDeadline = performance.now() + WARMUP_SECONDS * 1000;
      let warmTexts = 0;
      const imageLoop = async () => {
        while (performance.now() < warmupDeadline) await embedImageHttp(server.url, distinctRequest(images, requests, cursor.next++));
      };
      const textLoop = async () => {
        for (let i = 0; performance.now() < warmupDeadline; i++, warmTexts++) {
          await gqlKeepAlive(server.url, '{ health { status } }');
          await gqlKeepAlive(server.url, 'query ($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [sentence(200_000 + i)] });
        }
      };
      await Promise.all([imageLoop(), imageLoop(), textLoop()]);
      console.log(`warm-up ${WARMUP_SECONDS} s of mixed traffic: ${warmTexts} embedText + health, ${cursor.next} images`);
    }

    // 1. Text, idle: health round trip, bare session.run and embedText over HTTP, alternating call by call.
    let meter = loadMeter(serverPid);
    let st0 = await serverStages(server.url);
    const health: number[] = [];
    const healthFetch: number[] = [];
    const bare: number[] = [];
    const idle: number[] = [];
    const textDeadline = performance.now() + 2 * SECONDS * 1000;
    for (let i = 0; performance.now() < textDeadline; i++) {
      let t = performance.now();
      await gqlKeepAlive(server.url, '{ health { status } }');
      health.push(performance.now() - t);
      t = performance.now();
      await gql(server.url, '{ health { status } }');
      healthFetch.push(performance.now() - t);
      t = performance.now();
      await text.run(i);
      bare.push(performance.now() - t);
      t = performance.now();
      await gqlKeepAlive(server.url, 'query ($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [sentence(i)] });
      idle.push(performance.now() - t);
    }
    const textLoad = meter();
    const textCalls = idle.length;
    const textStages = stageMeans(st0, await serverStages(server.url));
    const [h, hf, b, e] = [summarize(health), summarize(healthFetch), summarize(bare), summarize(idle)];
    console.log(`text    health p50 ${f1(h.p50)} ms (through fetch ${f1(hf.p50)}) | bare session.run (${textThreads} threads, ~${text.tokens(0)} tokens) p50 ${f1(b.p50)} ms | embedText over HTTP p50 ${f1(e.p50)} p95 ${f1(e.p95)} ms = bare + ${f1(e.p50 - b.p50)} ms  ${loadNote(textLoad)}`);
    console.log(`        server stages (mean ms): ${Object.entries(textStages).filter(([k]) => !k.startsWith('batch_')).map(([k, v]) => `${k} ${v.mean}`).join(', ')}`);
    // CPU per round of (2 health + bare run + embedText): the server's share is 2 health + embedText, the bench's the bare run (+ client).
    const secs = 2 * SECONDS;
    const cpu = { serverPerRound: Math.round(((textLoad.serverCores * secs * 1000) / textCalls) * 10) / 10, benchPerRound: Math.round(((textLoad.benchCores * secs * 1000) / textCalls) * 10) / 10 };
    console.log(`        CPU ms per round: server (2 health + embedText) ${cpu.serverPerRound}, bench (bare run + 3 HTTP calls) ${cpu.benchPerRound}`);
    report.text = { client: 'node:http keep-alive', health: h, healthThroughFetch: hf, bareSessionRun: b, embedTextIdle: e, overBareMs: e.p50 - b.p50, stagesMs: textStages, cpuMs: cpu, load: textLoad };

    // 2. Images: server, ceiling and peer alternate in rounds.
    /** CPU ms per image; null when the phase finished no image (starved by other processes). */
    const perImage = (cores: number, ips: number) => (ips > 0 ? Math.round((cores / ips) * 10000) / 10 : null);
    const rounds: { server: number; ceiling: number; peer: number | null; cpuMsPerImage: Record<string, number | null>; serverCpuMsPerImageByThread: Record<string, number | null>; serverLoad: Load; ceilingLoad: Load; peerLoad: Load | null; stages: Record<string, { n: number; mean: number }> }[] = [];
    const slice = SECONDS / ROUNDS;
    for (let r = 0; r < ROUNDS; r++) {
      meter = loadMeter(serverPid);
      st0 = await serverStages(server.url);
      const s = await serverImages(server.url, images, requests, cursor, slice);
      const serverLoad = meter();
      const stages = stageMeans(st0, await serverStages(server.url));
      await new Promise((res) => setTimeout(res, 500)); // let the server's last batches drain
      meter = loadMeter(serverPid);
      const c = await vision.measure(slice);
      const ceilingLoad = meter();
      meter = loadMeter(serverPid);
      const p = tf ? await tf.images(slice) : null;
      const peerLoad = tf ? meter() : null;
      // CPU per image is steadier than images/s on a shared machine: it says how much work each
      // image costs, whoever else wants the cores.
      const byThread = Object.fromEntries(Object.entries(serverLoad.serverThreadCores).map(([k, v]) => [k, perImage(v, s.imagesPerSecond)]));
      const cpuMs = { server: perImage(serverLoad.serverCores, s.imagesPerSecond), client: perImage(serverLoad.benchCores, s.imagesPerSecond), ceiling: perImage(ceilingLoad.benchCores, c.imagesPerSecond), peer: p ? perImage(peerLoad!.benchCores, p.imagesPerSecond) : null };
      rounds.push({ server: s.imagesPerSecond, ceiling: c.imagesPerSecond, peer: p?.imagesPerSecond ?? null, cpuMsPerImage: cpuMs, serverCpuMsPerImageByThread: byThread, serverLoad, ceilingLoad, peerLoad, stages });
      console.log(
        `images  round ${r + 1}: server ${f1(s.imagesPerSecond)}/s ${loadNote(serverLoad)}; bare vision ${f1(c.imagesPerSecond)}/s ${loadNote(ceilingLoad)}` +
          (p ? `; transformers.js ${f1(p.imagesPerSecond)}/s ${loadNote(peerLoad!)}` : ''),
      );
      const f = (v: number | null) => (v === null ? 'n/a (no image finished)' : f1(v));
      console.log(`        CPU ms per image: server ${f(cpuMs.server)} (+ client ${f(cpuMs.client)}), bare vision ${f(cpuMs.ceiling)}${p ? `, transformers.js ${f(cpuMs.peer)}` : ''}`);
      console.log(`        server CPU ms per image by thread: ${Object.entries(byThread).map(([k, v]) => `${k} ${f(v)}`).join(', ')}`);
      console.log(`        server stages (mean ms; batch = mean items): ${Object.entries(stages).map(([k, v]) => `${k} ${v.mean} (n ${v.n})`).join(', ')}`);
    }
    const mean = (xs: number[]) => xs.reduce((t, v) => t + v, 0) / xs.length;
    const serverIps = mean(rounds.map((r) => r.server));
    const ceilingIps = mean(rounds.map((r) => r.ceiling));
    const peerIps = tf ? mean(rounds.map((r) => r.peer!)) : null;

    // 3. Text under full image load.
    meter = loadMeter(serverPid);
    let loaded: number[] = [];
    const during = await serverImages(server.url, images, requests, cursor, SECONDS, async () => {
      const deadline = performance.now() + SECONDS * 1000;
      for (let i = 50_000; performance.now() < deadline; i++) {
        const t = performance.now();
        await gqlKeepAlive(server.url, 'query ($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [sentence(i)] });
        loaded.push(performance.now() - t);
      }
    });
    const loadedLoad = meter();
    const l = summarize(loaded);
    loaded = [];
    console.log(`text    embedText under image load p50 ${f1(l.p50)} p95 ${f1(l.p95)} ms = ${f1(l.p95 / e.p50)}× idle p50 (images meanwhile ${f1(during.imagesPerSecond)}/s)  ${loadNote(loadedLoad)}`);

    const peerText = tf ? summarize(await (async () => {
      const xs: number[] = [];
      const deadline = performance.now() + SECONDS * 1000;
      for (let i = 0; performance.now() < deadline; i++) {
        const t = performance.now();
        await tf.text(i);
        xs.push(performance.now() - t);
      }
      return xs;
    })()) : null;

    const checks = [
      { name: 'server images/s ≥ 0.9 × bare vision session', value: serverIps / ceilingIps, pass: serverIps >= 0.9 * ceilingIps },
      { name: 'embedText p50 ≤ bare session.run p50 + 3 ms', value: e.p50 - b.p50, pass: e.p50 <= b.p50 + 3 },
      { name: 'embedText p95 under image load ≤ 3 × idle p50', value: l.p95 / e.p50, pass: l.p95 <= 3 * e.p50 },
    ];
    console.log(
      `summary server ${f1(serverIps)} images/s = ${(serverIps / ceilingIps).toFixed(2)}× bare vision (${f1(ceilingIps)}/s)` +
        (peerIps ? `, ${(serverIps / peerIps).toFixed(2)}× transformers.js (${f1(peerIps)}/s; its text p50 ${f1(peerText!.p50)} ms)` : ''),
    );
    for (const c of checks) console.log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.value.toFixed(2)}`);
    Object.assign(report, {
      images: { serverImagesPerSecond: serverIps, bareVisionImagesPerSecond: ceilingIps, transformersJsImagesPerSecond: peerIps, serverVsBare: serverIps / ceilingIps, serverVsPeer: peerIps && serverIps / peerIps, rounds },
      textUnderImageLoad: { ...l, p95VsIdleP50: l.p95 / e.p50, imagesPerSecond: during.imagesPerSecond, load: loadedLoad },
      transformersJsText: peerText,
      checks,
    });
  } finally {
    await Promise.all([server.stop(), vision.release(), text.release(), tf?.release()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
  console.log(`report  ${OUT}`);
}

await main();
