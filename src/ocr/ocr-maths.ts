/**
 * Pure pre- and post-processing of PaddleOCR PP-OCRv4 (detection + recognition), ported from
 * PaddleOCR's `DetResizeForTest`, `NormalizeImage`, `DBPostProcess` and `CTCLabelDecode`.
 * Data in, data out: no I/O, no ONNX, so every step is tested with plain values.
 *
 * Written by hand because the only npm port (`@gutenye/ocr-node`) pins old sharp and
 * onnxruntime-node copies and runs inference on the calling thread.
 *
 * Pixels are interleaved 8-bit RGB. PaddleOCR reads images with OpenCV (BGR) and its models were
 * trained on that channel order, so tensors are built in BGR order.
 */

/** Detection input side limit (PaddleOCR `det_limit_side_len`, `det_limit_type: max`). */
export const DET_LIMIT_SIDE = 960;
/** Recognition input height of PP-OCRv4 (`rec_image_shape` 3,48,320). */
export const REC_HEIGHT = 48;
export const REC_MIN_WIDTH = 320;

export interface DbOptions {
  /** Probability above which a pixel is text (`thresh`). */
  threshold: number;
  /** Mean probability a region needs (`box_thresh`). */
  boxThreshold: number;
  /** How far a shrunk text kernel is grown back (`unclip_ratio`). */
  unclipRatio: number;
  /** Shortest side a box may have, in map pixels (`min_size`). */
  minSize: number;
  /** Most regions kept (`max_candidates`). */
  maxCandidates: number;
}

export const DEFAULT_DB_OPTIONS: DbOptions = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, minSize: 3, maxCandidates: 1000 };

/** An axis-aligned box in pixels of some image. */
export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Size the detector sees: longest side at most `limit`, both sides multiples of 32 (at least 32). */
export function detectionSize(width: number, height: number, limit = DET_LIMIT_SIDE): { width: number; height: number } {
  const ratio = Math.max(width, height) > limit ? limit / Math.max(width, height) : 1;
  const round32 = (v: number) => Math.max(Math.round((v * ratio) / 32) * 32, 32);
  return { width: round32(width), height: round32(height) };
}

const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

/** RGB bytes (already resized) → [1,3,H,W] BGR tensor normalised with ImageNet mean/std, as PaddleOCR does. */
export function detectionTensor(rgb: Uint8Array, width: number, height: number): Float32Array {
  const out = new Float32Array(3 * width * height);
  fillDetectionRows(rgb, width, height, out, 0, height);
  return out;
}

/** Rows [fromRow, toRow) of detectionTensor into `out` (a caller can fill a large image a slice at a time). */
export function fillDetectionRows(rgb: Uint8Array, width: number, height: number, out: Float32Array, fromRow: number, toRow: number): void {
  const plane = width * height;
  for (let i = fromRow * width; i < Math.min(toRow, height) * width; i++) {
    for (let c = 0; c < 3; c++) {
      // Channel c of the BGR tensor is RGB channel 2 - c; PaddleOCR applies mean[c] to BGR channel c.
      out[c * plane + i] = (rgb[i * 3 + (2 - c)]! / 255 - DET_MEAN[c]!) / DET_STD[c]!;
    }
  }
}

/**
 * DB post-processing: binarise the probability map, take each 8-connected text region, keep it
 * when its mean probability is high enough, grow it back by the unclip distance and scale it to
 * the original image. Boxes are axis-aligned (PaddleOCR fits a rotated rectangle; for the mildly
 * tilted labels we read an upright box that contains the text crops just as well, and avoids a
 * perspective warp). Sorted in reading order: top to bottom, then left to right on one line.
 */
export function dbBoxes(
  prob: Float32Array,
  mapWidth: number,
  mapHeight: number,
  imageWidth: number,
  imageHeight: number,
  options: DbOptions = DEFAULT_DB_OPTIONS,
): PixelBox[] {
  if (prob.length !== mapWidth * mapHeight) throw new Error(`probability map has ${prob.length} values, expected ${mapWidth}×${mapHeight}`);
  const labels = new Int32Array(prob.length);
  const stack = new Int32Array(prob.length);
  const found: PixelBox[] = [];
  let next = 0;
  for (let start = 0; start < prob.length && found.length < options.maxCandidates; start++) {
    if (labels[start] !== 0 || !(prob[start]! > options.threshold)) continue;
    next++;
    let top = 0;
    stack[top++] = start;
    labels[start] = next;
    let minX = mapWidth, minY = mapHeight, maxX = -1, maxY = -1, sum = 0, count = 0;
    while (top > 0) {
      const p = stack[--top]!;
      const px = p % mapWidth;
      const py = (p - px) / mapWidth;
      sum += prob[p]!;
      count++;
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= mapHeight) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          if (nx < 0 || nx >= mapWidth || (dx === 0 && dy === 0)) continue;
          const q = ny * mapWidth + nx;
          if (labels[q] === 0 && prob[q]! > options.threshold) {
            labels[q] = next;
            stack[top++] = q;
          }
        }
      }
    }
    const w = maxX - minX + 1;
    const h = maxY - minY + 1;
    if (Math.min(w, h) < options.minSize) continue;
    if (sum / count < options.boxThreshold) continue;
    // Unclip: the detector predicts a shrunk kernel; Vatti offset distance = area × ratio / perimeter.
    const d = (w * h * options.unclipRatio) / (2 * (w + h));
    const ux0 = minX - d, uy0 = minY - d, ux1 = maxX + 1 + d, uy1 = maxY + 1 + d;
    if (Math.min(ux1 - ux0, uy1 - uy0) < options.minSize + 2) continue;
    const sx = imageWidth / mapWidth;
    const sy = imageHeight / mapHeight;
    const x0 = clamp(Math.round(ux0 * sx), 0, imageWidth);
    const y0 = clamp(Math.round(uy0 * sy), 0, imageHeight);
    const x1 = clamp(Math.round(ux1 * sx), 0, imageWidth);
    const y1 = clamp(Math.round(uy1 * sy), 0, imageHeight);
    if (x1 - x0 < 1 || y1 - y0 < 1) continue;
    found.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
  }
  return sortReadingOrder(found);
}

