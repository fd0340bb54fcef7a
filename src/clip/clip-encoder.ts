/**
 * The CLIP encoder: text and images in, L2-normalised embeddings out.
 *
 * Scheduling (why it looks like this): onnxruntime-node blocks the thread that calls
 * `session.run`, and two sessions sharing a thread run one after the other, so a one-sentence
 * query would wait behind a whole image batch. Text and images therefore get their own worker
 * threads, queues and batchers; image workers run at a lower OS priority (CLIP_IMAGE_NICE, and
 * SCHED_IDLE with CLIP_IMAGE_SCHED_IDLE) so that when both want the CPU the interactive text query
 * wins, while an idle text lane leaves every core to images.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { InvalidInputError, ModelLoadError } from '../errors.js';
import { noopStageObserver, type StageObserver } from '../observability/metrics.js';
import { MicroBatcher, submitInSlices } from './micro-batcher.js';
import { readModelJson, type ClipModelSpec } from './model-files.js';
import { OnnxSessionWorker, type WireTensor } from './onnx-session-worker.js';
import { parsePreprocessorConfig, type ImagePreprocessConfig } from './preprocess.js';
import { decodeToClipRgb, type ImageLimits } from './image-decode.js';
import { Slots } from '../workers/slots.js';
import { throttledLowerThreadPriority } from '../workers/thread-priority.js';
import { ClipTokenizer, padBatch, type TextTensorSpec } from './tokenize.js';

export interface ModelInfo {
  id: string;
  dim: number;
  /** True when running the bundled random-weight test model: results mean nothing. */
  isTestModel: boolean;
  /** Image-to-image cosine above which two images are near-duplicates, for this model (manifest calibration, else a conservative default). */
  nearDuplicateSimilarity: number;
  /** True when nearDuplicateSimilarity comes from the manifest's calibration; absent or false: it is the default, and scale-free tests decide instead. */
  nearDuplicateCalibrated?: boolean;
}

/** Used when a model's manifest declares no calibration: high, so unknown models err towards "not a duplicate". */
export const DEFAULT_NEAR_DUPLICATE_SIMILARITY = 0.95;

/**
 * Which tenant's slice of the embedding cache a call reads and fills. Entries in one scope are
 * never served to another (so one tenant cannot learn by timing what another embedded), and
 * calls without a scope share one unscoped slice. See `scopedEncoder`.
 */
export interface CacheScopeOption {
  cacheScope?: string;
  /**
   * Aborted when the caller no longer wants the result (deadline, client gone): its items leave
   * the encoder queue and the call rejects with the abort reason.
   */
  signal?: AbortSignal;
}

/** The port the rest of the product depends on. */
export interface ClipEncoder {
  readonly model: ModelInfo;
  /**
   * One normalised vector per text, in order. `background` work (ingest) runs on its own
   * lower-priority lane so interactive queries never queue behind it.
   */
  embedTexts(texts: readonly string[], options?: { priority?: Priority } & CacheScopeOption): Promise<Float32Array[]>;
  /** Token count of a text as the text encoder sees it, without start/end tokens (for chunking). */
  countTokens(text: string): number;
  /** One normalised vector per image (file bytes), in order. */
  embedImages(images: readonly Uint8Array[], options?: CacheScopeOption): Promise<Float32Array[]>;
  /** Drops these images' cached embeddings in that scope (e.g. when the photo is deleted). */
  evictImages?(images: readonly Uint8Array[], options?: CacheScopeOption): void;
  /** Drops these texts' cached embeddings in that scope (e.g. a deleted document's chunks). */
  evictTexts?(texts: readonly string[], options?: CacheScopeOption): void;
  readonly ready: boolean;
  queueDepth(): { text: number; backgroundText: number; image: number };
  close(): Promise<void>;
}

export type Priority = 'interactive' | 'background';

