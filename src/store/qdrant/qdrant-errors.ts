/**
 * Errors of the Qdrant store. Each says which Qdrant, which collection, which operation and
 * (when there was one) which HTTP status failed, and keeps the client's error as `cause`.
 */
import { AppError } from '../../errors.js';
import { EmbeddingModelMismatchError, VectorSizeMismatchError } from '../store-errors.js';

export interface QdrantFailure {
  /** Base URL of the Qdrant server (never with credentials). */
  url: string;
  collection: string;
  /** The REST operation, as Qdrant's OpenAPI names it (upsert_points, query_points, …). */
  operation: string;
  status?: number;
  attempts: number;
}

function where(f: QdrantFailure): string {
  return `${f.operation} on collection "${f.collection}" at ${f.url}`;
}

/** What a QDRANT_UNAVAILABLE error suggests to wait (its retries with backoff have already been spent). */
export const UNAVAILABLE_RETRY_AFTER_MS = 5000;

/** Qdrant could not be reached, timed out, or kept answering 429/5xx through every retry. */
export class QdrantUnavailableError extends AppError {
  constructor(failure: QdrantFailure, reason: string, cause: unknown) {
    super(
      'QDRANT_UNAVAILABLE',
      'UNAVAILABLE',
      `Qdrant did not complete ${where(failure)}: ${reason}${failure.status ? ` (HTTP ${failure.status})` : ''}; gave up after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}.`,
      // retryAfterMs: as the other dependencies' UNAVAILABLE errors say when a retry makes sense.
      { cause, details: { ...failure, retryAfterMs: UNAVAILABLE_RETRY_AFTER_MS } },
    );
  }
}

/** Qdrant refused a request (4xx other than 429): a bug on our side, or a wrong API key. */
export class QdrantRequestError extends AppError {
  constructor(failure: QdrantFailure, reason: string, cause: unknown) {
    const auth = failure.status === 401 || failure.status === 403;
    super(
      auth ? 'QDRANT_UNAUTHORIZED' : 'QDRANT_REQUEST_REJECTED',
      auth ? 'CONFIGURATION' : 'INTERNAL',
      `Qdrant rejected ${where(failure)} with HTTP ${failure.status ?? '?'}: ${reason}${auth ? ' Check QDRANT_API_KEY.' : ''}`,
      { cause, details: { ...failure } },
    );
  }
}

/** The collection exists but is not one this program made (vectors missing or of another kind). */
export class QdrantCollectionMismatchError extends AppError {
  constructor(url: string, collection: string, problem: string) {
    super(
      'QDRANT_COLLECTION_MISMATCH',
      'CONFIGURATION',
      `The Qdrant collection "${collection}" at ${url} cannot hold this knowledge base: ${problem}. ` +
        'Set QDRANT_COLLECTION_PREFIX to a prefix of your own so Fieldscope creates its collection, or delete that collection.',
      { details: { url, collection, problem } },
    );
  }
}

/** VectorSizeMismatchError with the fix that applies to Qdrant (a collection, not DATA_DIR). */
export class QdrantVectorSizeMismatchError extends VectorSizeMismatchError {
  constructor(url: string, collection: string, stored: number, configured: number) {
    super(`${url} (collection "${collection}")`, stored, configured);
    this.message =
      `The Qdrant collection "${collection}" at ${url} holds ${stored}-dimensional vectors, but the configured model produces ${configured}-dimensional ones. ` +
      `Use the model the collection was built with, or set QDRANT_COLLECTION_PREFIX to a new prefix (or delete the collection) and run \`fieldscope migrate --to qdrant\` or ingest the documents again.`;
  }
}

export class QdrantModelMismatchError extends EmbeddingModelMismatchError {
  constructor(url: string, collection: string, stored: string, configured: string) {
    super(`${url} (collection "${collection}")`, stored, configured);
    this.message =
      `The Qdrant collection "${collection}" at ${url} was built with the model "${stored}", but the configured model is "${configured}"; vectors of different models cannot be compared. ` +
      `Use the model the collection was built with, or set QDRANT_COLLECTION_PREFIX to a new prefix and ingest the documents again.`;
  }
}
