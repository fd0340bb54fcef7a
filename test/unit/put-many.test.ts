import { describe, expect, it } from 'vitest';
import { putMany } from '../../src/blob/put-many.js';

/** A blob store whose puts wait to be released, and that fails the keys it is told to. */
function gatedStore(failing: Set<string> = new Set()) {
  let running = 0;
  let most = 0;
  const started: string[] = [];
  const waiting: (() => void)[] = [];
  return {
    started,
    most: () => most,
    release: () => waiting.splice(0).forEach((go) => go()),
    async put(bytes: Uint8Array, extension: string): Promise<string> {
      const name = `${Buffer.from(bytes).toString()}.${extension}`;
      started.push(name);
      running += 1;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => waiting.push(resolve));
      running -= 1;
      if (failing.has(name)) throw new Error(`storage refused ${name}`);
      return name;
    },
  };
}

const items = (n: number) => Array.from({ length: n }, (_, i) => (i % 4 === 3 ? null : { bytes: Buffer.from(`b${i}`), extension: 'webp' }));
async function drive<T>(store: ReturnType<typeof gatedStore>, run: Promise<T>): Promise<T> {
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setImmediate(r));
    store.release();
  }
  return run;
}

describe('putMany', () => {
  it('keeps the order given, skips empty slots, and runs at most `concurrency` puts at once', async () => {
    const store = gatedStore();
    const written: string[] = [];
    const keys = await drive(store, putMany(store, items(20), (k) => written.push(k), 3));
    expect(keys).toEqual(items(20).map((it, i) => (it ? `b${i}.webp` : null)));
    expect(store.most()).toBe(3);
    expect(written.sort()).toEqual(keys.filter((k): k is string => k !== null).sort());
  });

  it('on a failure: starts nothing new, waits for the puts in flight, reports every blob written, then rejects', async () => {
    const store = gatedStore(new Set(['b1.webp']));
    const written: string[] = [];
    // What the caller knows when the error reaches it: that is what it can clean up.
    const outcome = putMany(store, items(20), (k) => written.push(k), 3).then(
      () => null,
      (error: unknown) => ({ error, known: [...written] }),
    );
    const result = await drive(store, outcome);
    expect(result?.error).toMatchObject({ message: 'storage refused b1.webp' });
    // b0, b1, b2 ran together; b4 started when b0 finished, before b1 failed in the same round.
    expect(store.started.length).toBeLessThan(8);
    expect(result?.known.sort()).toEqual(store.started.filter((n) => n !== 'b1.webp').sort());
  });
});
