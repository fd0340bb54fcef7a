/**
 * A bounded queue that groups single items into batches for a pool of runners (one per
 * ONNX worker). Backpressure is explicit: when the queue is full, `submit` fails at once with
 * OVERLOADED and a retry hint instead of letting latency and memory grow without bound.
 *
 * Shared by every tenant, so it is fair between them (by `owner`, the tenant): one owner may hold
 * at most `maxQueuePerOwner` of the queue (a flood from one tenant is refused while the others
 * still get in), and batches take items round-robin across owners (another tenant's one query
 * rides in the next batch instead of waiting behind a flood). A submission with an AbortSignal
 * leaves the queue when it is aborted, so abandoned work is not computed.
 */
import { OverloadedError } from '../errors.js';

export interface MicroBatcherOptions<I, O> {
  name: string;
  maxBatch: number;
  /** How long the first item of a partial batch may wait for company. */
  maxWaitMs: number;
  /**
   * While another runner is busy, a batch smaller than `minBatch` waits up to `maxWaitMs` for
   * company instead of starting at once. The cores are in use then anyway, and tiny batches cost
   * more per item (ViT-B/32 on one thread: ~30% more CPU per image at batch 1 than at 4), so two
   * runners fed by a stream of requests settle on fuller batches. When every runner is idle a
   * batch still starts at once: a lone request is never held.
   */
  fillWhileBusy?: { minBatch: number; maxWaitMs: number };
  maxQueue: number;
  /** Most items one owner may have waiting (default maxQueue: no share). */
  maxQueuePerOwner?: number;
  /** One function per runner; each is called with at most one batch at a time. */
  runners: ReadonlyArray<(items: I[]) => Promise<O[]>>;
  /** Called per batch with its size and how long its oldest item waited (ms). */
  onBatch?: (size: number, oldestWaitMs: number) => void;
}

export interface SubmitOptions {
  /** Who the work is for (a tenant): the unit of the queue share and of round-robin batching. */
  owner?: string;
  /** Aborting it takes the submission's waiting items out of the queue and rejects with the abort reason. */
  signal?: AbortSignal;
}

const NO_OWNER = '';

