/**
 * The CLIP encoder: text and images in, L2-normalised embeddings out.
 *
 * Scheduling (why it looks like this): onnxruntime-node blocks the thread that calls
 * `session.run`, and two sessions sharing a thread run one after the other, so a one-sentence
 * query would wait behind a whole image batch. Text and images therefore get their own worker
 * threads, queues and batchers; image workers run at a lower OS priority (CLIP_IMAGE_NICE) so
 * that when both want the CPU the interactive text query wins, while an idle text lane leaves
 * every core to images.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { InvalidInputError, ModelLoadError } from '../errors.js';
import { noopStageObserver, type StageObserver } from '../observability/metrics.js';
import { MicroBatcher } from './micro-batcher.js';
import { readModelJson, type ClipModelSpec } from './model-files.js';
import { OnnxSessionWorker } from './onnx-session-worker.js';
import { parsePreprocessorConfig, rgbToNormalizedChw, type ImagePreprocessConfig } from './preprocess.js';
import { decodeToClipRgb, type ImageLimits } from './image-decode.js';
import { ClipTokenizer, padBatch, type TextTensorSpec } from './tokenize.js';

export interface ModelInfo {
  id: string;
  dim: number;
  /** True when running the bundled random-weight test model: results mean nothing. */
  isTestModel: boolean;
}

/** The port the rest of the product depends on. */
export interface ClipEncoder {
  readonly model: ModelInfo;
  /** One normalised vector per text, in order. */
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  /** One normalised vector per image (file bytes), in order. */
  embedImages(images: readonly Uint8Array[]): Promise<Float32Array[]>;
  readonly ready: boolean;
  queueDepth(): { text: number; image: number };
  close(): Promise<void>;
}

export interface EncoderOptions {
  textThreads: number;
  imageThreads: number;
  imageWorkers: number;
  imageNice: number;
  imageBatch: number;
  textBatch: number;
  batchWaitMs: number;
  queueLimit: number;
  cacheSize: number;
  imageLimits: ImageLimits;
  isTestModel?: boolean;
  observer?: StageObserver;
  onBatch?: (encoder: 'text' | 'image', size: number) => void;
}

const CONTEXT_LENGTH = 77;

export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm === 0 || !Number.isFinite(norm)) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

function splitRows(data: Float32Array, dims: readonly number[], expectedRows: number): Float32Array[] {
  if (dims.length !== 2 || dims[0] !== expectedRows) {
    throw new Error(`the model returned a tensor of shape [${dims.join(', ')}], expected [${expectedRows}, dim]`);
  }
  const dim = dims[1]!;
  return Array.from({ length: expectedRows }, (_, r) => l2Normalize(data.subarray(r * dim, (r + 1) * dim)));
}

export class OnnxClipEncoder implements ClipEncoder {
  private constructor(
    readonly model: ModelInfo,
    private readonly tokenizer: ClipTokenizer,
    private readonly textSpec: TextTensorSpec,
    private readonly preprocess: ImagePreprocessConfig,
    private readonly textWorker: OnnxSessionWorker,
    private readonly imageWorkers: OnnxSessionWorker[],
    private readonly textBatcher: MicroBatcher<number[], Float32Array>,
    private readonly imageBatcher: MicroBatcher<Uint8Array, Float32Array>,
    private readonly cache: LRUCache<string, Float32Array> | null,
    private readonly options: EncoderOptions,
  ) {}

