/**
 * readText over real HTTP (multipart upload), on the server as `npm start` builds it with the
 * real PP-OCRv4 models: identifiers read from a nameplate and from codes, empty lists for a
 * photo with no writing, embedImage's codes for bad images, technician access, and OCR=off.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { pngBomb, SVG } from '../helpers/images.js';
import { degradePhoto, renderCode128, renderNoTextPhoto, renderPlate, renderQr } from '../helpers/ocr-images.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

const READ = 'query Read($image: Upload!) { readText(image: $image) { text identifiers regions { text confidence box } codes { format value } } }';
const TECH_KEY = 'ocr-technician-0123456789abcdefgh';
const auth = { authorization: `Bearer ${TECH_KEY}` };

type ReadTextData = {
  readText: { text: string; identifiers: string[]; regions: { text: string; confidence: number; box: number[] }[]; codes: { format: string; value: string }[] };
};

describe('readText over HTTP', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ocr-'));
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'tess', role: 'technician', tenant: 'acme', keyHash: hashKey(TECH_KEY) }] }));
    server = await startTestServer({ LOAD_DEMO: 'false', AUTH_KEYS_FILE: keysFile, OCR_THREADS: '1' });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const read = (bytes: Uint8Array, name = 'photo.jpg', headers: Record<string, string> = auth) =>
    gqlUpload<ReadTextData>(server.url, READ, { image: { bytes, name, type: 'image/jpeg' } }, {}, headers);

  it('reads the model and part number on a badly photographed nameplate', async () => {
    const res = await read(await degradePhoto(await renderPlate(['MODEL XV-300', 'PART PK-3310'])));
    expect(res.errors).toBeUndefined();
    const out = res.data!.readText;
    expect(out.identifiers).toEqual(['XV-300', 'PK-3310']);
    expect(out.text).toBe('MODEL XV-300\nPART PK-3310');
    expect(out.regions).toHaveLength(2);
    for (const r of out.regions) {
      expect(r.box).toHaveLength(4);
      expect(r.box.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  }, 30_000);

  it('reads the committed README example plate', async () => {
    const res = await read(readFileSync(path.join(import.meta.dirname, '../fixtures/ocr/nameplate.png')), 'nameplate.png');
    expect(res.data!.readText.identifiers).toEqual(expect.arrayContaining(['XV-300', 'PK-3310']));
  }, 30_000);

  it('reports QR codes and barcodes with ZXing format names', async () => {
    const qr = await read(await renderQr('PK-3310'), 'qr.png');
    expect(qr.data!.readText.codes).toEqual([{ format: 'QR_CODE', value: 'PK-3310' }]);
    expect(qr.data!.readText.identifiers).toEqual(['PK-3310']);
    const bar = await read(await renderCode128('SOP-12'), 'bar.png');
    expect(bar.data!.readText.codes).toEqual([{ format: 'CODE_128', value: 'SOP-12' }]);
  }, 30_000);

  it('answers empty lists for a photo with no writing', async () => {
    const res = await read(await renderNoTextPhoto());
    expect(res.errors).toBeUndefined();
    expect(res.data!.readText).toEqual({ text: '', identifiers: [], regions: [], codes: [] });
  }, 30_000);

  it('gives bad images the codes embedImage gives, and stays healthy', async () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'EMPTY_FILE'],
      [new Uint8Array(Buffer.from('<html>not a photo</html>')), 'INVALID_IMAGE'],
      [SVG, 'UNSUPPORTED_MEDIA_TYPE'],
      [pngBomb(), 'IMAGE_TOO_LARGE'],
    ];
    for (const [bytes, code] of cases) {
      expect(errorCode(await read(bytes))).toBe(code);
      const embed = await gqlUpload(server.url, 'query E($image: Upload!) { embedImage(image: $image) { dim } }', { image: { bytes, name: 'photo.jpg' } }, {}, auth);
      expect(errorCode(embed)).toBe(code);
    }
    const health = await gql<{ health: { status: string } }>(server.url, '{ health { status } }', {}, auth);
    expect(health.data?.health.status).toBe('ok');
  }, 60_000);

  it('refuses callers without a key', async () => {
    expect(errorCode(await read(await renderQr('PK-3310'), 'qr.png', {}))).toBe('UNAUTHENTICATED');
  });
});

describe('readText with OCR=off', () => {
  it('answers OCR_DISABLED and everything else works', async () => {
    const server = await startTestServer({ LOAD_DEMO: 'false', OCR: 'off' });
    try {
      const res = await gqlUpload(server.url, READ, { image: { bytes: await renderQr('PK-3310'), name: 'qr.png' } });
      expect(errorCode(res)).toBe('OCR_DISABLED');
      const embed = await gql<{ embedText: { dim: number }[] }>(server.url, '{ embedText(texts: ["PK-3310"]) { dim } }');
      expect(embed.data?.embedText[0]?.dim).toBe(32);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('stops start-up with a clear message when OCR_MODEL_DIR lacks the models', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ocr-empty-'));
    await expect(startTestServer({ LOAD_DEMO: 'false', OCR_MODEL_DIR: empty })).rejects.toThrow(/OCR_MODEL_DIR .* lacks ch_PP-OCRv4_det_infer\.onnx/);
  }, 60_000);
});
