/**
 * One Qdrant call with retries: 429 (waiting at least the server's retry-after), 5xx, timeouts
 * and dropped connections are retried with exponential backoff and jitter; other failures are
 * final. Every store write is idempotent (deterministic ids, set-payload and delete by filter),
 * so a write whose answer was lost can be sent again.
 *
 * The client (@qdrant/js-client-rest 1.18) turns a 429 with a retry-after header into
 * QdrantClientResourceExhaustedError, but reads only the header's first character
 * (`headers.get('retry-after')?.[0]`): "12" arrives as 1 s. The wait is therefore the larger
 * of that value and the backoff, and repeated 429s keep backing off.
 *
 * An answer that is not Qdrant's (a body cut short, a proxy's HTML error page, JSON without a
 * `result`) is a failing dependency too: retried like a 5xx, then QDRANT_UNAVAILABLE, never a
 * TypeError deep in the store that the API would mask as an internal error.
 *
 * A request that timed out is retried at most once (TIMEOUT_RETRIES), whatever
 * QDRANT_MAX_RETRIES says. A server that gave no answer within QDRANT_TIMEOUT_MS is hanging or
 * overloaded: sending the same request four more times mostly multiplies the wait (10 s × 5 plus
 * backoff, ~53 s for one search) and piles more work on a server that is already behind. One
 * retry still covers a single lost request or a brief stall. 429, 5xx, dropped connections and
 * answers that are not Qdrant's fail fast by themselves, so they keep the full QDRANT_MAX_RETRIES.
 * Writes follow the same rule: a timed-out upsert may have been applied, but points are upserted
 * by deterministic ids (set-payload and delete by filter likewise), so its one retry is safe, and
 * an add that still fails is rerun by its client (the unfinished add is invisible until committed
 * and its points are swept); more retries would not make a hanging Qdrant answer.
 */
import { QdrantClientResourceExhaustedError, QdrantClientTimeoutError, QdrantClientUnexpectedResponseError } from '@qdrant/js-client-rest';
import { QdrantRequestError, QdrantUnavailableError, type QdrantFailure } from './qdrant-errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff; doubles per retry. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A retry-after longer than this is not waited for: the call fails at once. */
  maxRetryAfterMs: number;
}

/** Retries of a request after it timed out (counted over the whole call, at most QDRANT_MAX_RETRIES). */
export const TIMEOUT_RETRIES = 1;

export interface CallTarget {
  url: string;
  collection: string;
  operation: string;
  /** The client timeout, for the message. */
  timeoutMs: number;
}

/** Qdrant (or whatever answers in its place) sent an answer without a usable result. */
export class QdrantBadAnswerError extends Error {
  override name = 'QdrantBadAnswerError';
}

interface Classified {
  retryable: boolean;
  /** No answer within the client's timeout: retried at most TIMEOUT_RETRIES times. */
  timedOut?: boolean;
  status?: number;
  retryAfterMs?: number;
  reason: string;
}

function errorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function qdrantMessage(data: unknown): string | undefined {
  if (data && typeof data === 'object') {
    const status = (data as { status?: unknown }).status;
    if (status && typeof status === 'object' && typeof (status as { error?: unknown }).error === 'string') return (status as { error: string }).error;
  }
  if (typeof data === 'string' && data.length > 0) return data.slice(0, 500);
  return undefined;
}

export function classifyQdrantError(error: unknown, timeoutMs: number): Classified {
  if (error instanceof QdrantClientResourceExhaustedError) {
    return { retryable: true, status: 429, retryAfterMs: Math.max(0, error.retry_after) * 1000, reason: 'rate limited' };
  }
  if (error instanceof QdrantClientTimeoutError) return { retryable: true, timedOut: true, reason: `no answer within ${timeoutMs} ms` };
  if (error instanceof QdrantClientUnexpectedResponseError) return { retryable: false, reason: error.message };
  if (error instanceof QdrantBadAnswerError) return { retryable: true, reason: error.message };
  // The client parses every answer with JSON.parse: a SyntaxError is an answer that is not JSON.
  if (error instanceof SyntaxError) return { retryable: true, reason: `its answer is not valid JSON (${error.message.slice(0, 120)})` };
  if (error && typeof error === 'object' && typeof (error as { status?: unknown }).status === 'number') {
    const { status, statusText, data } = error as { status: number; statusText?: string; data?: unknown };
    const reason = qdrantMessage(data) ?? statusText ?? 'error';
    return { retryable: status === 429 || status === 408 || status >= 500, status, reason };
  }
  if (error instanceof Error) {
    // The client's own parse of an unusable retry-after (e.g. an HTTP date) fails this way.
    if (/^Invalid retryAfter value/.test(error.message)) return { retryable: true, status: 429, reason: 'rate limited' };
    // The client's own check of an answer without `result` (an HTML page, JSON of another shape).
    if (error.message === 'Result came uninitialized') return { retryable: true, reason: 'its answer has no result (not an answer of Qdrant: a proxy error page?)' };
    const code = errorCode(error);
    if (error.name === 'TypeError' && /fetch failed/i.test(error.message)) return { retryable: true, reason: `connection failed${code ? ` (${code})` : ''}` };
    if (code && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|UND_ERR_\w+)$/.test(code)) return { retryable: true, reason: `connection failed (${code})` };
  }
  return { retryable: false, reason: error instanceof Error ? error.message : String(error) };
}

export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  // Full jitter in the upper half: replicas retrying together spread out.
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `signal`: the caller's operation (its deadline, its client gone). Once it fires no new attempt
 * starts and a backoff wait ends at once: the call rejects with `signal.reason` (the attempt in
 * flight, if any, ends at its own timeout).
 */
export async function callWithRetry<T>(target: CallTarget, policy: RetryPolicy, fn: () => Promise<T>, sleep: (ms: number) => Promise<void> = defaultSleep, signal?: AbortSignal): Promise<T> {
  let timeouts = 0;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      const result = await fn();
      // Every operation the store uses answers an object or an array: null/undefined means the body was not Qdrant's.
      if (result === null || result === undefined) throw new QdrantBadAnswerError('its answer has no result (not an answer of Qdrant: a proxy error page?)');
      return result;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const c = classifyQdrantError(error, target.timeoutMs);
      const failure: QdrantFailure = { url: target.url, collection: target.collection, operation: target.operation, status: c.status, attempts: attempt };
      if (!c.retryable) {
        if (c.status !== undefined) throw new QdrantRequestError(failure, c.reason, error);
        throw error;
      }
      if (attempt > policy.maxRetries) throw new QdrantUnavailableError(failure, c.reason, error);
      if (c.timedOut && ++timeouts > TIMEOUT_RETRIES) {
        throw new QdrantUnavailableError(failure, `${c.reason} (a request that timed out is retried only ${TIMEOUT_RETRIES === 1 ? 'once' : `${TIMEOUT_RETRIES} times`})`, error);
      }
      if (c.retryAfterMs !== undefined && c.retryAfterMs > policy.maxRetryAfterMs) {
        throw new QdrantUnavailableError(failure, `${c.reason}; the server asks to retry after ${Math.round(c.retryAfterMs / 1000)} s, longer than the ${policy.maxRetryAfterMs} ms this store waits`, error);
      }
      await untilAborted(sleep(Math.max(c.retryAfterMs ?? 0, backoffMs(policy, attempt - 1))), signal);
    }
  }
}

/** Resolves with `wait`, or rejects with the signal's reason as soon as it fires. */
function untilAborted(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
