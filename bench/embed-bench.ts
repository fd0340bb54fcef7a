/**
 * `npm run bench`: end-to-end speed of the CLIP encoder against a bare ONNX session and
 * against transformers.js, on one model folder and one set of image files, in one run.
 *
 * Phases (each prints one line):
 *   a  bare `session.run` of the text graph, in-process, same thread count as the encoder's text
 *      session, on a pre-tokenized one-sentence query: the latency floor;
 *   b  Fieldscope `embedTexts([sentence])`, one at a time, idle;
 *   c  Fieldscope `embedImages` from file bytes at full load: images/s;
 *   d  (b) again while (c) runs in parallel;
 *   e  transformers.js on the same folder and files: images/s (batches of 8) and text p50.
 * The encoder is created with cacheSize 0, so nothing is ever served from its cache.
 * See bench/README.md.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { OnnxClipEncoder, type EncoderOptions } from '../src/clip/clip-encoder.js';
import { readModelJson, resolveModelFolder, type ClipModelSpec } from '../src/clip/model-files.js';
import { ClipTokenizer, padBatch } from '../src/clip/tokenize.js';
import { loadConfig } from '../src/config.js';

// ---------------------------------------------------------------------------------------------
// Arguments

const HELP = `usage: npm run bench -- [options]

  --model DIR          model folder in the Hugging Face ONNX layout (default .bench/clip-b32)
  --images DIR         image files to embed (default test/fixtures/reference/photos; generated images if absent;
                       \`generated\` = always the generated ones: 8 noisy JPEGs of 0.25–1.9 MP)
  --seconds N          measured seconds per phase (default 10)
  --json               print one JSON object instead of text
  --retries N          measure a phase again, up to N times, when other processes took > 5 % of the
                       CPUs meanwhile (default 2); the least disturbed attempt is kept
  --wait-quiet S       before each phase, wait up to S seconds for other processes to go quiet
                       (default 120; 0 = never wait)
  --rounds N           split phases c and e's images into N alternating rounds (default 2)
  --skip-transformers  skip phase e (transformers.js)
  encoder settings (default: the server's, i.e. CLIP_* environment variables or their defaults):
  --text-threads N  --image-threads N  --image-workers N  --image-nice N  --image-batch N  --batch-wait-ms N
  --in-flight N        image requests (one image each) kept in flight in phases c/d
                       (default 2 × image-batch × image-workers)`;

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: '.bench/clip-b32' },
    images: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    retries: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    'wait-quiet': { type: 'string', default: '120' },
    'skip-transformers': { type: 'boolean', default: false },
    'text-threads': { type: 'string' },
    'image-threads': { type: 'string' },
    'image-workers': { type: 'string' },
    'image-nice': { type: 'string' },
    'image-batch': { type: 'string' },
    'batch-wait-ms': { type: 'string' },
    'in-flight': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(HELP);
  process.exit(0);
}

function intArg(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}, got ${value}`);
    process.exit(2);
  }
  return n;
}

const SECONDS = Number(args.seconds);
if (!(SECONDS > 0)) {
  console.error(`--seconds must be a positive number, got ${args.seconds}`);
  process.exit(2);
}
const JSON_OUT = args.json;
const RETRIES = intArg('retries', args.retries, 2, 0);
const ROUNDS = intArg('rounds', args.rounds, 2, 1);
const WAIT_QUIET = intArg('wait-quiet', args['wait-quiet'], 120, 0);
const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const REFERENCE = path.join(REPO_ROOT, 'test', 'fixtures', 'reference');
// The default is the checkout's .bench/ wherever the bench is started from; a given path is the caller's.
const MODEL_DIR = args.model === '.bench/clip-b32' ? path.join(REPO_ROOT, '.bench', 'clip-b32') : path.resolve(args.model);

const config = loadConfig(process.env);
const base = config.encoder;
const encoderOptions: EncoderOptions = {
  textThreads: intArg('text-threads', args['text-threads'], base.textThreads, 1),
  backgroundTextWorker: base.backgroundTextWorker,
  imageThreads: intArg('image-threads', args['image-threads'], base.imageThreads, 1),
  imageWorkers: intArg('image-workers', args['image-workers'], base.imageWorkers, 1),
  imageNice: intArg('image-nice', args['image-nice'], base.imageNice, 0),
  imageBatch: intArg('image-batch', args['image-batch'], base.imageBatch, 1),
  textBatch: base.textBatch,
  batchWaitMs: intArg('batch-wait-ms', args['batch-wait-ms'], base.batchWaitMs, 0),
  queueLimit: base.queueLimit,
  cacheSize: 0, // never serve a repeat from cache: every call below is real work
  imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
};
const IN_FLIGHT = intArg('in-flight', args['in-flight'], 2 * encoderOptions.imageBatch * encoderOptions.imageWorkers, 1);
const TRANSFORMERS_BATCH = 8;

/** One-sentence queries; phases a, b, d and e cycle through the same list. */
const SENTENCES = [
  'a corroded flange on the inlet side of the centrifugal pump',
  'how do I replace the pressure relief valve on the boiler',
  'photo of a cracked bearing housing next to the gearbox',
  'torque settings for the bolts on the main access hatch',
  'oil leak under the hydraulic cylinder of the lift arm',
  'wiring diagram of the control cabinet for conveyor two',
  'a worn drive belt with frayed edges on the compressor',
  'safety procedure before opening the high voltage panel',
];

