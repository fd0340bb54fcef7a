import { describe, expect, it } from 'vitest';
import { isFull, takeToken, TokenBucketStore, type BucketState, type TokenBucketConfig } from '../../src/server/token-bucket.js';
import { clientAddress } from '../../src/server/hardening.js';

const config: TokenBucketConfig = { capacity: 3, refillPerSecond: 1 }; // burst 3, 60 per minute

/** Sends `n` requests at `t` and returns how many were allowed and the last state. */
function burst(n: number, t: number, state?: BucketState) {
  let allowed = 0;
  let last = state;
  let retryAfterMs = 0;
  for (let i = 0; i < n; i++) {
    const r = takeToken(last, t, config);
    last = r.state;
    if (r.allowed) allowed++;
    else retryAfterMs = r.retryAfterMs;
  }
  return { allowed, state: last!, retryAfterMs };
}

describe('takeToken (pure token bucket)', () => {
  it('lets a new client send a full burst, then refuses with the time until the next token', () => {
    const first = takeToken(undefined, 0, config);
    expect(first).toMatchObject({ allowed: true, remaining: 2, retryAfterMs: 0 });
    const { allowed, state, retryAfterMs } = burst(5, 0);
    expect(allowed).toBe(3);
    expect(state.tokens).toBe(0);
    expect(retryAfterMs).toBe(1000);
  });

  it('refills at the configured rate, never beyond the capacity', () => {
    const empty = burst(3, 0).state;
    expect(takeToken(empty, 500, config)).toMatchObject({ allowed: false, retryAfterMs: 500 });
    expect(takeToken(empty, 1000, config).allowed).toBe(true);
    expect(burst(10, 2500, empty).allowed).toBe(2); // 2.5 tokens after 2.5 s
    expect(burst(10, 3_600_000, empty).allowed).toBe(3); // an hour idle: still only the burst
  });

  it('a refused request does not consume or postpone the next token', () => {
    let state = burst(3, 0).state;
    for (let t = 100; t < 1000; t += 100) {
      const r = takeToken(state, t, config);
      expect(r.allowed).toBe(false);
      expect(r.retryAfterMs).toBe(1000 - t);
      state = r.state;
    }
    expect(takeToken(state, 1000, config).allowed).toBe(true);
  });

  it('sustains exactly the refill rate under a constant flood', () => {
    let state: BucketState | undefined;
    let allowed = 0;
    for (let t = 0; t <= 60_000; t += 10) {
      const r = takeToken(state, t, config);
      state = r.state;
      if (r.allowed) allowed++;
    }
    expect(allowed).toBe(3 + 60); // the burst, then one per second
  });

  it('a clock that goes backwards refills nothing and drains nothing', () => {
    const state = burst(3, 10_000).state;
    const r = takeToken(state, 5_000, config);
    expect(r.allowed).toBe(false);
    expect(r.state.updatedAtMs).toBe(10_000);
    expect(takeToken(r.state, 11_000, config).allowed).toBe(true);
  });

  it('rounds retry hints up to at least a millisecond for fractional rates', () => {
    const slow = { capacity: 1, refillPerSecond: 0.5 }; // 30 per minute
    const empty = takeToken(undefined, 0, slow).state;
    expect(takeToken(empty, 0, slow).retryAfterMs).toBe(2000);
    expect(takeToken({ tokens: 0.9999999, updatedAtMs: 0 }, 0, slow).retryAfterMs).toBe(1);
  });

  it('knows when a bucket is full again (safe to forget)', () => {
    const state = burst(3, 0).state;
    expect(isFull(state, 2999, config)).toBe(false);
    expect(isFull(state, 3000, config)).toBe(true);
  });
});

describe('TokenBucketStore (one bucket per client, bounded memory)', () => {
  it('keeps clients apart', () => {
    const store = new TokenBucketStore({ ...config, maxClients: 100 });
    for (let i = 0; i < 3; i++) expect(store.take('a', 0).allowed).toBe(true);
    expect(store.take('a', 0).allowed).toBe(false);
    expect(store.take('b', 0).allowed).toBe(true);
  });

  it('never holds more than maxClients buckets, even under a flood of distinct clients', () => {
    const store = new TokenBucketStore({ ...config, maxClients: 1000 });
    for (let i = 0; i < 50_000; i++) store.take(`client-${i}`, i); // one new client per ms
    expect(store.size).toBeLessThanOrEqual(1000);
  });

  it('drops idle buckets once they have refilled (and a dropped client is no better off)', () => {
    const store = new TokenBucketStore({ ...config, maxClients: 1000 });
    for (let i = 0; i < 500; i++) store.take(`idle-${i}`, 0);
    expect(store.size).toBe(500);
    store.take('late', 10_000); // the periodic sweep runs on a later request
    expect(store.size).toBe(1);
    expect(store.sweep(10_000)).toBe(0);
  });

  it('when full of active clients, evicts the least recently seen, not the busy one', () => {
    const store = new TokenBucketStore({ ...config, maxClients: 3 });
    store.take('busy', 0);
    store.take('x', 0);
    store.take('y', 0);
    store.take('busy', 1); // busy is now the most recently seen
    store.take('busy', 2);
    store.take('busy', 3);
    expect(store.take('busy', 4).allowed).toBe(false);
    store.take('z', 5); // evicts x
    expect(store.size).toBe(3);
    expect(store.take('busy', 6).allowed).toBe(false); // still remembered: still limited
  });

  it('rejects nonsense configuration', () => {
    expect(() => new TokenBucketStore({ capacity: 0, refillPerSecond: 1, maxClients: 1 })).toThrow(RangeError);
    expect(() => new TokenBucketStore({ capacity: 1, refillPerSecond: 0, maxClients: 1 })).toThrow(RangeError);
    expect(() => new TokenBucketStore({ capacity: 1, refillPerSecond: Number.NaN, maxClients: 1 })).toThrow(RangeError);
    expect(() => new TokenBucketStore({ capacity: 1, refillPerSecond: 1, maxClients: 0 })).toThrow(RangeError);
  });
});

describe('clientAddress (what an anonymous client is keyed by)', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
    // Text that is not an address keys no bucket of its own (trusted-proxy.ts never lets it through).
    ['<script>', 'unknown'],
    ['1.2.3.4, bar', 'unknown'],
  ])('%s → %s', (ip, expected) => {
    expect(clientAddress(ip)).toBe(expected);
  });
});