interface Entry<I, O> {
  item: I;
  owner: string;
  enqueuedAt: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher<I, O> {
  private readonly queue: Entry<I, O>[] = [];
  private readonly waitingByOwner = new Map<string, number>();
  private readonly idle: number[];
  private timer: NodeJS.Timeout | null = null;
  /** When an idle runner began holding a small batch back (fillWhileBusy); null when not holding. */
  private holdingSince: number | null = null;
  /** Rolling average batch time, for the retry hint. */
  private avgBatchMs = 50;

  constructor(private readonly options: MicroBatcherOptions<I, O>) {
    if (options.runners.length === 0) throw new Error('MicroBatcher needs at least one runner');
    this.idle = options.runners.map((_, i) => i);
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Items waiting for `owner`. */
  depthOf(owner: string): number {
    return this.waitingByOwner.get(owner) ?? 0;
  }

  /** The most items one call may queue at once (callers with more split them: see `submitInSlices`). */
  get maxQueuePerOwner(): number {
    return Math.min(this.options.maxQueue, this.options.maxQueuePerOwner ?? this.options.maxQueue);
  }

  /** Queues all items or none; resolves with one output per item, in order. */
  submit(items: readonly I[], { owner = NO_OWNER, signal }: SubmitOptions = {}): Promise<O[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ownerDepth = this.depthOf(owner);
    const overShare = ownerDepth + items.length > this.maxQueuePerOwner;
    if (this.queue.length + items.length > this.options.maxQueue || overShare) {
      const batchesAhead = Math.ceil((overShare ? ownerDepth : this.queue.length) / this.options.maxBatch / this.options.runners.length);
      const retryAfterMs = Math.max(100, Math.round(batchesAhead * this.avgBatchMs));
      const what = overShare
        ? `Your share of the ${this.options.name} encoder queue is full (${ownerDepth} of ${this.maxQueuePerOwner} waiting)`
        : `The ${this.options.name} encoder queue is full (${this.queue.length} waiting)`;
      return Promise.reject(new OverloadedError(`${what}; retry in about ${retryAfterMs} ms.`, retryAfterMs));
    }
    const now = performance.now();
    const entries: Entry<I, O>[] = [];
    const promises = items.map(
      (item) =>
        new Promise<O>((resolve, reject) => {
          const entry = { item, owner, enqueuedAt: now, resolve, reject };
          entries.push(entry);
          this.queue.push(entry);
        }),
    );
    this.waitingByOwner.set(owner, ownerDepth + items.length);
    if (signal) {
      const onAbort = () => {
        const mine = new Set(entries);
        let removed = 0;
        for (let i = this.queue.length - 1; i >= 0; i--) {
          if (mine.has(this.queue[i]!)) {
            this.queue.splice(i, 1);
            removed++;
          }
        }
        this.release(owner, removed);
        for (const e of entries) e.reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      void Promise.allSettled(promises).then(() => signal.removeEventListener('abort', onAbort));
    }
    this.pump();
    return Promise.all(promises);
  }

  private release(owner: string, count: number): void {
    const left = (this.waitingByOwner.get(owner) ?? 0) - count;
    if (left > 0) this.waitingByOwner.set(owner, left);
    else this.waitingByOwner.delete(owner);
  }

  /** Up to maxBatch items, round-robin across owners in queue order (FIFO within an owner). */
  private takeBatch(): Entry<I, O>[] {
    const max = this.options.maxBatch;
    if (this.waitingByOwner.size <= 1) return this.queue.splice(0, max);
    const byOwner = new Map<string, Entry<I, O>[]>();
    for (const e of this.queue) {
      const list = byOwner.get(e.owner);
      if (list) list.push(e);
      else byOwner.set(e.owner, [e]);
    }
    const lists = [...byOwner.values()];
    const batch: Entry<I, O>[] = [];
    for (let round = 0; batch.length < max; round++) {
      let took = false;
      for (const list of lists) {
        if (round < list.length && batch.length < max) {
          batch.push(list[round]!);
          took = true;
        }
      }
      if (!took) break;
    }
    const taken = new Set(batch);
    let w = 0;
    for (const e of this.queue) if (!taken.has(e)) this.queue[w++] = e;
    this.queue.length = w;
    return batch;
  }

  private pump(): void {
    if (this.queue.length === 0) this.holdingSince = null;
    while (this.idle.length > 0 && this.queue.length > 0) {
      if (this.queue.length < this.options.maxBatch) {
        const now = performance.now();
        const waited = now - this.queue[0]!.enqueuedAt;
        if (waited < this.options.maxWaitMs) return this.pumpIn(this.options.maxWaitMs - waited);
        const fill = this.options.fillWhileBusy;
        const anotherBusy = this.idle.length < this.options.runners.length;
        if (fill && anotherBusy && this.queue.length < fill.minBatch) {
          this.holdingSince ??= now;
          const held = now - this.holdingSince;
          if (held < fill.maxWaitMs) return this.pumpIn(fill.maxWaitMs - held);
        }
      }
      this.holdingSince = null;
      const runnerIndex = this.idle.shift()!;
      const batch = this.takeBatch();
      for (const e of batch) this.release(e.owner, 1);
      void this.runBatch(runnerIndex, batch);
    }
  }

  /** Pumps again in `ms` (unless a pump is already due); events (a submission, a finished batch) pump sooner. */
  private pumpIn(ms: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.pump();
    }, ms);
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

/**
 * Submits `items` in slices no bigger than the caller's share of the queue (and a few batches),
 * one slice after the other, so a call of any size (a catalogue of 1,000 label prompts, a
 * 600-page document) never overflows the queue and never holds more than a slice of it. Stops
 * between slices when `signal` is aborted.
 */
export async function submitInSlices<I, O>(batcher: MicroBatcher<I, O>, items: readonly I[], options: SubmitOptions & { sliceSize: number }): Promise<O[]> {
  const size = Math.max(1, Math.min(options.sliceSize, batcher.maxQueuePerOwner));
  if (items.length <= size) return batcher.submit(items, options);
  const out: O[] = [];
  for (let i = 0; i < items.length; i += size) {
    options.signal?.throwIfAborted();
    out.push(...(await batcher.submit(items.slice(i, i + size), options)));
  }
  return out;
}
