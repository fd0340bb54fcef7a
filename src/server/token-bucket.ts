/**
 * Token buckets for per-client rate limits. `takeToken` is the whole algorithm as a pure function
 * (state in, state out, time passed in); `TokenBucketStore` keeps one bucket per client with a hard
 * bound on memory: buckets that have refilled completely are indistinguishable from new ones and are
 * dropped, and when the store is still full the least recently used bucket goes.
 */

export interface TokenBucketConfig {
  /** Most tokens a bucket holds: the burst a fresh client may send at once (≥ 1). */
  capacity: number;
  /** Tokens added per second: the sustained rate (> 0). */
  refillPerSecond: number;
}

export interface BucketState {
  /** Tokens left, fractional. */
  tokens: number;
  /** When `tokens` was last brought up to date (milliseconds, any monotonic-enough clock). */
  updatedAtMs: number;
}

export interface TakeResult {
  allowed: boolean;
  /** The bucket after this request: store it. */
  state: BucketState;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When refused, how long until one token is available (ms, ≥ 1); 0 when allowed. */
  retryAfterMs: number;
}

/** Rounding slack: refills are products of fractional rates, and 0.3 + 0.7 must count as a whole token. */
const EPSILON = 1e-9;

export function assertBucketConfig({ capacity, refillPerSecond }: TokenBucketConfig): void {
  if (!Number.isFinite(capacity) || capacity < 1) throw new RangeError(`Token bucket capacity must be a finite number ≥ 1, got ${capacity}.`);
  if (!Number.isFinite(refillPerSecond) || refillPerSecond <= 0) throw new RangeError(`Token bucket refill rate must be a finite number > 0, got ${refillPerSecond}.`);
}

/** Tokens in the bucket at `nowMs`. A clock that went backwards refills nothing (and never drains). */
export function tokensAt(state: BucketState, nowMs: number, { capacity, refillPerSecond }: TokenBucketConfig): number {
  const elapsedMs = Math.max(0, nowMs - state.updatedAtMs);
  return Math.min(capacity, state.tokens + (elapsedMs * refillPerSecond) / 1000);
}

/** One request: take a token if there is one. `state` undefined means a client never seen (a full bucket). */
export function takeToken(state: BucketState | undefined, nowMs: number, config: TokenBucketConfig): TakeResult {
  const tokens = state === undefined ? config.capacity : tokensAt(state, nowMs, config);
  const updatedAtMs = state === undefined ? nowMs : Math.max(nowMs, state.updatedAtMs);
  if (tokens >= 1 - EPSILON) {
    const left = Math.max(0, tokens - 1);
    return { allowed: true, state: { tokens: left, updatedAtMs }, remaining: Math.floor(left + EPSILON), retryAfterMs: 0 };
  }
  const retryAfterMs = Math.max(1, Math.ceil(((1 - tokens) * 1000) / config.refillPerSecond - 1e-6));
  // A refusal changes nothing (and re-deriving from the last real update avoids accumulating rounding).
  return { allowed: false, state: state ?? { tokens, updatedAtMs }, remaining: 0, retryAfterMs };
}

/** Whether a bucket has refilled completely by `nowMs` (and can be forgotten without changing any answer). */
export function isFull(state: BucketState, nowMs: number, config: TokenBucketConfig): boolean {
  return tokensAt(state, nowMs, config) >= config.capacity - EPSILON;
}

export interface TokenBucketStoreOptions extends TokenBucketConfig {
  /** Most clients remembered at once (memory bound). */
  maxClients: number;
}

export class TokenBucketStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly config: TokenBucketConfig;
  private readonly maxClients: number;
  /** A bucket idle this long is full again: sweeping more often finds nothing new. */
  private readonly sweepEveryMs: number;
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor({ capacity, refillPerSecond, maxClients }: TokenBucketStoreOptions) {
    assertBucketConfig({ capacity, refillPerSecond });
    if (!Number.isInteger(maxClients) || maxClients < 1) throw new RangeError(`maxClients must be an integer ≥ 1, got ${maxClients}.`);
    this.config = { capacity, refillPerSecond };
    this.maxClients = maxClients;
    this.sweepEveryMs = Math.max(1000, Math.ceil((capacity * 1000) / refillPerSecond));
  }

  get size(): number {
    return this.buckets.size;
  }

  take(client: string, nowMs: number): TakeResult {
    if (nowMs - this.lastSweepMs >= this.sweepEveryMs) this.sweep(nowMs);
    const previous = this.buckets.get(client);
    const result = takeToken(previous, nowMs, this.config);
    if (previous !== undefined) {
      this.buckets.delete(client); // re-inserted below: Map order is least recently used first
    } else if (this.buckets.size >= this.maxClients) {
      this.sweep(nowMs);
      // Still full of active clients: forget the least recently seen (it restarts with a full bucket).
      while (this.buckets.size >= this.maxClients) {
        const oldest = this.buckets.keys().next();
        if (oldest.done) break;
        this.buckets.delete(oldest.value);
      }
    }
    this.buckets.set(client, result.state);
    return result;
  }

  /** Drops every bucket that has refilled completely; returns how many went. */
  sweep(nowMs: number): number {
    this.lastSweepMs = nowMs;
    let dropped = 0;
    for (const [client, state] of this.buckets) {
      if (isFull(state, nowMs, this.config)) {
        this.buckets.delete(client);
        dropped++;
      }
    }
    return dropped;
  }
}
