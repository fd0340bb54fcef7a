/**
 * Main-thread handle on the OCR preparation worker (ocr-prep-worker.js): image bytes in, the
 * detection tensor out; the detector's map in, recognition batches out; the recogniser's output
 * in, texts out. Everything crosses as transferred buffers, so the main thread copies nothing.
 * Errors keep their stable codes (INVALID_IMAGE, IMAGE_TOO_LARGE, …) across the thread boundary.
 */
import { Worker } from 'node:worker_threads';
import { InvalidImageError, ModelLoadError, TooLargeError, UnavailableError } from '../errors.js';
import type { ImageLimits } from '../clip/image-decode.js';
import { awaitReady } from '../workers/await-ready.js';

interface WireError {
  name: string;
  code: string | null;
  message: string;
  details: Record<string, unknown> | null;
}

export interface WireFloatTensor {
  data: ArrayBuffer;
  dims: number[];
}

export interface Prepared {
  /** Key of the working image kept in the worker until `crop` or `release`. */
  image: number;
  width: number;
  height: number;
  rgba: Uint8Array;
  detection: WireFloatTensor;
}

export interface Cropped {
  boxes: [number, number, number, number][];
  order: number[];
  batches: WireFloatTensor[];
}

type Reply =
  | { kind: 'ready' }
  | { kind: 'load-failed'; message: string }
  | { kind: 'prepared'; id: number; width: number; height: number; rgba: ArrayBuffer; detection: WireFloatTensor }
  | { kind: 'cropped'; id: number; boxes: [number, number, number, number][]; order: number[]; batches: WireFloatTensor[] }
  | { kind: 'decoded'; id: number; decoded: { text: string; confidence: number }[] }
  | { kind: 'error'; id: number; error: WireError };

type Answer = Exclude<Reply, { kind: 'ready' } | { kind: 'load-failed' } | { kind: 'error' }>;

const WORKER_URL = new URL('./ocr-prep-worker.js', import.meta.url);
/** Starting loads tsx and sharp in the worker: seconds on a busy machine. */
const STARTUP_MS = 60_000;

export class OcrPrepWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private closed = false;
  private crashed: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: Reply) => this.onMessage(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`OCR preparation worker exited unexpectedly with code ${code}`));
    });
  }

  static async start(options: { nice: number; dictionaryPath: string }): Promise<OcrPrepWorker> {
    const worker = new Worker(WORKER_URL, { workerData: options });
    try {
      await awaitReady<Reply>(worker, 'the OCR preparation worker', STARTUP_MS);
    } catch (cause) {
      await worker.terminate();
      throw new ModelLoadError(`The OCR preparation worker could not start: ${cause instanceof Error ? cause.message : String(cause)}. Check OCR_MODEL_DIR, or set OCR=off.`, { cause });
    }
    return new OcrPrepWorker(worker);
  }

  /** Checks and decodes `image` (a copy of the bytes is moved to the worker; the caller keeps them). */
  async prepare(image: Uint8Array, limits: ImageLimits): Promise<Prepared> {
    // Copied, not cloned: cloning a view sends its whole underlying buffer (a pooled Buffer's slab).
    const bytes = new Uint8Array(image);
    const { id, answer } = this.request((id) => ({ kind: 'prepare', id, image: bytes, limits }), [bytes.buffer]);
    const a = (await answer) as Extract<Answer, { kind: 'prepared' }>;
    return { image: id, width: a.width, height: a.height, rgba: new Uint8Array(a.rgba), detection: a.detection };
  }

  /** Boxes and recognition batches from the detector's map; consumes the working image. */
  async crop(image: number, prob: Float32Array, dims: readonly number[]): Promise<Cropped> {
    const buffer = ownBuffer(prob);
    const { answer } = this.request((id) => ({ kind: 'crop', id, image, prob: buffer, dims: [...dims] }), [buffer]);
    const a = (await answer) as Extract<Answer, { kind: 'cropped' }>;
    return { boxes: a.boxes, order: a.order, batches: a.batches };
  }

  async decode(probs: Float32Array, dims: readonly number[]): Promise<{ text: string; confidence: number }[]> {
    const buffer = ownBuffer(probs);
    const { answer } = this.request((id) => ({ kind: 'decode', id, probs: buffer, dims: [...dims] }), [buffer]);
    return ((await answer) as Extract<Answer, { kind: 'decoded' }>).decoded;
  }

  /** Drops a working image whose read ended before `crop` (no-op when already consumed). */
  release(image: number): void {
    if (!this.closed && !this.crashed) this.worker.postMessage({ kind: 'release', image });
  }

  get healthy(): boolean {
    return !this.closed && this.crashed === null;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new UnavailableError('The text reader was closed.'));
    this.pending.clear();
  }

  private request(message: (id: number) => object, transfer: ArrayBuffer[]): { id: number; answer: Promise<Answer> } {
    const id = this.nextId++;
    if (this.closed) return { id, answer: Promise.reject(new UnavailableError('The text reader is shutting down.')) };
    if (this.crashed) return { id, answer: Promise.reject(new UnavailableError('The OCR preparation worker has crashed.', { cause: this.crashed })) };
    const answer = new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(message(id), transfer);
    });
    return { id, answer };
  }

  private onMessage(msg: Reply): void {
    if (msg.kind === 'ready' || msg.kind === 'load-failed') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'error') p.reject(rebuildError(msg.error));
    else p.resolve(msg);
  }

  private fail(err: Error): void {
    this.crashed = err;
    for (const p of this.pending.values()) p.reject(new UnavailableError('The OCR preparation worker has crashed.', { cause: err }));
    this.pending.clear();
  }
}

/** The buffer of `a` when it is exactly `a` (transferable as is), else a copy. */
function ownBuffer(a: Float32Array): ArrayBuffer {
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer) return a.buffer;
  return a.slice().buffer as ArrayBuffer;
}

/** The bad-input errors the worker can raise, with their codes; anything else is an internal error. */
function rebuildError(e: WireError): Error {
  const options = e.details ? { details: e.details } : undefined;
  if (e.name === 'InvalidImageError' && (e.code === 'INVALID_IMAGE' || e.code === 'UNSUPPORTED_MEDIA_TYPE' || e.code === 'EMPTY_FILE')) return new InvalidImageError(e.code, e.message, options);
  if (e.name === 'TooLargeError' && (e.code === 'PAYLOAD_TOO_LARGE' || e.code === 'IMAGE_TOO_LARGE')) return new TooLargeError(e.code, e.message, options);
  return new Error(`OCR preparation failed: ${e.name}: ${e.message}`);
}
