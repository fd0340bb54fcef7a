/**
 * A bounded queue that groups single items into batches for a pool of runners (one per
 * ONNX worker). Backpressure is explicit: when the queue is full, `submit` fails at once with
 * OVERLOADED and a retry hint instead of letting latency and memory grow without bound.
 */
import { OverloadedError } from '../errors.js';

export interface MicroBatcherOptions<I, O> {
  name: string;
  maxBatch: number;
  /** How long the first item of a partial batch may wait for company. */
  maxWaitMs: number;
  maxQueue: number;
  /** One function per runner; each is called with at most one batch at a time. */
  runners: ReadonlyArray<(items: I[]) => Promise<O[]>>;
  /** Called per batch with its size and how long its oldest item waited (ms). */
  onBatch?: (size: number, oldestWaitMs: number) => void;
}

interface Entry<I, O> {
  item: I;
  enqueuedAt: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher<I, O> {
  private readonly queue: Entry<I, O>[] = [];
  private readonly idle: number[];
  private timer: NodeJS.Timeout | null = null;
  /** Rolling average batch time, for the retry hint. */
  private avgBatchMs = 50;

  constructor(private readonly options: MicroBatcherOptions<I, O>) {
    if (options.runners.length === 0) throw new Error('MicroBatcher needs at least one runner');
    this.idle = options.runners.map((_, i) => i);
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Queues all items or none; resolves with one output per item, in order. */
  submit(items: readonly I[]): Promise<O[]> {
    if (this.queue.length + items.length > this.options.maxQueue) {
      const batchesAhead = Math.ceil(this.queue.length / this.options.maxBatch / this.options.runners.length);
      const retryAfterMs = Math.max(100, Math.round(batchesAhead * this.avgBatchMs));
      return Promise.reject(
        new OverloadedError(`The ${this.options.name} encoder queue is full (${this.queue.length} waiting); retry in about ${retryAfterMs} ms.`, retryAfterMs),
      );
    }
    const now = performance.now();
    const promises = items.map(
      (item) => new Promise<O>((resolve, reject) => this.queue.push({ item, enqueuedAt: now, resolve, reject })),
    );
    this.pump();
    return Promise.all(promises);
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const oldest = this.queue[0]!;
      const waited = performance.now() - oldest.enqueuedAt;
      if (this.queue.length < this.options.maxBatch && waited < this.options.maxWaitMs) {
        this.timer ??= setTimeout(() => {
          this.timer = null;
          this.pump();
        }, this.options.maxWaitMs - waited);
        return;
      }
      const runnerIndex = this.idle.shift()!;
      const batch = this.queue.splice(0, this.options.maxBatch);
      void this.runBatch(runnerIndex, batch);
    }
  }

  private async runBatch(runnerIndex: number, batch: Entry<I, O>[]): Promise<void> {
    const started = performance.now();
    this.options.onBatch?.(batch.length, started - batch[0]!.enqueuedAt);
    try {
      const outputs = await this.options.runners[runnerIndex]!(batch.map((e) => e.item));
      if (outputs.length !== batch.length) throw new Error(`runner returned ${outputs.length} outputs for ${batch.length} items`);
      batch.forEach((e, i) => e.resolve(outputs[i]!));
    } catch (error) {
      for (const e of batch) e.reject(error);
    } finally {
      this.avgBatchMs = 0.8 * this.avgBatchMs + 0.2 * (performance.now() - started);
      this.idle.push(runnerIndex);
      this.pump();
    }
  }
}