  /** Loads the model (workers, tokenizer, preprocessing), warms it up and checks the vector size. */
  static async load(spec: ClipModelSpec, options: EncoderOptions): Promise<OnnxClipEncoder> {
    const json = await readModelJson(spec);
    let tokenizer: ClipTokenizer;
    try {
      tokenizer = new ClipTokenizer({ tokenizerJson: json.tokenizerJson, tokenizerConfigJson: json.tokenizerConfigJson });
    } catch (cause) {
      throw new ModelLoadError(`${path.join(spec.dir, spec.tokenizer)} is not a usable CLIP tokenizer: ${String(cause)}`, { cause });
    }
    let preprocess: ImagePreprocessConfig;
    try {
      preprocess = parsePreprocessorConfig(json.preprocessorJson);
    } catch (cause) {
      throw new ModelLoadError(`${path.join(spec.dir, spec.preprocessor)} is not a usable preprocessor config: ${String(cause)}`, { cause });
    }
    const textSpec: TextTensorSpec = {
      contextLength: spec.text.fixedLength ?? CONTEXT_LENGTH,
      fixedLength: spec.text.fixedLength,
      padId: spec.text.padId ?? tokenizer.eosId,
    };

    const textInputs = [spec.text.inputIds, ...(spec.text.attentionMask ? [spec.text.attentionMask] : [])];
    const started: OnnxSessionWorker[] = [];
    try {
      const textWorker = await OnnxSessionWorker.start({
        modelPath: path.join(spec.dir, spec.text.file),
        displayName: path.join(spec.dir, spec.text.file),
        threads: options.textThreads,
        nice: 0,
        inputs: textInputs,
        output: spec.text.output,
      });
      started.push(textWorker);
      const imageWorkers: OnnxSessionWorker[] = [];
      for (let i = 0; i < options.imageWorkers; i++) {
        const w = await OnnxSessionWorker.start({
          modelPath: path.join(spec.dir, spec.vision.file),
          displayName: path.join(spec.dir, spec.vision.file),
          threads: options.imageThreads,
          nice: options.imageNice,
          inputs: [spec.vision.input],
          output: spec.vision.output,
        });
        started.push(w);
        imageWorkers.push(w);
      }
      const observer = options.observer ?? noopStageObserver;

      const textBatcher = new MicroBatcher<number[], Float32Array>({
        name: 'text',
        maxBatch: options.textBatch,
        maxWaitMs: options.batchWaitMs,
        maxQueue: options.queueLimit,
        onBatch: (size, waitMs) => {
          observer.observeStage('queue_wait_text', waitMs / 1000);
          options.onBatch?.('text', size);
        },
        runners: [
          async (rows) => {
            const batch = padBatch(rows, textSpec);
            const feeds: Record<string, { type: 'int64'; data: ArrayBuffer; dims: number[] }> = {
              [spec.text.inputIds]: { type: 'int64', data: batch.ids.buffer as ArrayBuffer, dims: [batch.batch, batch.length] },
            };
            if (spec.text.attentionMask) {
              feeds[spec.text.attentionMask] = { type: 'int64', data: batch.attentionMask.buffer as ArrayBuffer, dims: [batch.batch, batch.length] };
            }
            const result = await textWorker.run(feeds);
            observer.observeStage('infer_text', result.inferMs / 1000);
            return splitRows(result.data, result.dims, rows.length);
          },
        ],
      });

      const pixels = preprocess.outputWidth * preprocess.outputHeight;
      const imageBatcher = new MicroBatcher<Uint8Array, Float32Array>({
        name: 'image',
        maxBatch: options.imageBatch,
        maxWaitMs: options.batchWaitMs,
        maxQueue: options.queueLimit,
        onBatch: (size, waitMs) => {
          observer.observeStage('queue_wait_image', waitMs / 1000);
          options.onBatch?.('image', size);
        },
        runners: imageWorkers.map((worker) => async (rgbs: Uint8Array[]) => {
          const tensor = new Float32Array(rgbs.length * 3 * pixels);
          rgbs.forEach((rgb, i) => rgbToNormalizedChw(rgb, preprocess.outputWidth, preprocess.outputHeight, preprocess, tensor, i * 3 * pixels));
          const result = await worker.run({
            [spec.vision.input]: { type: 'float32', data: tensor.buffer, dims: [rgbs.length, 3, preprocess.outputHeight, preprocess.outputWidth] },
          });
          observer.observeStage('infer_image', result.inferMs / 1000);
          return splitRows(result.data, result.dims, rgbs.length);
        }),
      });

      const cache = options.cacheSize > 0 ? new LRUCache<string, Float32Array>({ max: options.cacheSize }) : null;
      // The vector size is a fact about the graph, not the folder's claim: learn it by running both encoders once.
      const probe = new OnnxClipEncoder(
        { id: spec.id, dim: 0, isTestModel: options.isTestModel ?? false },
        tokenizer, textSpec, preprocess, textWorker, imageWorkers, textBatcher, imageBatcher, null, options,
      );
      const [textVec] = await probe.embedTexts(['a photo of a valve']);
      const [imageVec] = await probe.embedRgb([new Uint8Array(pixels * 3).fill(128)]);
      const dim = textVec!.length;
      if (imageVec!.length !== dim) {
        throw new ModelLoadError(`The text encoder gives ${dim}-d vectors but the image encoder gives ${imageVec!.length}-d: the two files do not belong to one model.`);
      }
      if (spec.declaredDim !== null && spec.declaredDim !== dim) {
        throw new ModelLoadError(`${spec.dir} declares ${spec.declaredDim}-d embeddings but its graphs produce ${dim}-d: the manifest/config does not match the ONNX files.`);
      }
      return new OnnxClipEncoder(
        { id: spec.id, dim, isTestModel: options.isTestModel ?? false },
        tokenizer, textSpec, preprocess, textWorker, imageWorkers, textBatcher, imageBatcher, cache, options,
      );
    } catch (error) {
      await Promise.all(started.map((w) => w.close()));
      throw error;
    }
  }