// ---------------------------------------------------------------------------------------------
// Small helpers

const log = (line: string): void => {
  if (!JSON_OUT) console.log(line);
};

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

interface Latency {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  max: number;
}

function summarize(samples: readonly number[]): Latency {
  const s = [...samples].sort((x, y) => x - y);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    mean: s.reduce((t, v) => t + v, 0) / Math.max(1, s.length),
    max: s[s.length - 1] ?? Number.NaN,
  };
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;
const x = (v: number): string => `${v.toFixed(2)}×`;

/** Repeats `fn` for `seconds` after `warmup` untimed calls; returns the latency of each timed call. */
async function timeLoop(seconds: number, warmup: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const samples: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < deadline; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// Per-thread CPU time and nice value (Linux /proc), to see whether CLIP_IMAGE_NICE takes effect

interface ThreadStat {
  tid: number;
  comm: string;
  nice: number;
  cpuTicks: number;
}

const CLK_TCK = 100;

function readThreads(): Map<number, ThreadStat> {
  const out = new Map<number, ThreadStat>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      // Fields after "comm)": state(3) ... utime(14) stime(15) ... nice(19)
      const f = stat.slice(close + 2).split(' ');
      out.set(Number(tid), { tid: Number(tid), comm, nice: Number(f[16]), cpuTicks: Number(f[11]) + Number(f[12]) });
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

interface NiceReport {
  /** CPU seconds used during the phase, by nice value of the thread. */
  cpuSecondsByNice: Record<string, number>;
  /** Threads that used ≥ 5 % of the phase, busiest first. */
  busiest: { tid: number; comm: string; nice: number; cpuSeconds: number }[];
}

function cpuByNice(before: Map<number, ThreadStat>, after: Map<number, ThreadStat>, wallSeconds: number): NiceReport {
  const byNice: Record<string, number> = {};
  const busy: NiceReport['busiest'] = [];
  for (const t of after.values()) {
    const used = (t.cpuTicks - (before.get(t.tid)?.cpuTicks ?? 0)) / CLK_TCK;
    if (used <= 0) continue;
    byNice[String(t.nice)] = (byNice[String(t.nice)] ?? 0) + used;
    if (used >= 0.05 * wallSeconds) busy.push({ tid: t.tid, comm: t.comm, nice: t.nice, cpuSeconds: used });
  }
  busy.sort((p, q) => q.cpuSeconds - p.cpuSeconds);
  for (const k of Object.keys(byNice)) byNice[k] = Math.round(byNice[k]! * 100) / 100;
  return { cpuSecondsByNice: byNice, busiest: busy.map((b) => ({ ...b, cpuSeconds: Math.round(b.cpuSeconds * 100) / 100 })) };
}

/**
 * CPU used by other processes, in core-seconds, between two snapshots: the machine may be shared
 * (another test run) and a phase measured under foreign load is not a fair figure.
 */
interface CpuSnapshot {
  busyTicks: number;
  ownTicks: number;
}

function cpuSnapshot(): CpuSnapshot {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    const busyTicks = f.reduce((t, v, i) => (i === 3 || i === 4 ? t : t + v), 0);
    const own = readFileSync('/proc/self/stat', 'utf8');
    const g = own.slice(own.lastIndexOf(')') + 2).split(' ');
    return { busyTicks, ownTicks: Number(g[11]) + Number(g[12]) };
  } catch {
    return { busyTicks: 0, ownTicks: 0 };
  }
}

/** Share of the machine's capacity taken by other processes since `before` (0..1). */
function foreignLoad(before: CpuSnapshot, seconds: number): number {
  const now = cpuSnapshot();
  const foreign = now.busyTicks - before.busyTicks - (now.ownTicks - before.ownTicks);
  return Math.max(0, foreign / CLK_TCK / (seconds * os.cpus().length));
}

const MAX_FOREIGN = 0.05;

/** Waits (up to --wait-quiet seconds) for a one-second window in which other processes stay under 5 %. */
async function waitForQuiet(label: string): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < WAIT_QUIET * 1000) {
    const before = cpuSnapshot();
    await new Promise((r) => setTimeout(r, 1000));
    if (foreignLoad(before, 1) <= MAX_FOREIGN) break;
  }
  const waited = (performance.now() - start) / 1000;
  if (waited > 2.5) log(`   (waited ${waited.toFixed(0)} s for other processes to leave the CPUs before ${label})`);
}
const foreignNotes: string[] = [];

