/**
 * Issue 14: the image encoder sends 8-bit RGB to its ONNX worker, which builds the normalised
 * float tensor itself (off the main thread that serves text queries). The worker's tensor must be
 * the one the main thread used to build: same embeddings, bit for bit, as a float32 feed
 * normalised with rgbToNormalizedChw; and a batch whose bytes do not fit its shape is refused.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxSessionWorker } from '../../src/clip/onnx-session-worker.js';
import { rgbToNormalizedChw } from '../../src/clip/preprocess.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const SIZE = 224;
const PLANE = SIZE * SIZE;
const normalize = { rescale: 1 / 255, mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] };

/** Two different images, RGB bytes one after the other. */
function twoImages(): Uint8Array {
  const rgb = new Uint8Array(2 * 3 * PLANE);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 31 + (i >> 9) * 7) % 256;
  return rgb;
}

describe('ONNX worker: rgb8 feeds', () => {
  let worker: OnnxSessionWorker;
  beforeAll(async () => {
    worker = await OnnxSessionWorker.start({
      modelPath: path.join(TINY_MODEL_DIR, 'onnx', 'vision_model.onnx'),
      displayName: 'onnx/vision_model.onnx',
      threads: 1,
      nice: 0,
      inputs: ['pixel_values'],
      output: 'image_embeds',
    });
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('gives the same embeddings, bit for bit, as the float tensor normalised on the calling thread', async () => {
    const rgb = twoImages();
    const floats = new Float32Array(2 * 3 * PLANE);
    for (let i = 0; i < 2; i++) rgbToNormalizedChw(rgb.subarray(i * 3 * PLANE, (i + 1) * 3 * PLANE), SIZE, SIZE, normalize, floats, i * 3 * PLANE);
    const dims = [2, 3, SIZE, SIZE];
    const expected = await worker.run({ pixel_values: { type: 'float32', data: floats.buffer as ArrayBuffer, dims } });
    const got = await worker.run({ pixel_values: { type: 'rgb8', data: twoImages().buffer as ArrayBuffer, dims, normalize } });
    expect(got.dims).toEqual(expected.dims);
    expect(Array.from(got.data)).toEqual(Array.from(expected.data));
    // The two images differ, so a mix-up of their order or offsets would show.
    expect(Array.from(got.data.subarray(0, got.dims[1]))).not.toEqual(Array.from(got.data.subarray(got.dims[1])));
  });

  it('refuses a batch whose bytes do not match its shape, and keeps serving', async () => {
    const short = new Uint8Array(3 * PLANE - 1);
    await expect(worker.run({ pixel_values: { type: 'rgb8', data: short.buffer as ArrayBuffer, dims: [1, 3, SIZE, SIZE], normalize } })).rejects.toThrow(/RGB bytes/);
    const ok = await worker.run({ pixel_values: { type: 'rgb8', data: new Uint8Array(3 * PLANE).fill(128).buffer as ArrayBuffer, dims: [1, 3, SIZE, SIZE], normalize } });
    expect(ok.dims[0]).toBe(1);
  });
});
