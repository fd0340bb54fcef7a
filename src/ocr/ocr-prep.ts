/**
 * The image work of one OCR read, run inside the OCR preparation worker (ocr-prep-worker.js):
 * decoding and resizing with sharp, the detection tensor, DB post-processing, cutting and
 * resizing the text crops, the recognition tensors and CTC decoding.
 *
 * Why in a worker: done on the main thread (as it was), a read kept the event loop busy for
 * tens of milliseconds in slices, and interactive embedText queries waited behind them (p95
 * under OCR load 8-30x the idle p50; the target is <= 3x). The worker runs at the image lanes'
 * lower priority, so the main thread only forwards buffers between it and the ONNX workers.
 */
import sharp from 'sharp';
import { InvalidImageError } from '../errors.js';
import { inspectImage, type ImageLimits } from '../clip/image-decode.js';
import { ctcDecode, dbBoxes, detectionSize, detectionTensor, recognitionTensor, recognitionWidth, REC_HEIGHT, REC_MIN_WIDTH, relativeBox, type PixelBox } from './ocr-maths.js';

/** Longest side of the working image crops are cut from (detection itself sees ≤ 960). */
const WORK_MAX_SIDE = 2048;
/** Most text regions recognised per image. */
const MAX_REGIONS = 64;
/** Crops per recognition run, and the widest crop (longer lines are squeezed). */
const REC_BATCH = 8;
const REC_MAX_WIDTH = 1600;

/** The decoded working image a read's crops are cut from (kept in the worker between steps). */
export interface WorkImage {
  rgb: Buffer;
  width: number;
  height: number;
}

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** Checks and decodes the image; returns the working image, its RGBA for code decoding and the detection input. */
export async function prepareImage(image: Uint8Array, limits: ImageLimits): Promise<{ work: WorkImage; rgba: Uint8Array; detection: Tensor }> {
  await inspectImage(image, limits);
  // Flattened on white: a transparent label or code reads as printed on paper.
  const work = await sharp(image, { limitInputPixels: limits.maxPixels, failOn: 'truncated', pages: 1 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(WORK_MAX_SIDE, WORK_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((cause: unknown) => {
      throw new InvalidImageError('INVALID_IMAGE', 'The image could not be decoded (it is corrupt or truncated).', { cause });
    });
  const { width, height } = work.info;
  if (work.info.channels !== 3) throw new InvalidImageError('INVALID_IMAGE', `Decoding produced ${work.info.channels} channels, not RGB.`);
  const raw = { raw: { width, height, channels: 3 as const } };
  const rgba = await sharp(work.data, raw).ensureAlpha().raw().toBuffer();
  const size = detectionSize(width, height);
  const resized = await sharp(work.data, raw).resize(size.width, size.height, { fit: 'fill' }).raw().toBuffer();
  return {
    work: { rgb: work.data, width, height },
    // Copied into memory of our own so it can be transferred to the code worker.
    rgba: new Uint8Array(rgba),
    detection: { data: detectionTensor(resized, size.width, size.height), dims: [1, 3, size.height, size.width] },
  };
}

/**
 * From the detector's probability map: the text boxes (reading order, at most MAX_REGIONS),
 * relative to the image, and the recognition batches (similar widths together, so little of each
 * tensor is padding, as PaddleOCR sorts); `order[k]` is the box index of the k-th crop fed.
 */
export async function recognitionBatches(
  work: WorkImage,
  prob: Float32Array,
  probDims: readonly number[],
): Promise<{ boxes: [number, number, number, number][]; order: number[]; batches: Tensor[] }> {
  const [, , mapHeight, mapWidth] = probDims as [number, number, number, number];
  const { rgb, width, height } = work;
  const pixelBoxes: PixelBox[] = dbBoxes(prob, mapWidth, mapHeight, width, height).slice(0, MAX_REGIONS);
  const crops = await Promise.all(
    pixelBoxes.map(async (box) => {
      const w = recognitionWidth(box.width, box.height, REC_MAX_WIDTH);
      const data = await sharp(rgb, { raw: { width, height, channels: 3 } })
        .extract({ left: box.x, top: box.y, width: box.width, height: box.height })
        .resize(w, REC_HEIGHT, { fit: 'fill' })
        .raw()
        .toBuffer();
      return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: w };
    }),
  );
  const order = crops.map((_, i) => i).sort((a, b) => crops[a]!.width - crops[b]!.width);
  const batches: Tensor[] = [];
  for (let start = 0; start < order.length; start += REC_BATCH) {
    const batch = order.slice(start, start + REC_BATCH).map((i) => crops[i]!);
    const batchWidth = Math.max(REC_MIN_WIDTH, ...batch.map((c) => c.width));
    batches.push({ data: recognitionTensor(batch, batchWidth), dims: [batch.length, 3, REC_HEIGHT, batchWidth] });
  }
  return { boxes: pixelBoxes.map((b) => relativeBox(b, width, height)), order, batches };
}

/** CTC decoding of one recognition batch's output; confidences rounded to 4 decimals. */
export function decodeBatch(probs: Float32Array, dims: readonly number[], classes: readonly string[]): { text: string; confidence: number }[] {
  return ctcDecode(probs, dims, classes).map((d) => ({ text: d.text, confidence: Math.round(d.confidence * 10_000) / 10_000 }));
}
