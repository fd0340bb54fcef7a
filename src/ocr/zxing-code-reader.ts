/**
 * Main-thread handle on the zxing-wasm worker (code-worker.js): RGBA pixels in, raw decoded
 * codes out. One request at a time per worker is enough: decoding is short next to OCR.
 */
import { Worker } from 'node:worker_threads';
import { ModelLoadError, UnavailableError } from '../errors.js';
import { awaitReady } from '../workers/await-ready.js';

type CodeWorkerMessage =
  | { kind: 'ready' }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; codes: { format: string; value: string }[] }
  | { kind: 'error'; id: number; message: string };

const WORKER_URL = new URL('./code-worker.js', import.meta.url);

export class ZxingCodeReader {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (codes: { format: string; value: string }[]) => void; reject: (e: Error) => void }>();
  private closed = false;
  private crashed: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: CodeWorkerMessage) => this.onMessage(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`code worker exited unexpectedly with code ${code}`));
    });
  }

  static async start(nice: number): Promise<ZxingCodeReader> {
    const worker = new Worker(WORKER_URL, { workerData: { nice } });
    try {
      await awaitReady<CodeWorkerMessage>(worker, 'the code worker');
    } catch (cause) {
      await worker.terminate();
      throw new ModelLoadError(`zxing-wasm could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}. Run npm ci.`, { cause });
    }
    return new ZxingCodeReader(worker);
  }

  /** `rgba` is transferred (the caller's buffer is emptied). */
  read(rgba: Uint8Array, width: number, height: number, maxCodes: number): Promise<{ format: string; value: string }[]> {
    if (this.closed) return Promise.reject(new UnavailableError('The code reader is shutting down.'));
    if (this.crashed) return Promise.reject(new UnavailableError('The code reader worker has crashed.', { cause: this.crashed }));
    const id = this.nextId++;
    const owned = rgba.byteOffset === 0 && rgba.byteLength === rgba.buffer.byteLength ? rgba : rgba.slice();
    const buffer = owned.buffer as ArrayBuffer;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rgba: buffer, width, height, maxCodes }, [buffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new UnavailableError('The code reader was closed.'));
    this.pending.clear();
  }

  private onMessage(msg: CodeWorkerMessage): void {
    if (msg.kind !== 'result' && msg.kind !== 'error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'result') p.resolve(msg.codes);
    else p.reject(new Error(`code decoding failed: ${msg.message}`));
  }

  private fail(err: Error): void {
    this.crashed = err;
    for (const p of this.pending.values()) p.reject(new UnavailableError('The code reader worker has crashed.', { cause: err }));
    this.pending.clear();
  }
}
