/**
 * Image preprocessing maths, driven by the model's own `preprocessor_config.json`
 * (Hugging Face CLIPImageProcessor field names, so a config can be checked against upstream).
 * Pure functions: decoding and resampling happen in image-decode.ts with sharp.
 */
import { z } from 'zod';

const sizeSchema = z.union([
  z.object({ shortest_edge: z.number().int().positive() }),
  z.object({ height: z.number().int().positive(), width: z.number().int().positive() }),
  z.number().int().positive(),
]);

const preprocessorSchema = z.object({
  do_resize: z.boolean().default(true),
  size: sizeSchema.default({ shortest_edge: 224 }),
  /** PIL resample code; 3 = bicubic, the only one CLIP uses. */
  resample: z.number().int().default(3),
  do_center_crop: z.boolean().default(true),
  crop_size: z
    .union([z.object({ height: z.number().int().positive(), width: z.number().int().positive() }), z.number().int().positive()])
    .default({ height: 224, width: 224 }),
  do_rescale: z.boolean().default(true),
  rescale_factor: z.number().positive().default(1 / 255),
  do_normalize: z.boolean().default(true),
  image_mean: z.tuple([z.number(), z.number(), z.number()]).default([0.48145466, 0.4578275, 0.40821073]),
  image_std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([0.26862954, 0.26130258, 0.27577711]),
  do_convert_rgb: z.boolean().default(true),
});

export type PreprocessorConfigJson = z.input<typeof preprocessorSchema>;

export interface ImagePreprocessConfig {
  resize: { kind: 'shortest_edge'; size: number } | { kind: 'exact'; width: number; height: number } | null;
  kernel: 'cubic' | 'linear' | 'nearest' | 'lanczos3';
  crop: { width: number; height: number } | null;
  /** Applied as (pixel * rescale - mean[c]) / std[c]. */
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Final tensor size (what the vision graph expects). */
  outputWidth: number;
  outputHeight: number;
}

const KERNELS: Record<number, ImagePreprocessConfig['kernel']> = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic' };

/** Parses and validates preprocessor_config.json; throws a readable message on anything we cannot honour. */
export function parsePreprocessorConfig(json: unknown): ImagePreprocessConfig {
  const c = preprocessorSchema.parse(json);
  const kernel = KERNELS[c.resample];
  if (!kernel) throw new Error(`unsupported resample mode ${c.resample} (expected 0, 1, 2 or 3)`);

  let resize: ImagePreprocessConfig['resize'] = null;
  if (c.do_resize) {
    if (typeof c.size === 'number') resize = { kind: 'shortest_edge', size: c.size };
    else if ('shortest_edge' in c.size) resize = { kind: 'shortest_edge', size: c.size.shortest_edge };
    else resize = { kind: 'exact', width: c.size.width, height: c.size.height };
  }
  const crop = c.do_center_crop
    ? typeof c.crop_size === 'number'
      ? { width: c.crop_size, height: c.crop_size }
      : { width: c.crop_size.width, height: c.crop_size.height }
    : null;
  if (crop && resize?.kind === 'shortest_edge' && (crop.width > resize.size || crop.height > resize.size)) {
    throw new Error(`crop_size ${crop.width}x${crop.height} is larger than shortest_edge ${resize.size}; padding crops are not supported`);
  }
  if (!crop && resize?.kind !== 'exact') {
    throw new Error('without a centre crop the resize must give a fixed size ({height, width})');
  }
  const out = crop ?? (resize as { width: number; height: number });
  return {
    resize,
    kernel,
    crop,
    rescale: c.do_rescale ? c.rescale_factor : 1,
    mean: c.do_normalize ? c.image_mean : [0, 0, 0],
    std: c.do_normalize ? c.image_std : [1, 1, 1],
    outputWidth: out.width,
    outputHeight: out.height,
  };
}

/**
 * Size after the resize step, exactly as transformers' `get_resize_output_image_size`
 * (default_to_square=False): the short side becomes `size`, the long side is scaled and truncated.
 */
export function resizedSize(width: number, height: number, resize: NonNullable<ImagePreprocessConfig['resize']>): { width: number; height: number } {
  if (resize.kind === 'exact') return { width: resize.width, height: resize.height };
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((resize.size * long) / short);
  return width <= height ? { width: resize.size, height: newLong } : { width: newLong, height: resize.size };
}

/** Top-left corner of a centre crop, as transformers' `center_crop` computes it. */
export function centerCropOffset(width: number, height: number, crop: { width: number; height: number }): { left: number; top: number } {
  return { left: Math.trunc((width - crop.width) / 2), top: Math.trunc((height - crop.height) / 2) };
}

/** The `size` rectangle at `at` of interleaved RGB pixels `width` wide (rows copied as they are). */
export function cropRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  at: { left: number; top: number },
  size: { width: number; height: number },
): Uint8Array {
  if (at.left < 0 || at.top < 0 || at.left + size.width > width || at.top + size.height > height) {
    throw new RangeError(`a ${size.width}×${size.height} crop at (${at.left}, ${at.top}) does not fit in ${width}×${height}`);
  }
  if (size.width === width && size.height === height) return rgb;
  const out = new Uint8Array(size.width * size.height * 3);
  const rowBytes = size.width * 3;
  for (let y = 0; y < size.height; y++) {
    const from = ((at.top + y) * width + at.left) * 3;
    out.set(rgb.subarray(from, from + rowBytes), y * rowBytes);
  }
  return out;
}

/** Interleaved RGB bytes (HWC) → normalised planar float tensor (CHW); lives in JS so the ONNX worker can run it too. */
export { rgbToNormalizedChw } from './normalize-chw.js';