/**
 * Runs a measurement; when other processes took more than 5 % of the CPUs meanwhile, runs it
 * again (up to --retries times) and keeps the attempt with the least foreign load, with a warning
 * when even that one was disturbed.
 */
async function watched<T>(label: string, fn: () => Promise<T>): Promise<T> {
  let best: { result: T; share: number } | null = null;
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    await waitForQuiet(label);
    const before = cpuSnapshot();
    const t = performance.now();
    const result = await fn();
    const share = foreignLoad(before, (performance.now() - t) / 1000);
    if (!best || share < best.share) best = { result, share };
    if (share <= MAX_FOREIGN) break;
    if (attempt < RETRIES) log(`   (other processes used ${(share * 100).toFixed(0)} % of the CPUs during ${label}: measuring again)`);
  }
  if (best!.share > MAX_FOREIGN) {
    const note = `other processes used ${(best!.share * 100).toFixed(0)} % of the CPUs during ${label}: its figures are not reliable`;
    foreignNotes.push(note);
    log(`   WARNING ${note}`);
  }
  return best!.result;
}

// ---------------------------------------------------------------------------------------------
// Inputs

async function loadSpec(): Promise<ClipModelSpec> {
  if (!existsSync(MODEL_DIR)) {
    console.error(
      `No model folder at ${MODEL_DIR}.\n` +
        'Make the ViT-B/32-sized benchmark model (same graph as CLIP ViT-B/32, random weights) with:\n' +
        `  mkdir -p .bench/clip-tokenizer && gunzip -c ${path.join(REFERENCE, 'clip-tokenizer', 'tokenizer.json.gz')} > .bench/clip-tokenizer/tokenizer.json && cp ${path.join(REFERENCE, 'clip-tokenizer', 'tokenizer_config.json')} .bench/clip-tokenizer/\n` +
        `  /usr/bin/python3 ${path.join(REFERENCE, 'tools', 'make_clip.py')} --size b32 --out ${MODEL_DIR} --tokenizer .bench/clip-tokenizer\n` +
        '  (Debian PyTorch: apt-get install -y python3-torch python3-onnx python3-pil; ~600 MB, about 20 s)\n' +
        'or pass --model DIR pointing at any CLIP folder in the Hugging Face ONNX layout (see bench/README.md).',
    );
    process.exit(2);
  }
  return resolveModelFolder(MODEL_DIR, 'fp32');
}

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

