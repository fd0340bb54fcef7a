/**
 * Scheduling behaviour a user notices: an interactive text query is answered while a large
 * batch of images or of background (ingest) texts is still being embedded, not after it.
 * Ordering, not timing, is asserted, so the test holds on a slow or busy machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { loadEncoder } from '../helpers/encoder.js';
import { jpeg } from '../helpers/images.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

describe('encoder scheduling', () => {
  let encoder: OnnxClipEncoder;
  beforeAll(async () => {
    encoder = await loadEncoder(TINY_MODEL_DIR, { backgroundTextWorker: true, imageBatch: 4, cacheSize: 0 });
  });
  afterAll(async () => {
    await encoder?.close();
  });

  it('answers a text query while a large image batch is still running', async () => {
    const images = await Promise.all(Array.from({ length: 48 }, (_, i) => jpeg(400 + i, 300)));
    let imagesDone = false;
    const imageWork = encoder.embedImages(images).then(() => (imagesDone = true));
    await new Promise((r) => setTimeout(r, 5));
    const [vector] = await encoder.embedTexts(['what is this valve?']);
    expect(vector).toHaveLength(32);
    expect(imagesDone).toBe(false);
    await imageWork;
  });

  it('answers an interactive query while background (ingest) texts are queued on their own lane', async () => {
    const chunks = Array.from({ length: 2000 }, (_, i) => `chunk ${i} of a long maintenance manual about pump seals and valve seats`.repeat(3));
    let backgroundDone = false;
    const background = encoder.embedTexts(chunks, { priority: 'background' }).then(() => (backgroundDone = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(encoder.queueDepth().backgroundText).toBeGreaterThan(0);
    await encoder.embedTexts(['replace the seal on the P-200 pump']);
    expect(backgroundDone).toBe(false);
    await background;
  });

  it('counts tokens without the start and end tokens', () => {
    expect(encoder.countTokens('')).toBe(0);
    expect(encoder.countTokens('pump')).toBeGreaterThan(0);
    expect(encoder.countTokens('valve '.repeat(200))).toBeGreaterThan(75);
  });
});
