/**
 * The one error a blob store raises when its storage cannot be used right now: object storage
 * down or timing out, the bucket gone, credentials refused. Clients see the stable code
 * `UNAVAILABLE` and a retry hint (`retryAfterMs`; /files answers 503 with Retry-After), and the
 * operation has written nothing a reader could see (see ingest-service.ts for the order).
 *
 * The cause kept here is a plain summary (name, HTTP status, message), never the SDK's error
 * object: that one carries the raw request and response, and a logger that serialises the
 * cause must not find a credential in it.
 */
import { AppError } from '../errors.js';

/** How long a client should wait before trying again, when the storage gave no better hint. */
export const BLOB_RETRY_AFTER_MS = 5000;

export interface BlobFailure {
  /** put, get, open, read, has, delete, status. */
  operation: string;
  /** Where: `s3://bucket at endpoint` (never credentials). */
  location: string;
  /** One sentence: what went wrong and, when known, what fixes it. */
  reason: string;
  status?: number;
}

export class BlobStoreUnavailableError extends AppError {
  constructor(failure: BlobFailure, cause: Error) {
    super('UNAVAILABLE', 'UNAVAILABLE', `File storage is unavailable (${failure.operation} at ${failure.location}): ${failure.reason} Try again in ${BLOB_RETRY_AFTER_MS / 1000} s.`, {
      cause,
      details: { retryAfterMs: BLOB_RETRY_AFTER_MS, storage: failure.location },
    });
  }
}
