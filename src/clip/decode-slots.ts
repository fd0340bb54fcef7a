/**
 * At most `size` image decodes at a time, first come first served.
 *
 * Why: sharp decodes on libuv's pool threads, which run at the process's normal priority, while
 * the image inference threads run niced (CLIP_IMAGE_NICE) so that text queries win the CPU. Up to
 * four decodes at once (the libuv pool) took both cores from a text query under image load; one at
 * a time costs nothing in throughput (a photo decodes in ~5 ms of one core with shrink-on-load, a
 * ViT-B/32 image takes ~80 ms of CPU to infer, so one decode slot feeds ~15× the inference rate).
 */
export class DecodeSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {
    if (!(size >= 1)) throw new Error('DecodeSlots needs at least one slot');
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
