/**
 * readText latency on 1280×960 photos: a nameplate (several models and part numbers) in a
 * photo-like scene, tilted, blurred, dimmed and saved as JPEG; read one at a time as a technician
 * would, through the same PaddleTextReader the server uses (PP-OCRv4 + zxing-wasm, workers at
 * CLIP_IMAGE_NICE). Prints p50/p95 and identifier recall.
 *
 *   npm run bench:ocr -- [--reads 20] [--threads 2]
 */
import { loadConfig } from '../src/config.js';
import { PaddleTextReader } from '../src/ocr/paddle-text-reader.js';
import { degradePhoto, renderNoTextPhoto, renderPlate } from '../test/helpers/ocr-images.js';
import sharp from 'sharp';
import { percentile } from './synthetic-corpus.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const reads = Number(arg('reads', '20'));
const config = loadConfig({ ...process.env, OCR_THREADS: arg('threads', process.env.OCR_THREADS ?? '2') });
const PLATES = [
  ['MODEL XV-300', 'PART PK-3310', 'SERIAL 55-1234-A'],
  ['TYPE P-200 PUMP', 'REV B4 LOT 7781-C'],
  ['VALVE BV-50', 'DOC SOP-12'],
  ['MOTOR TC-2.1', 'KIT 1200-45'],
];

async function photo(lines: readonly string[]): Promise<Buffer> {
  const plate = await renderPlate(lines, { width: 760, fontSize: 52 });
  const scene = await renderNoTextPhoto(1280, 960);
  const composed = await sharp(scene).composite([{ input: plate, left: 240, top: 300 }]).png().toBuffer();
  return degradePhoto(composed);
}

const reader = await PaddleTextReader.start({
  modelDir: config.ocr.modelDir,
  threads: config.ocr.threads,
  nice: config.encoder.imageNice,
  imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
  queueLimit: 4,
});
try {
  const photos = await Promise.all(PLATES.map((p) => photo(p)));
  await reader.readText(photos[0]!); // warm-up: first runs allocate ORT arenas
  const times: number[] = [];
  let expected = 0;
  let found = 0;
  for (let i = 0; i < reads; i++) {
    const k = i % photos.length;
    const started = performance.now();
    const result = await reader.readText(photos[k]!);
    times.push(performance.now() - started);
    if (i < photos.length) {
      const want = PLATES[k]!.join(' ').match(/[A-Z0-9]+(?:[-.][A-Z0-9]+)+/g) ?? [];
      expected += want.length;
      found += want.filter((w) => result.identifiers.includes(w)).length;
    }
  }
  times.sort((a, b) => a - b);
  process.stdout.write(
    `readText on 1280×960 photos, ${reads} reads, OCR_THREADS=${config.ocr.threads}: p50 ${percentile(times, 50).toFixed(0)} ms, p95 ${percentile(times, 95).toFixed(0)} ms; ` +
      `identifiers read ${found}/${expected}\n`,
  );
} finally {
  await reader.close();
}