  get ready(): boolean {
    return this.textWorker.healthy && this.imageWorkers.every((w) => w.healthy);
  }

  queueDepth(): { text: number; image: number } {
    return { text: this.textBatcher.depth, image: this.imageBatcher.depth };
  }

  /** Token ids as the text encoder will see them (exposed for tests and debugging). */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text, this.textSpec.contextLength);
  }

  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    const observer = this.options.observer ?? noopStageObserver;
    return this.cached('text', texts, (t) => `t:${t}`, async (missing) => {
      const started = performance.now();
      const rows = missing.map((t) => this.tokenizer.encode(t, this.textSpec.contextLength));
      observer.observeStage('tokenize', (performance.now() - started) / 1000);
      return this.textBatcher.submit(rows);
    });
  }

  async embedImages(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    const observer = this.options.observer ?? noopStageObserver;
    return this.cached('image', images, (b) => `i:${createHash('sha256').update(b).digest('hex')}`, async (missing) => {
      const started = performance.now();
      const rgbs = await Promise.all(missing.map((bytes) => decodeToClipRgb(bytes, this.preprocess, this.options.imageLimits)));
      observer.observeStage('decode_image', (performance.now() - started) / 1000);
      return this.embedRgb(rgbs);
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.textWorker.close(), ...this.imageWorkers.map((w) => w.close())]);
  }

  private embedRgb(rgbs: Uint8Array[]): Promise<Float32Array[]> {
    return this.imageBatcher.submit(rgbs);
  }

  /** Serves what the LRU cache has, computes the rest once (duplicates in one call share work). */
  private async cached<T>(
    kind: 'text' | 'image',
    inputs: readonly T[],
    keyOf: (input: T) => string,
    compute: (missing: T[]) => Promise<Float32Array[]>,
  ): Promise<Float32Array[]> {
    if (inputs.length === 0) throw new InvalidInputError('EMPTY_INPUT', `Nothing to embed: the list of ${kind === 'text' ? 'texts' : 'images'} is empty.`);
    const observer = this.options.observer ?? noopStageObserver;
    const keys = inputs.map(keyOf);
    const results: (Float32Array | undefined)[] = keys.map((k) => this.cache?.get(k));
    const missingKeys: string[] = [];
    const missingInputs: T[] = [];
    keys.forEach((k, i) => {
      const hit = results[i] !== undefined;
      if (this.cache) observer.countCache(kind, hit);
      if (!hit && !missingKeys.includes(k)) {
        missingKeys.push(k);
        missingInputs.push(inputs[i]!);
      }
    });
    if (missingInputs.length > 0) {
      const computed = await compute(missingInputs);
      const byKey = new Map(missingKeys.map((k, i) => [k, computed[i]!]));
      for (const [k, v] of byKey) this.cache?.set(k, v);
      keys.forEach((k, i) => {
        results[i] ??= byKey.get(k);
      });
    }
    return results as Float32Array[];
  }
}
