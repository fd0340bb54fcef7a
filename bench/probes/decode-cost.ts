/**
 * Probe: CPU per image of the encoder's decode (`decodeToClipRgb`: header check, sharp decode with
 * shrink-on-load, resize, centre crop), by kind of JPEG, one decode at a time as the encoder does.
 * process.cpuUsage counts every thread (libuv pool, libvips), so the figure holds on a busy machine.
 * Run on two commits to compare:
 *   npx tsx bench/probes/decode-cost.ts [modelDir]   (reads its preprocessor_config.json; default models/tiny-clip)
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeToClipRgb } from '../../src/clip/image-decode.js';
import { parsePreprocessorConfig } from '../../src/clip/preprocess.js';

const modelDir = path.resolve(process.argv[2] ?? 'models/tiny-clip');
const cfg = parsePreprocessorConfig(JSON.parse(readFileSync(path.join(modelDir, 'preprocessor_config.json'), 'utf8')));
const limits = { maxBytes: 100 * 1024 * 1024, maxPixels: 100_000_000 };
const photos = path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'reference', 'photos');
const chelsea = readFileSync(path.join(photos, 'chelsea.png'));
const jpeg = (w: number, h: number) => sharp(chelsea).resize(w, h, { fit: 'fill' }).jpeg({ quality: 88 }).toBuffer();
const twelve = await jpeg(4000, 3000);
const sets: [string, Buffer[]][] = [
  ['0.3-1.9 MP JPEGs (the HTTP bench sizes)', await Promise.all([[640, 480], [1024, 768], [1280, 960], [800, 600], [1600, 1200], [768, 1024]].map(([w, h]) => jpeg(w!, h!)))],
  ['12 MP JPEG', [twelve]],
  ['12 MP JPEG, EXIF orientation 6 (a phone photo held upright)', [await sharp(await sharp(twelve).rotate(270).toBuffer()).withMetadata({ orientation: 6 }).jpeg({ quality: 88 }).toBuffer()]],
  ['hubble_deep_field.jpg (1000x872, Adobe RGB profile)', [readFileSync(path.join(photos, 'hubble_deep_field.jpg'))]],
];
for (const [name, images] of sets) {
  for (const b of images) await decodeToClipRgb(b, cfg, limits);
  const reps = Math.max(3, Math.ceil(24 / images.length));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) for (const b of images) await decodeToClipRgb(b, cfg, limits);
  const cpu = process.cpuUsage(c0);
  const n = reps * images.length;
  console.log(`${name}: ${((cpu.user + cpu.system) / 1000 / n).toFixed(1)} ms CPU, ${((performance.now() - t0) / n).toFixed(1)} ms wall per image (loadavg ${os.loadavg()[0]!.toFixed(1)})`);
}
