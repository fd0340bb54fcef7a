/**
 * Conformance with the PyTorch reference: the shared tiny CLIP model, its reference embeddings
 * for real photos (PIL preprocessing) and golden strings, and the original OpenAI tokenizer's ids.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { ClipTokenizer } from '../../src/clip/tokenize.js';
import { loadEncoder } from '../helpers/encoder.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';
import { cosine, describeWithShared, sharedPath } from '../helpers/shared.js';

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
