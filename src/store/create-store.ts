/**
 * Builds the configured KnowledgeStore: the embedded SQLite store (default, one file under
 * DATA_DIR) or Qdrant (VECTOR_STORE=qdrant). No I/O here; the caller runs `init()` — directly,
 * or with `initStoreWithRetry` when a server should come up (not ready) while Qdrant is still
 * unreachable instead of exiting into a restart loop.
 */
import path from 'node:path';
import { isAppError } from '../errors.js';
import type { KnowledgeStore } from './knowledge-store.js';
import { QdrantKnowledgeStore, type QdrantKnowledgeStoreOptions } from './qdrant/qdrant-knowledge-store.js';
import { SqliteKnowledgeStore, type SqliteKnowledgeStoreOptions } from './sqlite/sqlite-knowledge-store.js';

export type StoreKind = 'sqlite' | 'qdrant';

/** The SQLite knowledge base file inside DATA_DIR. */
export const SQLITE_FILE_NAME = 'fieldscope.db';

export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, SQLITE_FILE_NAME);
}

export type QdrantStoreSettings = Omit<QdrantKnowledgeStoreOptions, 'dim' | 'modelId' | 'sleep'>;

export interface CreateKnowledgeStoreOptions {
  kind: StoreKind;
  dataDir: string;
  /** Embedding size and model id of the configured CLIP model. */
  dim: number;
  modelId: string;
  /** Required when kind is 'qdrant'. */
  qdrant?: QdrantStoreSettings;
  /** Tuning of the SQLite store (search thresholds, busy timeout). */
  sqlite?: Omit<SqliteKnowledgeStoreOptions, 'file' | 'dim' | 'modelId'>;
}

export function createKnowledgeStore(options: CreateKnowledgeStoreOptions): KnowledgeStore {
  if (options.kind === 'qdrant') {
    if (!options.qdrant) throw new Error('createKnowledgeStore: kind "qdrant" needs the qdrant settings (QDRANT_URL, QDRANT_COLLECTION_PREFIX, …).');
    return new QdrantKnowledgeStore({ ...options.qdrant, dim: options.dim, modelId: options.modelId });
  }
  return new SqliteKnowledgeStore({ ...options.sqlite, file: sqliteFile(options.dataDir), dim: options.dim, modelId: options.modelId });
}

export interface InitRetryOptions {
  /** First wait after a failed attempt; doubled per attempt up to `maxDelayMs`. Default 1000 / 30 000. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Stop trying (the promise rejects with the last error). */
  signal?: AbortSignal;
  /** Called after each failed attempt that will be retried, e.g. to log one clear line. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `store.init()` until it succeeds (a knowledge store, or any store with the same `init`
 * contract, such as the Postgres records database). Only UNAVAILABLE failures (Qdrant unreachable, timing
 * out, overloaded) are retried; a configuration error (vector size or model mismatch, a wrong
 * API key, a foreign collection) rejects at once, since waiting cannot fix it.
 */
export async function initStoreWithRetry(store: Pick<KnowledgeStore, 'init'>, options: InitRetryOptions = {}): Promise<void> {
  const initial = options.initialDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      await store.init();
      return;
    } catch (error) {
      if (!isAppError(error) || error.category !== 'UNAVAILABLE' || options.signal?.aborted) throw error;
      const delay = Math.min(max, initial * 2 ** (attempt - 1));
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
      if (options.signal?.aborted) throw error;
    }
  }
}
