import { describe, expect, it } from 'vitest';
import { centerCropOffset, cropRgb, parsePreprocessorConfig, resizedSize, rgbToNormalizedChw } from '../../src/clip/preprocess.js';

const CLIP_CONFIG = {
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  rescale_factor: 1 / 255,
  size: { shortest_edge: 224 },
};

describe('preprocessor_config.json parsing', () => {
  it('reads the CLIP config with upstream field names', () => {
    const cfg = parsePreprocessorConfig(CLIP_CONFIG);
    expect(cfg).toMatchObject({ resize: { kind: 'shortest_edge', size: 224 }, kernel: 'cubic', crop: { width: 224, height: 224 }, outputWidth: 224, outputHeight: 224 });
  });

  it('accepts the older integer forms of size and crop_size', () => {
    const cfg = parsePreprocessorConfig({ ...CLIP_CONFIG, size: 256, crop_size: 224 });
    expect(cfg.resize).toEqual({ kind: 'shortest_edge', size: 256 });
    expect(cfg.crop).toEqual({ width: 224, height: 224 });
  });

  it('refuses what it cannot honour, saying what', () => {
    expect(() => parsePreprocessorConfig({ ...CLIP_CONFIG, resample: 9 })).toThrow(/resample/);
    expect(() => parsePreprocessorConfig({ ...CLIP_CONFIG, size: { shortest_edge: 200 } })).toThrow(/larger than shortest_edge/);
    expect(() => parsePreprocessorConfig({ ...CLIP_CONFIG, image_std: [0, 1, 1] })).toThrow();
  });
});

describe('resize and crop geometry (as transformers computes it)', () => {
  it('scales the short side to the target and truncates the long side', () => {
    expect(resizedSize(640, 480, { kind: 'shortest_edge', size: 224 })).toEqual({ width: 298, height: 224 });
    expect(resizedSize(480, 640, { kind: 'shortest_edge', size: 224 })).toEqual({ width: 224, height: 298 });
    expect(resizedSize(100, 100, { kind: 'shortest_edge', size: 224 })).toEqual({ width: 224, height: 224 });
    expect(resizedSize(1000, 10, { kind: 'shortest_edge', size: 224 })).toEqual({ width: 22400, height: 224 });
  });

  it('centres the crop, rounding the offset down', () => {
    expect(centerCropOffset(298, 224, { width: 224, height: 224 })).toEqual({ left: 37, top: 0 });
    expect(centerCropOffset(225, 227, { width: 224, height: 224 })).toEqual({ left: 0, top: 1 });
  });
});

describe('normalisation to a planar tensor', () => {
  it('rescales, subtracts the mean and divides by the std, per channel, HWC → CHW', () => {
    const rgb = Uint8Array.from([255, 0, 128, 0, 255, 64]); // two pixels
    const out = rgbToNormalizedChw(rgb, 2, 1, { rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1] });
    expect(Array.from(out)).toEqual([
      expect.closeTo(1, 6), expect.closeTo(-1, 6), // R plane
      expect.closeTo(-2, 6), expect.closeTo(2, 6), // G plane
      expect.closeTo(128 / 255 - 0.5, 6), expect.closeTo(64 / 255 - 0.5, 6), // B plane
    ]);
  });

  it('writes into a batch tensor at an offset without touching the rest', () => {
    const batch = new Float32Array(12).fill(9);
    rgbToNormalizedChw(Uint8Array.from([0, 0, 0, 0, 0, 0]), 2, 1, { rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] }, batch, 6);
    expect(Array.from(batch)).toEqual([9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects a pixel buffer of the wrong size', () => {
    expect(() => rgbToNormalizedChw(new Uint8Array(5), 2, 1, { rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] })).toThrow(/expected 6/);
  });
});

describe('cropRgb (the centre crop, cut after sharp has resized)', () => {
  // A 5×4 image whose every byte says where it came from: R = x, G = y, B = 7.
  const width = 5;
  const height = 4;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set([x, y, 7], (y * width + x) * 3);

  it('copies exactly the rectangle at the offset', () => {
    const out = cropRgb(rgb, width, height, { left: 1, top: 2 }, { width: 3, height: 2 });
    expect([...out]).toEqual([1, 2, 7, 2, 2, 7, 3, 2, 7, 1, 3, 7, 2, 3, 7, 3, 3, 7]);
  });

  it('is the identity when the crop is the whole image', () => {
    expect(cropRgb(rgb, width, height, { left: 0, top: 0 }, { width, height })).toBe(rgb);
  });

  it('with centerCropOffset takes the same pixels as transformers centre crop', () => {
    const at = centerCropOffset(width, height, { width: 2, height: 2 });
    expect(at).toEqual({ left: 1, top: 1 });
    expect([...cropRgb(rgb, width, height, at, { width: 2, height: 2 })]).toEqual([1, 1, 7, 2, 1, 7, 1, 2, 7, 2, 2, 7]);
  });

  it('refuses a rectangle that does not fit', () => {
    expect(() => cropRgb(rgb, width, height, { left: 3, top: 0 }, { width: 3, height: 2 })).toThrow(RangeError);
    expect(() => cropRgb(rgb, width, height, { left: 0, top: -1 }, { width: 3, height: 2 })).toThrow(RangeError);
  });
});