async function loadImages(): Promise<{ source: string; files: { name: string; bytes: Uint8Array }[] }> {
  const generate = args.images === 'generated';
  const dir = path.resolve(generate ? 'generated' : (args.images ?? path.join(REFERENCE, 'photos')));
  if (generate) {
    // fall through to the generated images
  } else if (existsSync(dir) && statSync(dir).isDirectory()) {
    const files = readdirSync(dir)
      .filter((f) => IMAGE_EXT.test(f))
      .sort()
      .map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(dir, name))) }));
    if (files.length > 0) return { source: dir, files };
    if (args.images) {
      console.error(`--images ${dir} holds no image files (jpeg, png, webp, gif, tiff, avif).`);
      process.exit(2);
    }
  } else if (args.images) {
    console.error(`--images ${dir} is not a folder.`);
    process.exit(2);
  }
  // Fallback: photo-sized JPEGs with noise (noise keeps the decoder honest; flat images decode too fast).
  const files: { name: string; bytes: Uint8Array }[] = [];
  const sizes: [number, number][] = [[1024, 768], [800, 600], [1280, 960], [640, 480], [768, 1024], [1200, 800], [512, 512], [1600, 1200]];
  for (const [i, [width, height]] of sizes.entries()) {
    const bytes = await sharp({ create: { width, height, channels: 3, background: { r: 40 * i, g: 120, b: 200 - 20 * i }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .jpeg({ quality: 85 })
      .toBuffer();
    files.push({ name: `generated-${width}x${height}.jpg`, bytes: new Uint8Array(bytes) });
  }
  return { source: generate ? 'generated' : `generated (${dir} absent)`, files };
}

// ---------------------------------------------------------------------------------------------
// Phases

/** The session phase a measures: the text graph with the options the encoder's text worker uses. */
async function bareTextSession(spec: ClipModelSpec, tokenizer: ClipTokenizer) {
  const session = await ort.InferenceSession.create(path.join(spec.dir, spec.text.file), {
    intraOpNumThreads: encoderOptions.textThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const padId = spec.text.padId ?? tokenizer.eosId;
  const feeds = SENTENCES.map((s) => {
    const b = padBatch([tokenizer.encode(s, 77)], { contextLength: 77, fixedLength: spec.text.fixedLength, padId });
    const f: Record<string, ort.Tensor> = { [spec.text.inputIds]: new ort.Tensor('int64', b.ids, [b.batch, b.length]) };
    if (spec.text.attentionMask) f[spec.text.attentionMask] = new ort.Tensor('int64', b.attentionMask, [b.batch, b.length]);
    return f;
  });
  return {
    async run(i: number): Promise<void> {
      const out = await session.run(feeds[i % feeds.length]!);
      for (const t of Object.values(out)) t.dispose();
    },
    release: () => session.release(),
  };
}

/**
 * a + b: bare session.run and embedText, alternating call by call for 2 × SECONDS, so that both
 * see the same machine (a shared machine's load hits both alike and cannot fake the ratio).
 */
async function phaseTextIdle(bare: (i: number) => Promise<void>, embed: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 10; i++) {
    await bare(i);
    await embed(i);
  }
  const a: number[] = [];
  const b: number[] = [];
  const deadline = performance.now() + 2 * SECONDS * 1000;
  for (let i = 0; performance.now() < deadline; i++) {
    let t = performance.now();
    await bare(i);
    a.push(performance.now() - t);
    t = performance.now();
    await embed(i);
    b.push(performance.now() - t);
  }
  return { bare: summarize(a), idle: summarize(b) };
}

/** Keeps `inFlight` one-image embedImages calls going until stop() is called; counts finished images. */
function imageLoad(encoder: OnnxClipEncoder, files: readonly { bytes: Uint8Array }[], inFlight: number) {
  let stopping = false;
  let next = 0;
  let failed: unknown = null;
  /** Completion time of every image. */
  const completions: number[] = [];
  const loop = async (): Promise<void> => {
    while (!stopping) {
      const bytes = files[next++ % files.length]!.bytes;
      try {
        await encoder.embedImages([bytes]);
        completions.push(performance.now());
      } catch (error) {
        failed ??= error;
        return;
      }
    }
  };
  const loops = Array.from({ length: inFlight }, () => loop());
  return {
    completions,
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all(loops);
      if (failed) throw failed;
    },
  };
}

/**
 * Images/s between batch boundaries: images complete a batch at a time, so counting over a fixed
 * window is off by up to a batch. Counts from the first completion group after `start` to the
 * last one before `end`, excluding the first group (it was computed before the window).
 */
function rateBetweenBatches(completions: readonly number[], start: number, end: number): { images: number; seconds: number } {
  const inWindow = completions.filter((t) => t >= start && t <= end);
  if (inWindow.length < 2) return { images: inWindow.length, seconds: (end - start) / 1000 };
  const first = inWindow[0]!;
  const last = inWindow[inWindow.length - 1]!;
  const afterFirstGroup = inWindow.filter((t) => t - first > 5); // one batch resolves within a few ms
  if (afterFirstGroup.length === 0 || last - first < 1) return { images: inWindow.length, seconds: (end - start) / 1000 };
  return { images: afterFirstGroup.length, seconds: (last - first) / 1000 };
}

interface ImageMeasurement {
  imagesPerSecond: number;
  images: number;
  seconds: number;
  nice: NiceReport;
}

/** c (and the load of d): `--in-flight` one-image calls kept pending, counted after 2 s of warm-up. */
async function measureImages(
  encoder: OnnxClipEncoder,
  files: readonly { bytes: Uint8Array }[],
  seconds: number,
  whileRunning?: () => Promise<void>,
): Promise<ImageMeasurement> {
  const load = imageLoad(encoder, files, IN_FLIGHT);
  try {
    await new Promise((r) => setTimeout(r, 2000)); // reach steady state before counting
    const threadsBefore = readThreads();
    const start = performance.now();
    if (whileRunning) await whileRunning();
    else await new Promise((r) => setTimeout(r, seconds * 1000));
    const end = performance.now();
    const nice = cpuByNice(threadsBefore, readThreads(), (end - start) / 1000);
    const r = rateBetweenBatches(load.completions, start, end);
    return { imagesPerSecond: r.images / r.seconds, images: r.images, seconds: r.seconds, nice };
  } finally {
    await load.stop();
  }
}

/** e: transformers.js on the same folder and file bytes, with its default session options. */
async function loadTransformers(spec: ClipModelSpec, files: readonly { bytes: Uint8Array }[]) {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = path.dirname(spec.dir) + path.sep;
  const id = path.basename(spec.dir);
  const opts = { local_files_only: true, dtype: 'fp32' as const, device: 'cpu' as const };
  const processor = await tf.AutoProcessor.from_pretrained(id, { local_files_only: true });
  const vision = await tf.CLIPVisionModelWithProjection.from_pretrained(id, opts);
  const tokenizer = await tf.AutoTokenizer.from_pretrained(id, { local_files_only: true });
  const text = await tf.CLIPTextModelWithProjection.from_pretrained(id, opts);

  let next = 0;
  /** One batch end to end: file bytes → RawImage → processor → vision model → image_embeds. */
  const batch = async (): Promise<number> => {
    const bytes = Array.from({ length: TRANSFORMERS_BATCH }, () => files[next++ % files.length]!.bytes);
    const images = await Promise.all(bytes.map((b) => tf.RawImage.fromBlob(new Blob([b]))));
    const inputs = (await processor(images)) as Record<string, unknown>;
    const out = (await vision(inputs)) as Record<string, { dims: number[] } | undefined>;
    if (out.image_embeds?.dims[0] !== TRANSFORMERS_BATCH) throw new Error('transformers.js returned no image_embeds of the batch size');
    return TRANSFORMERS_BATCH;
  };
  const embedText = async (i: number): Promise<void> => {
    const inputs = (await tokenizer(SENTENCES[i % SENTENCES.length]!, { padding: true, truncation: true })) as Record<string, unknown>;
    const out = (await text(inputs)) as Record<string, unknown>;
    if (!out.text_embeds) throw new Error('transformers.js returned no text_embeds');
  };
  await batch(); // warm-up
  return {
    /** Whole batches, one after another, for at least `seconds`. */
    async images(seconds: number) {
      let images = 0;
      const start = performance.now();
      while (performance.now() - start < seconds * 1000) images += await batch();
      const took = (performance.now() - start) / 1000;
      return { imagesPerSecond: images / took, images, seconds: took };
    },
    text: async () => summarize(await timeLoop(SECONDS, 10, embedText)),
    release: () => Promise.all([vision.dispose(), text.dispose()]),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const spec = await loadSpec();
  const { source, files } = await loadImages();
  const mb = (rel: string) => Math.round(statSync(path.join(spec.dir, rel)).size / 1e6);
  const o = encoderOptions;
  const settings = `textThreads=${o.textThreads} backgroundTextWorker=${o.backgroundTextWorker} imageThreads=${o.imageThreads} imageWorkers=${o.imageWorkers} imageNice=${o.imageNice} imageBatch=${o.imageBatch} batchWaitMs=${o.batchWaitMs} inFlight=${IN_FLIGHT} cacheSize=0`;
  log(`model   ${spec.dir} (vision ${mb(spec.vision.file)} MB, text ${mb(spec.text.file)} MB)`);
  log(`images  ${files.length} files from ${source} (${Math.round(files.reduce((t, f) => t + f.bytes.length, 0) / 1024)} KiB)`);
  log(`machine ${os.cpus().length} CPUs, Node ${process.version}, ${SECONDS} s per phase`);
  log(`encoder ${settings}`);

  const json = await readModelJson(spec);
  const tokenizer = new ClipTokenizer({ tokenizerJson: json.tokenizerJson, tokenizerConfigJson: json.tokenizerConfigJson });

  const session = await bareTextSession(spec, tokenizer);
  const encoder = await OnnxClipEncoder.load(spec, encoderOptions);
  const tf = args['skip-transformers'] ? null : await loadTransformers(spec, files);
  let bare: Latency;
  let idle: Latency;
  let images: { imagesPerSecond: number; images: number; seconds: number; nice: NiceReport };
  let loaded: Latency;
  let loadedImages: ImageMeasurement;
  let tfjs: { imagesPerSecond: number; images: number; seconds: number; text: Latency } | null = null;
  try {
    const embedOne = (i: number) => encoder.embedTexts([SENTENCES[i % SENTENCES.length]!]);
    ({ bare, idle } = await watched('a+b', () => phaseTextIdle((i) => session.run(i), embedOne)));
    await session.release();
    log(`a  bare session.run (text, ${o.textThreads} threads)   p50 ${ms(bare.p50)}  p95 ${ms(bare.p95)}  n=${bare.n}`);
    log(`b  embedText idle                      p50 ${ms(idle.p50)}  p95 ${ms(idle.p95)}  n=${idle.n}  p50 vs (a) ${x(idle.p50 / bare.p50)}`);

    // c and e's images alternate in rounds (c e c e …) so that a drift in the machine's speed hits both alike.
    const slice = SECONDS / ROUNDS;
    const cRounds: ImageMeasurement[] = [];
    const eRounds: { images: number; seconds: number }[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      cRounds.push(await watched(`c (round ${r})`, () => measureImages(encoder, files, slice)));
      if (tf) eRounds.push(await watched(`e images (round ${r})`, () => tf.images(slice)));
    }
    const sum = (xs: readonly { images: number; seconds: number }[]) => ({
      images: xs.reduce((t, v) => t + v.images, 0),
      seconds: xs.reduce((t, v) => t + v.seconds, 0),
    });
    const c = sum(cRounds);
    const byNice: Record<string, number> = {};
    for (const m of cRounds) for (const [k, v] of Object.entries(m.nice.cpuSecondsByNice)) byNice[k] = Math.round(((byNice[k] ?? 0) + v) * 100) / 100;
    images = { imagesPerSecond: c.images / c.seconds, ...c, nice: { cpuSecondsByNice: byNice, busiest: cRounds[0]!.nice.busiest } };
    const perRound = (xs: readonly { images: number; seconds: number }[]) => xs.map((v) => (v.images / v.seconds).toFixed(1)).join(', ');
    log(
      `c  embedImages full load               ${images.imagesPerSecond.toFixed(1)} images/s  (${images.images} images in ${images.seconds.toFixed(1)} s, ` +
        `${IN_FLIGHT} in flight; rounds ${perRound(cRounds)})`,
    );

    let textSamples: number[] = [];
    loadedImages = await watched('d', () =>
      measureImages(encoder, files, SECONDS, async () => {
        textSamples = await timeLoop(SECONDS, 0, embedOne);
      }),
    );
    loaded = summarize(textSamples);
    log(
      `d  embedText during (c)                p50 ${ms(loaded.p50)}  p95 ${ms(loaded.p95)}  n=${loaded.n}  p95 vs (b) p50 ${x(loaded.p95 / idle.p50)}` +
        `  (images meanwhile ${loadedImages.imagesPerSecond.toFixed(1)}/s)`,
    );
    const niceLine = (r: NiceReport) =>
      Object.entries(r.cpuSecondsByNice)
        .sort(([p], [q]) => Number(q) - Number(p))
        .map(([n, s]) => `nice ${n}: ${s.toFixed(1)} s`)
        .join(', ');
    log(`   CPU by thread nice during (c): ${niceLine(images.nice)} of ${(images.seconds * os.cpus().length).toFixed(0)} core-s; during (d): ${niceLine(loadedImages.nice)}`);
    log(`   busiest threads during (d): ${loadedImages.nice.busiest.map((t) => `${t.comm}#${t.tid} nice ${t.nice} ${t.cpuSeconds.toFixed(1)} s`).join(', ')}`);

    if (tf) {
      const e = sum(eRounds);
      const text = await watched('e text', () => tf.text());
      tfjs = { imagesPerSecond: e.images / e.seconds, ...e, text };
      log(
        `e  transformers.js                     ${tfjs.imagesPerSecond.toFixed(1)} images/s (batches of ${TRANSFORMERS_BATCH}, ${tfjs.images} images; rounds ${perRound(eRounds)})` +
          `  text p50 ${ms(text.p50)}  p95 ${ms(text.p95)}  |  Fieldscope/transformers.js images/s ${x(images.imagesPerSecond / tfjs.imagesPerSecond)}`,
      );
    }
  } finally {
    await Promise.all([encoder.close(), tf?.release()]);
  }

  const checks = [
    {
      name: 'images/s ≥ 1.25 × transformers.js',
      pass: tfjs ? images.imagesPerSecond >= 1.25 * tfjs.imagesPerSecond : null,
      detail: tfjs
        ? `${images.imagesPerSecond.toFixed(1)} vs ${tfjs.imagesPerSecond.toFixed(1)} images/s = ${x(images.imagesPerSecond / tfjs.imagesPerSecond)} (need ≥ 1.25×)`
        : 'transformers.js skipped',
    },
    {
      name: 'embedText p50 ≤ 1.2 × bare session.run p50',
      pass: idle.p50 <= 1.2 * bare.p50,
      detail: `${ms(idle.p50)} vs ${ms(bare.p50)} = ${x(idle.p50 / bare.p50)} (need ≤ 1.20×)`,
    },
    {
      name: 'embedText p95 under image load ≤ 3 × idle p50',
      pass: loaded.p95 <= 3 * idle.p50,
      detail: `${ms(loaded.p95)} vs ${ms(idle.p50)} = ${x(loaded.p95 / idle.p50)} (need ≤ 3.00×)`,
    },
  ];
  log('summary');
  for (const c of checks) log(`  ${c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  if (foreignNotes.length > 0) log(`  (the machine was shared during ${foreignNotes.length} phase(s): rerun when it is quiet)`);

  if (JSON_OUT) {
    console.log(
      JSON.stringify(
        {
          model: spec.dir,
          images: { source, count: files.length },
          seconds: SECONDS,
          cpus: os.cpus().length,
          encoder: { ...encoderOptions, imageLimits: undefined, inFlight: IN_FLIGHT },
          bareSessionRun: bare,
          embedTextIdle: { ...idle, p50VsBare: idle.p50 / bare.p50 },
          embedImages: { imagesPerSecond: images.imagesPerSecond, images: images.images, seconds: images.seconds, cpuSecondsByNice: images.nice.cpuSecondsByNice },
          embedTextUnderImageLoad: {
            ...loaded,
            p95VsIdleP50: loaded.p95 / idle.p50,
            imagesPerSecond: loadedImages.imagesPerSecond,
            cpuSecondsByNice: loadedImages.nice.cpuSecondsByNice,
            busiestThreads: loadedImages.nice.busiest,
          },
          transformersJs: tfjs && { imagesPerSecond: tfjs.imagesPerSecond, batch: TRANSFORMERS_BATCH, text: tfjs.text, ratio: images.imagesPerSecond / tfjs.imagesPerSecond },
          checks,
          warnings: foreignNotes,
        },
        null,
        2,
      ),
    );
  }
}

await main();
