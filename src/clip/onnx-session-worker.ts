/**
 * Main-thread handle on one ONNX Runtime session living in a worker thread (onnx-worker.js).
 * Requests are sent one at a time per worker by the batcher; results come back as transferred
 * buffers, so no tensor is copied twice.
 */
import { Worker } from 'node:worker_threads';
import { ModelLoadError, UnavailableError } from '../errors.js';
import { awaitReady } from '../workers/await-ready.js';
import type { NormalizeConfig } from './normalize-chw.js';

/**
 * A tensor as sent to the worker. `rgb8`: images as 8-bit interleaved RGB one after the other, for a
 * [n, 3, h, w] float input that the worker builds with `normalize` (so the main thread does not).
 */
export type WireTensor =
  | { type: 'float32' | 'int64'; data: ArrayBuffer; dims: number[] }
  | { type: 'rgb8'; data: ArrayBuffer; dims: number[]; normalize: NormalizeConfig };

export interface RunResult {
  data: Float32Array;
  dims: readonly number[];
  inferMs: number;
}

export interface SessionWorkerOptions {
  modelPath: string;
  /** The model file as named to users in errors (relative to the model folder). */
  displayName: string;
  threads: number;
  nice: number;
  /** Also run under SCHED_IDLE (Linux; see src/workers/sched-idle.js): for background work only. */
  schedIdle?: boolean;
  inputs: string[];
  output: string;
  /** Linux thread name (≤ 15 characters) of the worker and its ORT threads, seen in `top -H`. */
  threadName?: string;
}

type WorkerMessage =
  | { kind: 'ready'; inputNames: string[]; outputNames: string[]; nice: number; schedIdle: boolean }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; data: ArrayBuffer; dims: number[]; inferMs: number }
  | { kind: 'error'; id: number; message: string };

const WORKER_URL = new URL('./onnx-worker.js', import.meta.url);

export class OnnxSessionWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>();
  private closed = false;
  private crashed: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly niceApplied: number,
    /** True when the worker and its ORT threads run under SCHED_IDLE. */
    readonly schedIdle: boolean,
  ) {
    worker.on('message', (msg: WorkerMessage) => this.onMessage(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`ONNX worker exited unexpectedly with code ${code}`));
    });
  }

  /** Starts the worker and waits until its session is loaded and its tensor names check out. */
  static async start(options: SessionWorkerOptions): Promise<OnnxSessionWorker> {
    const worker = new Worker(WORKER_URL, {
      workerData: { modelPath: options.modelPath, threads: options.threads, nice: options.nice, schedIdle: options.schedIdle ?? false, output: options.output, threadName: options.threadName },
    });
    const ready = await awaitReady<WorkerMessage>(worker, 'the ONNX worker').catch(async (cause: unknown) => {
      await worker.terminate();
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ModelLoadError(
        `ONNX Runtime could not load ${options.displayName}: ${reason}. The file is corrupt, incomplete or not an ONNX model: ` +
          `delete it and run \`fieldscope models pull <name>\` again, or point CLIP_MODEL at a complete model folder.`,
        { cause },
      );
    });
    const missing = options.inputs.filter((n) => !ready.inputNames.includes(n));
    if (missing.length > 0 || !ready.outputNames.includes(options.output)) {
      await worker.terminate();
      throw new ModelLoadError(
        `${options.displayName} has inputs [${ready.inputNames.join(', ')}] and outputs [${ready.outputNames.join(', ')}], ` +
          `but the model description expects inputs [${options.inputs.join(', ')}] and output ${options.output}. ` +
          'Write a manifest (fieldscope-model.json) that names its tensors; see docs/model-manifest.md.',
      );
    }
    return new OnnxSessionWorker(worker, ready.nice, ready.schedIdle);
  }

  get healthy(): boolean {
    return !this.closed && this.crashed === null;
  }

  run(feeds: Record<string, WireTensor>): Promise<RunResult> {
    if (this.closed) return Promise.reject(new UnavailableError('The encoder is shutting down.'));
    if (this.crashed) return Promise.reject(new UnavailableError('The encoder worker has crashed.', { cause: this.crashed }));
    const id = this.nextId++;
    const transfer = Object.values(feeds).map((t) => t.data);
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, feeds }, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new UnavailableError('The encoder was closed.'));
    this.pending.clear();
  }

  private onMessage(msg: WorkerMessage): void {
    if (msg.kind !== 'result' && msg.kind !== 'error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'result') p.resolve({ data: new Float32Array(msg.data), dims: msg.dims, inferMs: msg.inferMs });
    else p.reject(new Error(`ONNX inference failed: ${msg.message}`));
  }

  private fail(err: Error): void {
    this.crashed = err;
    for (const p of this.pending.values()) p.reject(new UnavailableError('The encoder worker has crashed.', { cause: err }));
    this.pending.clear();
  }
}
