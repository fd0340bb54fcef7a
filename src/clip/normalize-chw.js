// @ts-check
/**
 * Interleaved RGB bytes (HWC) → normalised planar float tensor (CHW), CLIP's last preprocessing
 * step. Plain JavaScript (checked by tsc via @ts-check, types in normalize-chw.d.ts) because both
 * preprocess.ts and the ONNX worker (onnx-worker.js, which also runs under plain node) use it: the
 * image encoder sends 8-bit RGB to its worker and the worker builds the float tensor there, off the
 * main thread that serves text queries (a batch of 8 at 224×224 is ~4 ms of CPU) and at the image
 * workers' lower priority, with a quarter of the bytes to transfer.
 */

/**
 * Writes the tensor into `out` at `offset` (a caller-owned buffer lets a batch be assembled without copies).
 * @param {Uint8Array} rgb
 * @param {number} width
 * @param {number} height
 * @param {{ rescale: number, mean: readonly number[], std: readonly number[] }} cfg
 * @param {Float32Array} [out]
 * @param {number} [offset]
 * @returns {Float32Array}
 */
export function rgbToNormalizedChw(rgb, width, height, cfg, out = new Float32Array(3 * width * height), offset = 0) {
  const plane = width * height;
  if (rgb.length !== plane * 3) throw new Error(`expected ${plane * 3} RGB bytes, got ${rgb.length}`);
  if (out.length < offset + plane * 3) throw new Error('output tensor too small');
  for (let c = 0; c < 3; c++) {
    const scale = cfg.rescale / /** @type {number} */ (cfg.std[c]);
    const shift = /** @type {number} */ (cfg.mean[c]) / /** @type {number} */ (cfg.std[c]);
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = /** @type {number} */ (rgb[i * 3 + c]) * scale - shift;
  }
  return out;
}

/**
 * A batch of `count` images, each `width`×`height` RGB bytes one after the other in `rgb`, as one
 * [count, 3, height, width] float tensor.
 * @param {Uint8Array} rgb
 * @param {number} count
 * @param {number} width
 * @param {number} height
 * @param {{ rescale: number, mean: readonly number[], std: readonly number[] }} cfg
 * @returns {Float32Array}
 */
export function rgbBatchToNormalizedChw(rgb, count, width, height, cfg) {
  const bytes = width * height * 3;
  if (rgb.length !== count * bytes) throw new Error(`expected ${count * bytes} RGB bytes for ${count} images, got ${rgb.length}`);
  const out = new Float32Array(count * bytes);
  for (let i = 0; i < count; i++) rgbToNormalizedChw(rgb.subarray(i * bytes, (i + 1) * bytes), width, height, cfg, out, i * bytes);
  return out;
}
