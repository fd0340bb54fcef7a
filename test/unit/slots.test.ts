import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/workers/slots.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Slots', () => {
  it('runs at most `size` tasks at once, in arrival order, and every task runs', async () => {
    const slots = new Slots(1);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        slots.run(async () => {
          running++;
          most = Math.max(most, running);
          order.push(i);
          await tick();
          running--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('with 2 slots runs two at a time', async () => {
    const slots = new Slots(2);
    let running = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 5 }, () => slots.run(async () => (running++, (most = Math.max(most, running)), await tick(), running--))));
    expect(most).toBe(2);
  });

  it('a failing task frees its slot; a task whose signal aborted while waiting is skipped', async () => {
    const slots = new Slots(1);
    const abort = new AbortController();
    const ran: string[] = [];
    const first = slots.run(async () => {
      await tick();
      throw new Error('corrupt');
    });
    const skipped = slots.run(async () => ran.push('skipped'), abort.signal);
    abort.abort(new Error('client gone'));
    const last = slots.run(async () => ran.push('last'));
    await expect(first).rejects.toThrow('corrupt');
    await expect(skipped).rejects.toThrow('client gone');
    await last;
    expect(ran).toEqual(['last']);
  });
});