export interface EncoderOptions {
  textThreads: number;
  /** A separate text worker (own session, at imageNice) for background work such as ingest. */
  backgroundTextWorker: boolean;
  imageThreads: number;
  imageWorkers: number;
  imageNice: number;
  /**
   * Image workers and the background text worker also run under SCHED_IDLE (Linux). Not libvips's
   * threads: every sharp user in the process shares them (perceptual hashes, page layout, PDFs),
   * and under SCHED_IDLE those would stall whenever other processes keep the cores busy.
   */
  imageSchedIdle?: boolean;
  imageBatch: number;
  textBatch: number;
  batchWaitMs: number;
  queueLimit: number;
  /** Share (0–1] of each interactive queue one cache scope (tenant) may fill; default 1 (no share). */
  queueSharePerScope?: number;
  cacheSize: number;
  imageLimits: ImageLimits;
  isTestModel?: boolean;
  observer?: StageObserver;
  onBatch?: (encoder: 'text' | 'background_text' | 'image', size: number) => void;
}

const CONTEXT_LENGTH = 77;

/**
 * A call's items enter the queue this many batches at a time (see `submitInSlices`): enough to
 * keep a worker busy between slices, small enough that a huge call never fills the queue.
 */
const SLICE_BATCHES = 4;

/**
 * Image decodes at a time. sharp decodes on libuv's pool threads, which run at the process's normal
 * priority while inference runs niced (CLIP_IMAGE_NICE) so that text queries win the CPU: up to four
 * decodes at once (the libuv pool) took both cores from a text query under image load. One at a time
 * costs no throughput: a photo decodes in ~5 ms of one core (shrink-on-load), a ViT-B/32 image takes
 * ~80 ms of CPU to infer, so one slot feeds ~15× the inference rate.
 */
const DECODE_SLOTS = 1;

/**
 * With several image workers, how long an idle one may hold back a batch under half of
 * CLIP_IMAGE_BATCH while another worker is busy (see `fillWhileBusy`). Without it, two 1-thread
 * workers fed by 8 concurrent requests ran mostly batches of 1 (48 of 57 batches in-process),
 * which cost ~30% more CPU per image than batches of 4 (ViT-B/32, one thread: 80 vs 62 ms); with
 * it they ran mostly batches of 4. The wait is a few decodes' time; a lone request (every worker
 * idle) is never held, and with one worker (the default) nothing changes.
 */
const IMAGE_FILL_WAIT_MS = 40;

export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm === 0 || !Number.isFinite(norm)) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

/**
 * The cache key of `key` (`t:<text>` / `i:<sha256>`) in a scope. Scoped keys start with `s`,
 * unscoped ones with `t:`/`i:`, and the scope is length-prefixed, so no (scope, input) pair can
 * produce another pair's key whatever characters the scope or text contain.
 */
function scopedKey(scope: string | undefined, key: string): string {
  return scope === undefined ? key : `s${scope.length}:${scope}\u0000${key}`;
}

function textKey(text: string): string {
  return `t:${text}`;
}