/** Top to bottom; boxes whose tops are within 10 px are one line, read left to right (PaddleOCR `sorted_boxes`). */
export function sortReadingOrder(boxes: readonly PixelBox[]): PixelBox[] {
  const sorted = [...boxes].sort((a, b) => a.y - b.y || a.x - b.x);
  for (let i = 1; i < sorted.length; i++) {
    for (let j = i; j > 0; j--) {
      const a = sorted[j - 1]!;
      const b = sorted[j]!;
      if (Math.abs(b.y - a.y) < 10 && b.x < a.x) {
        sorted[j - 1] = b;
        sorted[j] = a;
      } else break;
    }
  }
  return sorted;
}

/** Width a crop is resized to at height 48, keeping its aspect ratio (at most `maxWidth`). */
export function recognitionWidth(width: number, height: number, maxWidth: number): number {
  return clamp(Math.ceil((REC_HEIGHT * width) / Math.max(height, 1)), 1, maxWidth);
}

/**
 * Resized crops (RGB, height 48) → one [N,3,48,W] tensor, BGR, scaled to [-1, 1], each crop
 * left-aligned and padded with zeros on the right, as PaddleOCR's `resize_norm_img` does.
 */
export function recognitionTensor(crops: readonly { rgb: Uint8Array; width: number }[], batchWidth: number): Float32Array {
  const plane = REC_HEIGHT * batchWidth;
  const out = new Float32Array(crops.length * 3 * plane);
  crops.forEach((crop, n) => {
    if (crop.rgb.length !== crop.width * REC_HEIGHT * 3) throw new Error('crop size does not match its width');
    const base = n * 3 * plane;
    for (let y = 0; y < REC_HEIGHT; y++) {
      for (let x = 0; x < crop.width && x < batchWidth; x++) {
        const src = (y * crop.width + x) * 3;
        for (let c = 0; c < 3; c++) out[base + c * plane + y * batchWidth + x] = crop.rgb[src + (2 - c)]! / 127.5 - 1;
      }
    }
  });
  return out;
}

/** The recogniser's classes: index 0 is the CTC blank, then the dictionary lines, then a space. */
export function parseDictionary(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return ['', ...lines, ' '];
}

/**
 * Greedy CTC decoding of [N,T,C] class probabilities: best class per step, repeats merged,
 * blanks dropped; confidence is the mean probability of the kept steps (0 when nothing is read).
 */
export function ctcDecode(probs: Float32Array, dims: readonly number[], classes: readonly string[]): { text: string; confidence: number }[] {
  if (dims.length !== 3) throw new Error(`recognition output has shape [${dims.join(', ')}], expected [N, T, C]`);
  const [n, steps, numClasses] = dims as [number, number, number];
  if (numClasses !== classes.length) throw new Error(`recognition output has ${numClasses} classes, the dictionary ${classes.length}`);
  const out: { text: string; confidence: number }[] = [];
  for (let b = 0; b < n; b++) {
    let text = '';
    let sum = 0;
    let kept = 0;
    let previous = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * numClasses;
      let best = 0;
      let bestP = probs[base]!;
      for (let c = 1; c < numClasses; c++) {
        const p = probs[base + c]!;
        if (p > bestP) {
          bestP = p;
          best = c;
        }
      }
      if (best !== 0 && best !== previous) {
        text += classes[best]!;
        sum += bestP;
        kept++;
      }
      previous = best;
    }
    out.push({ text: text.trim(), confidence: kept === 0 ? 0 : sum / kept });
  }
  return out;
}

/** A pixel box as fractions (0..1) of the image: x, y, width, height. */
export function relativeBox(box: PixelBox, imageWidth: number, imageHeight: number): [number, number, number, number] {
  const r = (v: number) => Math.round(v * 10_000) / 10_000;
  return [r(box.x / imageWidth), r(box.y / imageHeight), r(box.width / imageWidth), r(box.height / imageHeight)];
}

function clamp(v: number, min: number, max: number): number {
  return Math.min(Math.max(v, min), max);
}
