/**
 * At most `size` tasks at a time, first come first served: a counting semaphore, small enough to
 * read. Used for image decodes in the CLIP encoder (see DECODE_SLOTS there) and for documents in
 * the CLI ingest (one at a time while photos go several at once).
 */
export class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {
    if (!(size >= 1)) throw new Error('Slots needs at least one slot');
  }

  /** Runs `task` when a slot is free; skips it (rejecting with the reason) if `signal` aborted meanwhile. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      signal?.throwIfAborted();
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight on
      else this.running--;
    }
  }
}
