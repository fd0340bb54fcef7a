/**
 * Conformance with the PyTorch reference, on data committed with the repo (test/fixtures/reference,
 * sources and licences in its README; models/tiny-clip/reference.json):
 *  - real photos (PIL preprocessing) through the project's own decode + preprocessing and the
 *    shared tiny random model's vision graph (only that graph is committed: its text graph is
 *    13 MB of token embeddings);
 *  - the bundled tiny model's text and image outputs against PyTorch (make_tiny_clip.py);
 *  - the real CLIP vocabulary against the original OpenAI tokenizer's ids.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { ClipTokenizer } from '../../src/clip/tokenize.js';
import { decodeToClipRgb } from '../../src/clip/image-decode.js';
import { parsePreprocessorConfig, rgbToNormalizedChw } from '../../src/clip/preprocess.js';
import { loadEncoder } from '../helpers/encoder.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';
import { resolveModelFolder } from '../../src/clip/model-files.js';
import { quadrantImage } from '../helpers/images.js';
import { cosine, readReferenceJson, REPO_ROOT, referencePath } from '../helpers/shared.js';

async function runVision(session: ort.InferenceSession, pixels: Float32Array, size: number): Promise<Float32Array> {
  const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, size, size]) });
  return out.image_embeds!.data as Float32Array;
}

describe('real photos: decode + preprocessing + vision graph against PyTorch/PIL (tiny random model)', () => {
  const dir = referencePath('tiny-random-vision');
  const cfg = parsePreprocessorConfig(readReferenceJson('tiny-random-vision', 'preprocessor_config.json'));
  const references = readReferenceJson<Record<string, number[]>>('tiny-random-vision', 'reference_image_embeds.json');
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(path.join(dir, 'vision_model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  });
  afterAll(async () => {
    await session?.release();
  });

  const photos = readdirSync(referencePath('photos')).sort();
  it('has a reference for every committed photo (colour, greyscale, scanned page, JPEG)', () => {
    expect(photos).toEqual(Object.keys(references).sort());
    expect(photos.length).toBeGreaterThanOrEqual(5);
  });

  it.each(photos)('image embedding of %s is within cosine 0.995 of PyTorch', async (name) => {
    const rgb = await decodeToClipRgb(readFileSync(referencePath('photos', name)), cfg, { maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000 });
    const vector = await runVision(session, rgbToNormalizedChw(rgb, cfg.outputWidth, cfg.outputHeight, cfg), cfg.outputWidth);
    expect(vector).toHaveLength(64);
    expect(cosine(vector, references[name]!)).toBeGreaterThanOrEqual(0.995);
  });
});

describe('the bundled tiny model against its PyTorch outputs (models/tiny-clip/reference.json)', () => {
  const reference = JSON.parse(readFileSync(path.join(TINY_MODEL_DIR, 'reference.json'), 'utf8')) as {
    texts: { text: string; input_ids: number[]; text_embeds: number[] }[];
    images: { k: number; image_embeds: number[] }[];
  };
  let encoder: OnnxClipEncoder;
  beforeAll(async () => {
    encoder = await loadEncoder(TINY_MODEL_DIR);
  });
  afterAll(async () => {
    await encoder?.close();
  });

  it('text embeddings (tokenizer + text graph through the encoder) are within cosine 0.9999', async () => {
    expect(reference.texts.length).toBeGreaterThanOrEqual(5);
    const vectors = await encoder.embedTexts(reference.texts.map((r) => r.text));
    reference.texts.forEach((r, i) => expect(cosine(vectors[i]!, r.text_embeds), r.text).toBeGreaterThanOrEqual(0.9999));
  });

  it('image embeddings of the formula images (the vision graph) are within cosine 0.9999', async () => {
    const session = await ort.InferenceSession.create(path.join(TINY_MODEL_DIR, 'onnx', 'vision_model.onnx'), { intraOpNumThreads: 1 });
    try {
      for (const { k, image_embeds } of reference.images) {
        // The formula written in reference.json.
        const size = 224;
        const pixels = new Float32Array(3 * size * size);
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < size; y++)
            for (let x = 0; x < size; x++) pixels[(c * size + y) * size + x] = ((x * (c + k) + y * (2 * k + 1) + ((x * y) % 7)) % 33) / 16 - 1;
        expect(cosine(await runVision(session, pixels, size), image_embeds), `k=${k}`).toBeGreaterThanOrEqual(0.9999);
      }
    } finally {
      await session.release();
    }
  });

  it('returns L2-normalised vectors', async () => {
    const [t] = await encoder.embedTexts(['unit length please']);
    const norm = Math.sqrt(t!.reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 5);
  });
});

describe('CLIP tokenizer with the real vocabulary against the original OpenAI tokenizer', () => {
  const tokenizer = new ClipTokenizer({
    tokenizerJson: readReferenceJson('clip-tokenizer', 'tokenizer.json.gz'),
    tokenizerConfigJson: readReferenceJson('clip-tokenizer', 'tokenizer_config.json'),
  });
  const golden = readReferenceJson<{ text: string; ids: number[] }[]>('clip-tokenizer', 'golden-ids.json');

  it('has the 23 golden strings', () => {
    expect(golden).toHaveLength(23);
  });

  it.each(golden.map((g) => [JSON.stringify(g.text).slice(0, 60), g] as const))('ids of %s', (_label, g) => {
    const ids = tokenizer.encode(g.text, 77);
    expect(ids[0]).toBe(49406);
    expect(ids.at(-1)).toBe(49407);
    expect(ids.slice(1, -1)).toEqual(g.ids);
  });

  it('truncates long text to 77 ids and keeps the end token', () => {
    const ids = tokenizer.encode('valve '.repeat(200), 77);
    expect(ids).toHaveLength(77);
    expect(ids.at(-1)).toBe(49407);
  });
});

describe('q8 (CLIP_DTYPE=q8) of the bundled tiny model: int8 files made by models/scripts/quantize_clip.py', () => {
  it('the committed *_quantized.onnx files compute in int8 (dynamic quantization), not weight-only', () => {
    for (const part of ['vision', 'text']) {
      const bytes = readFileSync(path.join(TINY_MODEL_DIR, 'onnx', `${part}_model_quantized.onnx`));
      // Op types are plain strings in the ONNX protobuf.
      expect(bytes.includes('MatMulInteger'), part).toBe(true);
      expect(bytes.includes('DynamicQuantizeLinear'), part).toBe(true);
    }
  });

  it('mean cosine to fp32 >= 0.99 on the test photos and the golden strings', async () => {
    const fp32 = await loadEncoder(TINY_MODEL_DIR);
    const int8 = await loadEncoder(TINY_MODEL_DIR, {}, 'quantized');
    try {
      expect(int8.model.id).toBe('tiny-clip-quantized');
      const texts = readReferenceJson<{ text: string }[]>('clip-tokenizer', 'golden-ids.json').map((g) => g.text);
      const photos = readdirSync(referencePath('photos')).sort().map((name) => readFileSync(referencePath('photos', name)));
      expect(texts.length).toBeGreaterThanOrEqual(20);
      expect(photos.length).toBeGreaterThanOrEqual(5);
      const mean = (a: Float32Array[], b: Float32Array[]) => a.reduce((t, v, i) => t + cosine(v, b[i]!), 0) / a.length;
      const textCos = mean(await fp32.embedTexts(texts), await int8.embedTexts(texts));
      const imageCos = mean(await fp32.embedImages(photos), await int8.embedImages(photos));
      expect(textCos).toBeGreaterThanOrEqual(0.99);
      expect(imageCos).toBeGreaterThanOrEqual(0.99);
    } finally {
      await Promise.all([fp32.close(), int8.close()]);
    }
  });
});

describe('open_clip export layout through its manifest', () => {
  const OPENCLIP_DIR = path.join(REPO_ROOT, 'models', 'tiny-clip-openclip');

  it('loads visual.onnx/textual.onnx with fixed [N,77] ids and no mask, giving the same vectors as the HF export of the same weights', async () => {
    const openclip = await loadEncoder(OPENCLIP_DIR);
    const hf = await loadEncoder(TINY_MODEL_DIR);
    try {
      expect(openclip.model).toMatchObject({ id: 'tiny-clip-openclip', dim: 32 });
      const texts = ['a photo of a pump', 'replace the seal '.repeat(30)];
      const [a, b] = [await openclip.embedTexts(texts), await hf.embedTexts(texts)];
      texts.forEach((_, i) => expect(cosine(a[i]!, b[i]!)).toBeGreaterThan(0.9999));
      const png = await (await quadrantImage(300, 200)).png().toBuffer();
      const [[x], [y]] = [await openclip.embedImages([png]), await hf.embedImages([png])];
      expect(cosine(x!, y!)).toBeGreaterThan(0.9999);
    } finally {
      await Promise.all([openclip.close(), hf.close()]);
    }
  });

  it('refuses an open_clip folder without a manifest instead of guessing its tensors', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'openclip-'));
    cpSync(OPENCLIP_DIR, dir, { recursive: true });
    rmSync(path.join(dir, 'fieldscope-model.json'));
    await expect(resolveModelFolder(dir)).rejects.toThrow(/open_clip export.*fieldscope-model\.json/s);
  });
});
