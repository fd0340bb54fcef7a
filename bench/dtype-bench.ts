/**
 * `npm run bench:dtype`: CLIP_DTYPE=q8 against fp32 on one model folder, in one run: images/s and
 * texts/s of the encoder at full load (in-process, the server's encoder settings, cache off), and
 * the cosine of q8 vectors to fp32 ones on the test photos and the golden strings. Rounds
 * alternate (fp32, q8, fp32, q8) so a drift in the machine's speed hits both alike; CPU ms per item
 * is printed too, steadier than items/s on a shared machine.
 *
 *   npm run bench:dtype -- --model DIR [--seconds 10] [--rounds 2] [--out FILE]
 *
 * The folder needs onnx/*_model_quantized.onnx: `/usr/bin/python3 models/scripts/quantize_clip.py DIR`.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxClipEncoder, type EncoderOptions } from '../src/clip/clip-encoder.js';
import { resolveModelFolder, type ModelVariant } from '../src/clip/model-files.js';
import { loadConfig } from '../src/config.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: '.bench/clip-b32' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    out: { type: 'string' },
  },
  strict: true,
});
const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MODEL_DIR = path.resolve(REPO_ROOT, args.model);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const OUT = path.resolve(args.out ?? path.join(REPO_ROOT, '.bench', `dtype-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
const REFERENCE = path.join(REPO_ROOT, 'test', 'fixtures', 'reference');

const config = loadConfig(process.env);
const options: EncoderOptions = {
  ...config.encoder,
  backgroundTextWorker: false,
  cacheSize: 0, // every call is real work
  imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
};

const photos = readdirSync(path.join(REFERENCE, 'photos'))
  .sort()
  .map((f) => new Uint8Array(readFileSync(path.join(REFERENCE, 'photos', f))));
const golden = (JSON.parse(readFileSync(path.join(REFERENCE, 'clip-tokenizer', 'golden-ids.json'), 'utf8')) as { text: string }[]).map((g) => g.text);
const sentence = (i: number) => `a worn seal on pump number ${i % 97} near the ${['inlet', 'outlet', 'gearbox', 'motor'][i % 4]} side`;

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Keeps `inFlight` calls of `fn` going for `seconds`; returns items/s and CPU ms per item. */
async function load(seconds: number, inFlight: number, fn: (i: number) => Promise<number>) {
  let items = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const c0 = cpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        const done = await fn(next++);
        items += done;
      }
    }),
  );
  const took = (performance.now() - t0) / 1000;
  return { perSecond: items / took, cpuMsPerItem: (cpuMs() - c0) / items };
}

async function measure(variant: ModelVariant, seconds: number) {
  const encoder = await OnnxClipEncoder.load(await resolveModelFolder(MODEL_DIR, variant), options);
  try {
    const images = await load(seconds, 2 * options.imageBatch, async (i) => (await encoder.embedImages([photos[i % photos.length]!])).length);
    const texts = await load(seconds, 2, async (i) => (await encoder.embedTexts(Array.from({ length: 32 }, (_, k) => sentence(i * 32 + k)))).length);
    const vectors = { images: await encoder.embedImages(photos), texts: await encoder.embedTexts(golden) };
    return { images, texts, vectors };
  } finally {
    await encoder.close();
  }
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((t, v, i) => t + v * b[i]!, 0);
const mean = (xs: number[]) => xs.reduce((t, v) => t + v, 0) / xs.length;

console.log(`model ${MODEL_DIR}, ${os.cpus().length} CPUs, ${SECONDS} s per phase, ${ROUNDS} rounds; encoder imageThreads=${options.imageThreads} imageBatch=${options.imageBatch} textThreads=${options.textThreads}`);
const results: Record<ModelVariant, Awaited<ReturnType<typeof measure>>[]> = { fp32: [], quantized: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const variant of ['fp32', 'quantized'] as const) {
    const m = await measure(variant, SECONDS / ROUNDS);
    results[variant].push(m);
    console.log(
      `round ${r + 1} ${variant === 'fp32' ? 'fp32' : 'q8  '}: ${m.images.perSecond.toFixed(1)} images/s (${m.images.cpuMsPerItem.toFixed(1)} CPU ms each), ` +
        `${m.texts.perSecond.toFixed(1)} texts/s (${m.texts.cpuMsPerItem.toFixed(1)} CPU ms each)  [loadavg ${os.loadavg()[0]!.toFixed(1)}]`,
    );
  }
}
const avg = (v: ModelVariant, k: 'images' | 'texts', f: 'perSecond' | 'cpuMsPerItem') => mean(results[v].map((m) => m[k][f]));
const [f, q] = [results.fp32[0]!.vectors, results.quantized[0]!.vectors];
const parity = { images: mean(f.images.map((v, i) => dot(v, q.images[i]!))), texts: mean(f.texts.map((v, i) => dot(v, q.texts[i]!))) };
const report = {
  when: new Date().toISOString(),
  model: MODEL_DIR,
  cpus: os.cpus().length,
  loadavg: os.loadavg(),
  encoder: { imageThreads: options.imageThreads, imageBatch: options.imageBatch, textThreads: options.textThreads },
  fp32: { imagesPerSecond: avg('fp32', 'images', 'perSecond'), textsPerSecond: avg('fp32', 'texts', 'perSecond'), imageCpuMs: avg('fp32', 'images', 'cpuMsPerItem'), textCpuMs: avg('fp32', 'texts', 'cpuMsPerItem') },
  q8: { imagesPerSecond: avg('quantized', 'images', 'perSecond'), textsPerSecond: avg('quantized', 'texts', 'perSecond'), imageCpuMs: avg('quantized', 'images', 'cpuMsPerItem'), textCpuMs: avg('quantized', 'texts', 'cpuMsPerItem') },
  meanCosineQ8ToFp32: { ...parity, photos: photos.length, strings: golden.length },
};
const ratio = (k: 'imagesPerSecond' | 'textsPerSecond' | 'imageCpuMs' | 'textCpuMs') => report.q8[k] / report.fp32[k];
console.log(
  `q8 / fp32: images/s ${ratio('imagesPerSecond').toFixed(2)}× (CPU per image ${ratio('imageCpuMs').toFixed(2)}×), texts/s ${ratio('textsPerSecond').toFixed(2)}× (CPU per text ${ratio('textCpuMs').toFixed(2)}×); ` +
    `mean cosine to fp32: photos ${parity.images.toFixed(4)}, strings ${parity.texts.toFixed(4)}`,
);
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
console.log(`report ${OUT}`);
