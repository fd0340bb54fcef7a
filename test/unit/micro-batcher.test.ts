import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../../src/errors.js';
import { MicroBatcher, submitInSlices } from '../../src/clip/micro-batcher.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('MicroBatcher', () => {
  it('groups concurrent submissions into batches of at most maxBatch, preserving order', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({
      name: 't', maxBatch: 3, maxWaitMs: 5, maxQueue: 100,
      runners: [async (xs) => { batches.push(xs); return xs.map((x) => x * 10); }],
    });
    const results = await Promise.all([b.submit([1, 2]), b.submit([3, 4, 5]), b.submit([6])]);
    expect(results).toEqual([[10, 20], [30, 40, 50], [60]]);
    expect(batches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Math.max(...batches.map((x) => x.length))).toBeLessThanOrEqual(3);
  });

  it('runs a lone item after maxWaitMs instead of waiting for a full batch', async () => {
    const b = new MicroBatcher<number, number>({ name: 't', maxBatch: 64, maxWaitMs: 2, maxQueue: 100, runners: [async (xs) => xs] });
    await expect(b.submit([7])).resolves.toEqual([7]);
  });

  it('fails fast with OVERLOADED and a retry hint when the queue is full, and admits again once drained', async () => {
    const gate = deferred<void>();
    const b = new MicroBatcher<number, number>({
      name: 'image', maxBatch: 2, maxWaitMs: 0, maxQueue: 4,
      runners: [async (xs) => { await gate.promise; return xs; }],
    });
    const first = b.submit([1, 2]); // taken by the runner
    const queued = b.submit([3, 4, 5, 6]); // fills the queue
    const refused = b.submit([7]);
    await expect(refused).rejects.toBeInstanceOf(OverloadedError);
    await expect(refused).rejects.toMatchObject({ code: 'OVERLOADED', details: { retryAfterMs: expect.any(Number) } });
    gate.resolve();
    await expect(first).resolves.toEqual([1, 2]);
    await expect(queued).resolves.toEqual([3, 4, 5, 6]);
    await expect(b.submit([8])).resolves.toEqual([8]);
  });

  it('rejects every item of a failed batch and keeps serving later ones', async () => {
    let calls = 0;
    const b = new MicroBatcher<number, number>({
      name: 't', maxBatch: 8, maxWaitMs: 0, maxQueue: 100,
      runners: [async (xs) => { calls++; if (calls === 1) throw new Error('boom'); return xs; }],
    });
    await expect(b.submit([1, 2])).rejects.toThrow('boom');
    await expect(b.submit([3])).resolves.toEqual([3]);
  });

  it('keeps every runner busy at once', async () => {
    let active = 0;
    let peak = 0;
    const slow = async (xs: number[]) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      return xs;
    };
    const b = new MicroBatcher<number, number>({ name: 't', maxBatch: 1, maxWaitMs: 0, maxQueue: 100, runners: [slow, slow, slow] });
    await Promise.all([1, 2, 3, 4, 5, 6].map((x) => b.submit([x])));
    expect(peak).toBe(3);
  });

  it("refuses one owner past its share of the queue while another owner still gets in", async () => {
    const gate = deferred<void>();
    const b = new MicroBatcher<number, number>({
      name: 'text', maxBatch: 2, maxWaitMs: 0, maxQueue: 10, maxQueuePerOwner: 5,
      runners: [async (xs) => { await gate.promise; return xs; }],
    });
    const running = b.submit([0, 0], { owner: 'a' }); // taken by the runner at once
    const flood = b.submit([1, 2, 3, 4, 5], { owner: 'a' });
    const more = b.submit([6], { owner: 'a' });
    await expect(more).rejects.toMatchObject({ code: 'OVERLOADED', message: expect.stringContaining('share') });
    const other = b.submit([7], { owner: 'b' });
    expect(b.depthOf('a')).toBe(5);
    gate.resolve();
    await expect(Promise.all([running, flood, other])).resolves.toEqual([[0, 0], [1, 2, 3, 4, 5], [7]]);
  });

  it("puts another owner's item in the next batch instead of behind a flood (round-robin)", async () => {
    const gate = deferred<void>();
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({
      name: 'text', maxBatch: 4, maxWaitMs: 0, maxQueue: 100,
      runners: [async (xs) => { batches.push(xs); await gate.promise; return xs; }],
    });
    const first = b.submit([1, 2, 3, 4], { owner: 'a' });
    const flood = b.submit([5, 6, 7, 8, 9, 10, 11, 12], { owner: 'a' });
    const query = b.submit([100], { owner: 'b' });
    gate.resolve();
    await Promise.all([first, flood, query]);
    expect(batches[0]).toEqual([1, 2, 3, 4]);
    expect(batches[1]).toContain(100);
    expect(batches.flat().filter((x) => x !== 100)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('takes an aborted submission out of the queue: its items are never run', async () => {
    const gate = deferred<void>();
    const ran: number[] = [];
    const b = new MicroBatcher<number, number>({
      name: 'text', maxBatch: 2, maxWaitMs: 0, maxQueue: 100,
      runners: [async (xs) => { ran.push(...xs); await gate.promise; return xs; }],
    });
    const busy = b.submit([1, 2]);
    const controller = new AbortController();
    const abandoned = b.submit([3, 4, 5], { signal: controller.signal });
    controller.abort(new Error('deadline'));
    await expect(abandoned).rejects.toThrow('deadline');
    expect(b.depth).toBe(0);
    gate.resolve();
    await busy;
    await expect(b.submit([6])).resolves.toEqual([6]);
    expect(ran).toEqual([1, 2, 6]);
    await expect(b.submit([7], { signal: controller.signal })).rejects.toThrow('deadline');
  });

  it('submitInSlices feeds a call larger than the queue through it, a slice at a time', async () => {
    let peak = 0;
    const b = new MicroBatcher<number, number>({
      name: 'text', maxBatch: 4, maxWaitMs: 0, maxQueue: 10,
      runners: [async (xs) => { peak = Math.max(peak, b.depth + xs.length); return xs.map((x) => x * 2); }],
    });
    const items = Array.from({ length: 1000 }, (_, i) => i);
    await expect(b.submit(items)).rejects.toMatchObject({ code: 'OVERLOADED' });
    const out = await submitInSlices(b, items, { sliceSize: 16 });
    expect(out).toEqual(items.map((x) => x * 2));
    expect(peak).toBeLessThanOrEqual(10);
  });
});

describe('MicroBatcher fillWhileBusy (several runners fed by a stream of requests)', () => {
  /** Two runners whose batches finish when the test says so; records each batch. */
  function twoGatedRunners(fillWhileBusy?: { minBatch: number; maxWaitMs: number }) {
    const batches: number[][] = [];
    const gates: (() => void)[] = [];
    const run = async (xs: number[]) => {
      batches.push(xs);
      await new Promise<void>((resolve) => gates.push(resolve));
      return xs;
    };
    const b = new MicroBatcher<number, number>({ name: 'image', maxBatch: 8, maxWaitMs: 0, maxQueue: 100, runners: [run, run], ...(fillWhileBusy ? { fillWhileBusy } : {}) });
    return { b, batches, gates };
  }
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('holds a small batch back while the other runner is busy, and starts it once it reaches minBatch', async () => {
    const { b, batches, gates } = twoGatedRunners({ minBatch: 3, maxWaitMs: 10_000 });
    const first = b.submit([1]); // both idle: runs at once, alone
    await tick();
    expect(batches).toEqual([[1]]);
    const rest = [b.submit([2]), b.submit([3])];
    await tick();
    expect(batches).toHaveLength(1); // 2 items < minBatch while runner 1 is busy: held
    rest.push(b.submit([4]));
    await tick();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    gates.forEach((g) => g());
    await expect(first).resolves.toEqual([1]);
    await expect(Promise.all(rest)).resolves.toEqual([[2], [3], [4]]);
  });

  it('holds no longer than maxWaitMs', async () => {
    const { b, batches, gates } = twoGatedRunners({ minBatch: 4, maxWaitMs: 30 });
    const first = b.submit([1]);
    await tick();
    const lone = b.submit([2]);
    await tick();
    expect(batches).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(batches).toEqual([[1], [2]]);
    gates.forEach((g) => g());
    await Promise.all([first, lone]);
  });

  it('starts a held batch as soon as the busy runner frees up', async () => {
    const { b, batches, gates } = twoGatedRunners({ minBatch: 4, maxWaitMs: 10_000 });
    const first = b.submit([1]);
    await tick();
    const held = b.submit([2, 3]);
    await tick();
    expect(batches).toHaveLength(1);
    gates[0]!(); // runner 1 done: nobody is busy, so waiting would only leave cores idle
    await expect(first).resolves.toEqual([1]);
    await tick();
    expect(batches).toEqual([[1], [2, 3]]);
    gates[1]!();
    await expect(held).resolves.toEqual([2, 3]);
  });

  it('without fillWhileBusy an idle runner takes a lone item at once (the old behaviour)', async () => {
    const { b, batches, gates } = twoGatedRunners();
    const first = b.submit([1]);
    await tick();
    const lone = b.submit([2]);
    await tick();
    expect(batches).toEqual([[1], [2]]);
    gates.forEach((g) => g());
    await Promise.all([first, lone]);
  });
});
