/**
 * Conformance with the PyTorch reference: the shared tiny CLIP model, its reference embeddings
 * for real photos (PIL preprocessing) and golden strings, and the original OpenAI tokenizer's ids.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { ClipTokenizer } from '../../src/clip/tokenize.js';
import { loadEncoder } from '../helpers/encoder.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';
import { resolveModelFolder } from '../../src/clip/model-files.js';
import { quadrantImage } from '../helpers/images.js';
import { cosine, describeWithShared, REPO_ROOT, sharedPath } from '../helpers/shared.js';

const readJson = <T>(...p: string[]): T => JSON.parse(readFileSync(sharedPath(...p), 'utf8')) as T;

describeWithShared('CLIP conformance with the PyTorch reference (shared tiny-random model)', () => {
  let encoder: OnnxClipEncoder;
  beforeAll(async () => {
    encoder = await loadEncoder(sharedPath('clip', 'tiny-random'));
  });
  afterAll(async () => {
    await encoder?.close();
  });

  it('reports the vector size the graph produces', () => {
    expect(encoder.model.dim).toBe(64);
  });

  const photos = readdirSync(sharedPath('fixtures', 'photos'));
  it.each(photos)('image embedding of %s is within cosine 0.995 of PyTorch', async (name) => {
    const reference = readJson<Record<string, number[]>>('clip', 'tiny-random', 'reference_image_embeds.json')[name];
    expect(reference, `reference for ${name}`).toBeDefined();
    const [vector] = await encoder.embedImages([readFileSync(sharedPath('fixtures', 'photos', name))]);
    expect(cosine(vector!, reference!)).toBeGreaterThanOrEqual(0.995);
  });

  it('text embeddings of every golden string are within cosine 0.9999 of PyTorch', async () => {
    const refs = readJson<{ text: string; input_ids: number[]; text_embeds: number[] }[]>('clip', 'tiny-random', 'reference_text_embeds.json');
    const vectors = await encoder.embedTexts(refs.map((r) => r.text));
    refs.forEach((r, i) => {
      expect(cosine(vectors[i]!, r.text_embeds), r.text).toBeGreaterThanOrEqual(0.9999);
    });
  });

  it('returns L2-normalised vectors', async () => {
    const [t] = await encoder.embedTexts(['unit length please']);
    const norm = Math.sqrt(t!.reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 5);
  });
});

describeWithShared('CLIP tokenizer against the original OpenAI tokenizer', () => {
  const tokenizer = new ClipTokenizer({
    tokenizerJson: readJson('clip', 'tokenizer', 'tokenizer.json'),
    tokenizerConfigJson: readJson('clip', 'tokenizer', 'tokenizer_config.json'),
  });
  const golden = readJson<{ text: string; ids: number[] }[]>('clip', 'tokenizer', 'golden-ids.json');

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

describe('quantized variant of the bundled tiny model', () => {
  it('loads onnx/*_quantized.onnx and stays close to fp32', async () => {
    const fp32 = await loadEncoder(TINY_MODEL_DIR);
    const int8 = await loadEncoder(TINY_MODEL_DIR, {}, 'quantized');
    try {
      expect(int8.model.id).toBe('tiny-clip-quantized');
      const texts = ['replace the O-ring on pump P-200', 'a corroded gate valve'];
      const [a, b] = [await fp32.embedTexts(texts), await int8.embedTexts(texts)];
      texts.forEach((_, i) => expect(cosine(a[i]!, b[i]!)).toBeGreaterThan(0.99));
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
