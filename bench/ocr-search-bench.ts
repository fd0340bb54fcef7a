/**
 * search(image:) latency with and without reading the photo: the server as `npm start` builds it
 * (real HTTP on 127.0.0.1, the demo knowledge base, the CLIP model CLIP_MODEL names, else the
 * bundled test model), once with OCR=on and once with OCR=off, the same photos searched one at a
 * time as a technician would: the committed photographed nameplate and part label (1280×960 JPEG)
 * and a photo with no writing. Prints p50/p95 per mode and what OCR adds.
 *
 *   npx tsx bench/ocr-search-bench.ts [--rounds 8]
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server/start-server.js';
import { renderNoTextPhoto } from '../test/helpers/ocr-images.js';
import { gqlUpload, TINY_MODEL_DIR } from '../test/helpers/server.js';
import { percentile } from './synthetic-corpus.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const rounds = Number(arg('rounds', '8'));
const fixtures = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'ocr');
const photos: [string, Uint8Array][] = [
  ['nameplate', readFileSync(path.join(fixtures, 'nameplate-photo.jpg'))],
  ['part label', readFileSync(path.join(fixtures, 'part-label-photo.jpg'))],
  ['no writing', await renderNoTextPhoto(1280, 960)],
];
const SEARCH = 'query($image: Upload!) { search(image: $image, limit: 5) { noGoodMatch readText { identifiers } hits { matchedBy document { title } } } }';

async function measure(ocr: 'on' | 'off'): Promise<number[]> {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ocr-search-bench-')),
    CLIP_MODEL: process.env.CLIP_MODEL ?? TINY_MODEL_DIR,
    CLIP_ALLOW_TEST_MODEL: 'true',
    LOAD_DEMO: 'true',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    OCR: ocr,
  });
  const server = await startServer(config);
  try {
    const search = async (bytes: Uint8Array) => {
      const res = await gqlUpload<{ search: { readText: { identifiers: string[] } | null } }>(server.url, SEARCH, { image: { bytes, name: 'photo.jpg', type: 'image/jpeg' } });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data!.search;
    };
    for (const [, bytes] of photos) await search(bytes); // warm-up: lazy OCR workers, ORT arenas
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const [name, bytes] of photos) {
        const started = performance.now();
        const result = await search(bytes);
        times.push(performance.now() - started);
        if (r === 0) process.stdout.write(`  OCR=${ocr} ${name}: read ${JSON.stringify(result.readText?.identifiers ?? null)}\n`);
      }
    }
    return times.sort((a, b) => a - b);
  } finally {
    await server.close();
  }
}

const off = await measure('off');
const on = await measure('on');
const fmt = (ms: number) => `${Math.round(ms)} ms`;
process.stdout.write(`search(image:) over HTTP, ${off.length} searches per mode (${photos.length} photos × ${rounds} rounds), demo knowledge base, ${process.env.CLIP_MODEL ?? 'bundled test CLIP model'}, ${os.cpus().length} cores\n`);
process.stdout.write(`  OCR=off  p50 ${fmt(percentile(off, 50))}  p95 ${fmt(percentile(off, 95))}\n`);
process.stdout.write(`  OCR=on   p50 ${fmt(percentile(on, 50))}  p95 ${fmt(percentile(on, 95))}\n`);
process.stdout.write(`  reading adds p50 ${fmt(percentile(on, 50) - percentile(off, 50))}\n`);