function imageKey(bytes: Uint8Array): string {
  return `i:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Keys one `cached()` call is computing, and which of them were evicted meanwhile (so they are not cached). */
interface InFlight {
  keys: ReadonlySet<string>;
  evicted: Set<string>;
}

function splitRows(data: Float32Array, dims: readonly number[], expectedRows: number): Float32Array[] {
  if (dims.length !== 2 || dims[0] !== expectedRows) {
    throw new Error(`the model returned a tensor of shape [${dims.join(', ')}], expected [${expectedRows}, dim]`);
  }
  const dim = dims[1]!;
  return Array.from({ length: expectedRows }, (_, r) => l2Normalize(data.subarray(r * dim, (r + 1) * dim)));
}

/** One kind of work: its workers (one ONNX session each) and the queue that batches for them. */
interface Lane<I> {
  workers: OnnxSessionWorker[];
  batcher: MicroBatcher<I, Float32Array>;
}

interface Lanes {
  text: Lane<number[]>;
  /** Same object as `text` when there is no separate background worker. */
  backgroundText: Lane<number[]>;
  image: Lane<Uint8Array>;
}

export class OnnxClipEncoder implements ClipEncoder {
  private cache: LRUCache<string, Float32Array> | null = null;
  private readonly inFlight = new Set<InFlight>();
  private readonly decodeSlots = new Slots(DECODE_SLOTS);
  /**
   * libvips (sharp) starts its own worker threads at the process's priority: after decodes they
   * are set to CLIP_IMAGE_NICE like image inference, so decodes yield the cores to text queries.
   */
  private readonly niceDecoders: () => void;
  private dimension = 0;

  private constructor(
    private readonly spec: ClipModelSpec,
    private readonly tokenizer: ClipTokenizer,
    private readonly textSpec: TextTensorSpec,
    private readonly preprocess: ImagePreprocessConfig,
    private readonly lanes: Lanes,
    private readonly options: EncoderOptions,
  ) {
    this.niceDecoders = throttledLowerThreadPriority('libvips worker', options.imageNice);
  }

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

    const started: OnnxSessionWorker[] = [];
    const startWorker = async (kind: 'text' | 'vision', nice: number, threads: number, threadName: string) => {
      const file = kind === 'text' ? spec.text.file : spec.vision.file;
      const worker = await OnnxSessionWorker.start({
        modelPath: path.join(spec.dir, file),
        displayName: path.join(spec.dir, file),
        threads,
        nice,
        // Whatever runs below the text worker's priority is background work: with
        // CLIP_IMAGE_SCHED_IDLE it takes only cores nothing else wants.
        schedIdle: nice > 0 && (options.imageSchedIdle ?? false),
        inputs: kind === 'text' ? [spec.text.inputIds, ...(spec.text.attentionMask ? [spec.text.attentionMask] : [])] : [spec.vision.input],
        output: kind === 'text' ? spec.text.output : spec.vision.output,
        threadName,
      });
      started.push(worker);
      return worker;
    };
    try {
      const observer = options.observer ?? noopStageObserver;
      const perScope = Math.max(1, Math.floor(options.queueLimit * Math.min(1, options.queueSharePerScope ?? 1)));
      const textLane = (name: 'text' | 'background_text', worker: OnnxSessionWorker): Lane<number[]> => ({
        workers: [worker],
        batcher: new MicroBatcher<number[], Float32Array>({
          name: name === 'text' ? 'text' : 'background text',
          maxBatch: options.textBatch,
          maxWaitMs: options.batchWaitMs,
          maxQueue: name === 'text' ? options.queueLimit : Number.MAX_SAFE_INTEGER,
          ...(name === 'text' ? { maxQueuePerOwner: perScope } : {}),
          onBatch: (size, waitMs) => {
            if (name === 'text') observer.observeStage('queue_wait_text', waitMs / 1000);
            options.onBatch?.(name, size);
          },
          runners: [(rows) => runText(worker, rows)],
        }),
      });
      const runText = async (worker: OnnxSessionWorker, rows: number[][]) => {
        const batch = padBatch(rows, textSpec);
        const dims = [batch.batch, batch.length];
        const feeds: Record<string, WireTensor> = { [spec.text.inputIds]: { type: 'int64', data: batch.ids.buffer as ArrayBuffer, dims } };
        if (spec.text.attentionMask) feeds[spec.text.attentionMask] = { type: 'int64', data: batch.attentionMask.buffer as ArrayBuffer, dims };
        const result = await worker.run(feeds);
        observer.observeStage('infer_text', result.inferMs / 1000);
        return splitRows(result.data, result.dims, rows.length);
      };

      const text = textLane('text', await startWorker('text', 0, options.textThreads, 'clip-text'));
      const backgroundText = options.backgroundTextWorker
        ? textLane('background_text', await startWorker('text', options.imageNice, options.textThreads, 'clip-text-bg'))
        : text;
      const imageWorkers: OnnxSessionWorker[] = [];
      for (let i = 0; i < options.imageWorkers; i++) imageWorkers.push(await startWorker('vision', options.imageNice, options.imageThreads, `clip-vision-${i}`));
      const pixels = preprocess.outputWidth * preprocess.outputHeight;
      const image: Lane<Uint8Array> = {
        workers: imageWorkers,
        batcher: new MicroBatcher<Uint8Array, Float32Array>({
          name: 'image',
          maxBatch: options.imageBatch,
          maxWaitMs: options.batchWaitMs,
          fillWhileBusy: { minBatch: Math.ceil(options.imageBatch / 2), maxWaitMs: IMAGE_FILL_WAIT_MS },
          maxQueue: options.queueLimit,
          maxQueuePerOwner: perScope,
          onBatch: (size, waitMs) => {
            observer.observeStage('queue_wait_image', waitMs / 1000);
            options.onBatch?.('image', size);
          },
          runners: imageWorkers.map((worker) => async (rgbs: Uint8Array[]) => {
            // 8-bit RGB goes to the worker, which normalises it into the float tensor: that work
            // (~0.5 ms per image) then runs at the image workers' priority, not on the main thread.
            const batch = new Uint8Array(rgbs.length * 3 * pixels);
            rgbs.forEach((rgb, i) => {
              if (rgb.length !== 3 * pixels) throw new Error(`expected ${3 * pixels} RGB bytes, got ${rgb.length}`);
              batch.set(rgb, i * 3 * pixels);
            });
            const { rescale, mean, std } = preprocess;
            const result = await worker.run({
              [spec.vision.input]: { type: 'rgb8', data: batch.buffer, dims: [rgbs.length, 3, preprocess.outputHeight, preprocess.outputWidth], normalize: { rescale, mean, std } },
            });
            observer.observeStage('infer_image', result.inferMs / 1000);
            return splitRows(result.data, result.dims, rgbs.length);
          }),
        }),
      };

      const encoder = new OnnxClipEncoder(spec, tokenizer, textSpec, preprocess, { text, backgroundText, image }, options);
      await encoder.warmUp(pixels);
      return encoder;
    } catch (error) {
      await Promise.all(started.map((w) => w.close()));
      throw error;
    }
  }

  /** The vector size is a fact about the graphs, not the folder's claim: learn it by running every lane once. */
  private async warmUp(pixels: number): Promise<void> {
    const probeText = this.tokenizer.encode('a photo of a valve', this.textSpec.contextLength);
    const [textVec] = await this.lanes.text.batcher.submit([probeText]);
    const [imageVec] = await this.lanes.image.batcher.submit([new Uint8Array(pixels * 3).fill(128)]);
    if (this.lanes.backgroundText !== this.lanes.text) await this.lanes.backgroundText.batcher.submit([probeText]);
    const dim = textVec!.length;
    if (imageVec!.length !== dim) {
      throw new ModelLoadError(`The text encoder gives ${dim}-d vectors but the image encoder gives ${imageVec!.length}-d: the two files do not belong to one model.`);
    }
    if (this.spec.declaredDim !== null && this.spec.declaredDim !== dim) {
      throw new ModelLoadError(`${this.spec.dir} declares ${this.spec.declaredDim}-d embeddings but its graphs produce ${dim}-d: the manifest/config does not match the ONNX files.`);
    }
    this.dimension = dim;
    this.cache = this.options.cacheSize > 0 ? new LRUCache<string, Float32Array>({ max: this.options.cacheSize }) : null;
  }

  get model(): ModelInfo {
    return {
      id: this.spec.id,
      dim: this.dimension,
      isTestModel: this.options.isTestModel ?? false,
      nearDuplicateSimilarity: this.spec.calibration?.nearDuplicateSimilarity ?? DEFAULT_NEAR_DUPLICATE_SIMILARITY,
      nearDuplicateCalibrated: this.spec.calibration !== null,
    };
  }

  get ready(): boolean {
    return this.allWorkers().every((w) => w.healthy);
  }

  queueDepth(): { text: number; backgroundText: number; image: number } {
    return { text: this.lanes.text.batcher.depth, backgroundText: this.lanes.backgroundText.batcher.depth, image: this.lanes.image.batcher.depth };
  }

  countTokens(text: string): number {
    return this.tokenizer.encode(text, Number.MAX_SAFE_INTEGER).length - 2;
  }

  async embedTexts(texts: readonly string[], options: { priority?: Priority } & CacheScopeOption = {}): Promise<Float32Array[]> {
    const observer = this.options.observer ?? noopStageObserver;
    const lane = options.priority === 'background' ? this.lanes.backgroundText : this.lanes.text;
    return this.cached('text', texts, (t) => scopedKey(options.cacheScope, textKey(t)), async (missing) => {
      const started = performance.now();
      const rows = missing.map((t) => this.tokenizer.encode(t, this.textSpec.contextLength));
      observer.observeStage('tokenize', (performance.now() - started) / 1000);
      return submitInSlices(lane.batcher, rows, { owner: options.cacheScope, signal: options.signal, sliceSize: SLICE_BATCHES * this.options.textBatch });
    });
  }

  async embedImages(images: readonly Uint8Array[], options: CacheScopeOption = {}): Promise<Float32Array[]> {
    const observer = this.options.observer ?? noopStageObserver;
    return this.cached('image', images, (b) => scopedKey(options.cacheScope, imageKey(b)), async (missing) => {
      const started = performance.now();
      const rgbs = await Promise.all(missing.map((bytes) => this.decodeSlots.run(() => decodeToClipRgb(bytes, this.preprocess, this.options.imageLimits), options.signal)));
      observer.observeStage('decode_image', (performance.now() - started) / 1000);
      this.niceDecoders();
      options.signal?.throwIfAborted();
      return submitInSlices(this.lanes.image.batcher, rgbs, { owner: options.cacheScope, signal: options.signal, sliceSize: SLICE_BATCHES * this.options.imageBatch });
    });
  }

  /**
   * Removes these images' embeddings from the cache in that scope (only that scope), including
   * ones still being computed: those are returned to their caller but not cached.
   */
  evictImages(images: readonly Uint8Array[], options: CacheScopeOption = {}): void {
    for (const bytes of images) this.evictKey(scopedKey(options.cacheScope, imageKey(bytes)));
  }

  /** The same for texts (a deleted document's chunks: the cache key holds the text itself). */
  evictTexts(texts: readonly string[], options: CacheScopeOption = {}): void {
    for (const text of texts) this.evictKey(scopedKey(options.cacheScope, textKey(text)));
  }

  private evictKey(key: string): void {
    this.cache?.delete(key);
    for (const call of this.inFlight) if (call.keys.has(key)) call.evicted.add(key);
  }

  async close(): Promise<void> {
    await Promise.all(this.allWorkers().map((w) => w.close()));
  }

  private allWorkers(): OnnxSessionWorker[] {
    return [...new Set([...this.lanes.text.workers, ...this.lanes.backgroundText.workers, ...this.lanes.image.workers])];
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
    const missing = new Map<string, T>();
    keys.forEach((k, i) => {
      const hit = results[i] !== undefined;
      if (this.cache) observer.countCache(kind, hit);
      if (!hit && !missing.has(k)) missing.set(k, inputs[i]!);
    });
    if (missing.size > 0) {
      const call: InFlight = { keys: new Set(missing.keys()), evicted: new Set() };
      this.inFlight.add(call);
      let computed: Float32Array[];
      try {
        computed = await compute([...missing.values()]);
      } finally {
        this.inFlight.delete(call);
      }
      const byKey = new Map([...missing.keys()].map((k, i) => [k, computed[i]!]));
      for (const [k, v] of byKey) if (!call.evicted.has(k)) this.cache?.set(k, v);
      keys.forEach((k, i) => {
        results[i] ??= byKey.get(k);
      });
    }
    return results as Float32Array[];
  }
}
