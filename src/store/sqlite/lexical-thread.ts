/**
 * The lexical worker (lexical-worker.js) as the SQLite store sees it: `rank` sends one lexical
 * query to the worker's own read-only connection and resolves with its [target id, score] rows.
 *
 * Why: better-sqlite3 is synchronous, so the signals of one search ran one after the other on the
 * main thread (at 1M pages: chunks ~59 ms, images ~23 ms, BM25 ~64 ms). With BM25 on a thread of
 * its own the store starts it first and runs the vector searches meanwhile, so a text query
 * takes about the longer of the two instead of their sum on an otherwise idle machine.
 *
 * - Lazy and idle-stopped: each worker costs ~35 MB of RSS and ~0.7 s of CPU to load (tsx,
 *   better-sqlite3, the file), one per tenant store. The store asks `readyElseStart()` on each
 *   large search: no worker is started at open (a CLI that never searches never pays), the first
 *   search starts one and ranks on the calling thread meanwhile (as before the worker existed, so
 *   never slower), and a worker unused for IDLE_MS is ended; the next search starts it again.
 * - A worker that died is started again: a search waiting on it fails with SEARCH_WORKER_FAILED;
 *   the next one gets a new one. One that could not start is retried after RETRY_MS, not on every search.
 * - An aborted search stops waiting at once (the worker finishes the query it is on, which the
 *   plan's budgets bound, and its answer is dropped).
 * - The worker never keeps the process alive while nothing waits for it.
 */
import { Worker } from 'node:worker_threads';
import { AppError, UnavailableError, type ErrorCategory } from '../../errors.js';
import type { SearchFilter } from '../knowledge-store.js';
import { SearchWorkerFailedError } from '../store-errors.js';
import { awaitReady } from '../../workers/await-ready.js';
import type { LexicalRankOptions, LexicalRow } from './lexical-ranker.js';

const WORKER_URL = new URL('./lexical-worker.js', import.meta.url);
/** A worker that cannot load in this long (tsx, better-sqlite3, opening the file) is broken. */
const STARTUP_MS = 60_000;
/**
 * A worker no search used for this long is ended, returning its ~35 MB. Not a setting: a restart
 * costs ~0.7 s of CPU on the other core and the search that triggers it runs on the calling
 * thread meanwhile, so the only cost of a short value is that CPU, once per idle spell.
 */
export const LEXICAL_WORKER_IDLE_MS = 120_000;
/** After a worker failed to start, searches rank on the calling thread this long before another try. */
const RETRY_MS = 30_000;

type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'load-failed'; message: string }
  | { kind: 'rows'; id: number; rows: LexicalRow[] }
  | { kind: 'failed'; id: number; error: { name: string; code: string | null; category: string | null; message: string; details: Record<string, unknown> | null } };

interface Pending {
  resolve(rows: LexicalRow[]): void;
  reject(error: unknown): void;
}

interface Running {
  worker: Worker;
  ready: Promise<void>;
  /** Set once the worker said it is ready: only then does the store hand it searches. */
  isReady: boolean;
  pending: Map<number, Pending>;
  /** performance.now() of the last search sent or answered. */
  lastUsed: number;
  idleTimer: NodeJS.Timeout | null;
}

/** An error the worker sent back, with its code (INVALID_FILTER, SQLITE_…) and category when it had them. */
function rebuild(error: Extract<WorkerMessage, { kind: 'failed' }>['error']): Error {
  if (error.code && error.category) return new AppError(error.code, error.category as ErrorCategory, error.message, error.details ? { details: error.details } : {});
  const out = new Error(error.message) as Error & { code?: string };
  out.name = error.name;
  if (error.code) out.code = error.code;
  return out;
}

export class LexicalThread {
  private running: Running | null = null;
  private nextId = 1;
  private closed = false;
  private retryAt = 0;
  /** Workers started so far (the first, one after each that died or was stopped for idleness). */
  starts = 0;
  /** Searches the worker answered so far (tests tell its answers from the calling thread's). */
  answered = 0;
  /** Workers ended for idleness so far. */
  idleStops = 0;
  /** How long an unused worker lives (LEXICAL_WORKER_IDLE_MS; tests shorten it). */
  idleMs = LEXICAL_WORKER_IDLE_MS;

  constructor(private readonly options: LexicalRankOptions & { file: string }) {}

  /** 'stopped' (no thread), 'starting' (loading) or 'ready' (ranking searches). */
  get state(): 'stopped' | 'starting' | 'ready' {
    if (!this.running) return 'stopped';
    return this.running.isReady ? 'ready' : 'starting';
  }

  /**
   * True when a ready worker can take a search now. Otherwise starts one (unless closed or a
   * start failed less than RETRY_MS ago) and returns false: the caller ranks on its own thread.
   */
  readyElseStart(): boolean {
    if (this.closed) return false;
    if (this.running) return this.running.isReady;
    if (performance.now() < this.retryAt) return false;
    this.ensure();
    return false;
  }

  /** Starts the worker if none is running and resolves once it is ready (benchmarks and tests). */
  start(): Promise<void> {
    return this.ensure().ready;
  }

  private ensure(): Running {
    if (this.running) return this.running;
    const worker = new Worker(WORKER_URL, { workerData: { ...this.options } });
    this.starts++;
    const running: Running = { worker, ready: Promise.resolve(), isReady: false, pending: new Map(), lastUsed: performance.now(), idleTimer: null };
    running.ready = awaitReady<WorkerMessage>(worker, 'the lexical search worker', STARTUP_MS).then(() => {
      running.isReady = true;
      // Idle time counts from ready: loading is not idleness.
      running.lastUsed = performance.now();
      if (this.running === running) this.armIdle(running, this.idleMs);
    });
    running.ready.catch(() => {
      // Could not start (load failure, timeout): end it, and let searches rank here for a while.
      if (this.running !== running) return;
      this.running = null;
      this.retryAt = performance.now() + RETRY_MS;
      this.stopTimer(running);
      void worker.terminate();
    });
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.kind !== 'rows' && msg.kind !== 'failed') return;
      const waiting = running.pending.get(msg.id);
      if (!waiting) return; // its search was aborted
      running.pending.delete(msg.id);
      this.idleCheck(running);
      this.answered++;
      if (msg.kind === 'rows') waiting.resolve(msg.rows);
      else waiting.reject(rebuild(msg.error));
    });
    const died = (cause: unknown): void => {
      if (this.running === running) this.running = null;
      this.stopTimer(running);
      const error = new SearchWorkerFailedError('The lexical search worker stopped before answering; the next search starts a new one.', { cause });
      for (const waiting of running.pending.values()) waiting.reject(error);
      running.pending.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`the lexical search worker exited with code ${code}`)));
    worker.unref();
    this.running = running;
    return running;
  }

  /** Holds the process open only while a search waits on the worker. */
  private idleCheck(running: Running): void {
    running.lastUsed = performance.now();
    if (running.pending.size === 0) running.worker.unref();
  }

  /** Checks in `ms` whether the worker has been unused for idleMs; ends it if so, else checks again later. */
  private armIdle(running: Running, ms: number): void {
    running.idleTimer = setTimeout(() => {
      running.idleTimer = null;
      if (this.running !== running) return;
      const unused = performance.now() - running.lastUsed;
      if (running.pending.size > 0 || unused < this.idleMs) {
        this.armIdle(running, Math.max(1, this.idleMs - (running.pending.size > 0 ? 0 : unused)));
        return;
      }
      this.running = null;
      this.idleStops++;
      void running.worker.terminate();
    }, ms);
    running.idleTimer.unref();
  }

  private stopTimer(running: Running): void {
    if (running.idleTimer) clearTimeout(running.idleTimer);
    running.idleTimer = null;
  }

  /** The worker's rows for the query; `signal` ends the wait (the rejection is the signal's reason). */
  async rank(query: string, limit: number, filter: SearchFilter | undefined, signal?: AbortSignal): Promise<LexicalRow[]> {
    signal?.throwIfAborted();
    if (this.closed) throw new UnavailableError('The knowledge store is closed.');
    const running = this.ensure();
    const id = this.nextId++;
    running.lastUsed = performance.now();
    const answer = new Promise<LexicalRow[]>((resolve, reject) => running.pending.set(id, { resolve, reject }));
    running.worker.ref();
    // Sent at once (messages queue until the worker is ready), so the worker works while the caller does.
    running.worker.postMessage({ kind: 'rank', id, query, limit, filter });
    const startup = running.ready.catch((cause: unknown) => {
      throw new SearchWorkerFailedError(`The lexical search worker could not start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    });
    if (!signal) return Promise.all([startup, answer]).then(([, rows]) => rows);
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        running.pending.delete(id);
        this.idleCheck(running);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([Promise.all([startup, answer]).then(([, rows]) => rows), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** For tests of crash handling: the worker throws an uncaught error, as a fault in it would. */
  crashForTest(): void {
    this.ensure().worker.postMessage({ kind: 'fail', message: 'crash requested by a test' });
  }

  /** Ends the worker; searches still waiting fail with UNAVAILABLE (the store is closing, as for any other call now). */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.running;
    this.running = null;
    if (!running) return;
    this.stopTimer(running);
    const closing = new UnavailableError('The knowledge store was closed while the search ran.');
    for (const waiting of running.pending.values()) waiting.reject(closing);
    running.pending.clear();
    await running.worker.terminate();
  }
}
