/**
 * Errors of the knowledge store. The start-up checks (vector size, model, schema version) are
 * CONFIGURATION errors whose message says what to do, since the operator reads them in the
 * log of a server that refused to start.
 */
import { AppError, type AppErrorOptions } from '../errors.js';

/** The store holds vectors of another size than the configured model produces. */
export class VectorSizeMismatchError extends AppError {
  constructor(location: string, stored: number, configured: number) {
    super(
      'VECTOR_SIZE_MISMATCH',
      'CONFIGURATION',
      `The knowledge store at ${location} holds ${stored}-dimensional vectors, but the configured model produces ${configured}-dimensional ones. ` +
        `Use the model the store was built with, or point DATA_DIR at a new folder and ingest the documents again.`,
      { details: { location, storedDim: stored, configuredDim: configured } },
    );
  }
}

/** The store holds vectors of another model (same size, different space: scores would be meaningless). */
export class EmbeddingModelMismatchError extends AppError {
  constructor(location: string, stored: string, configured: string) {
    super(
      'MODEL_MISMATCH',
      'CONFIGURATION',
      `The knowledge store at ${location} was built with the model "${stored}", but the configured model is "${configured}"; vectors of different models cannot be compared. ` +
        `Use the model the store was built with, or point DATA_DIR at a new folder and ingest the documents again.`,
      { details: { location, storedModel: stored, configuredModel: configured } },
    );
  }
}

/** The database file was written by a newer version of the program. */
export class StoreSchemaTooNewError extends AppError {
  constructor(location: string, found: number, supported: number) {
    super(
      'STORE_SCHEMA_TOO_NEW',
      'CONFIGURATION',
      `The knowledge store at ${location} has schema version ${found}, newer than this program supports (${supported}). Upgrade the program, or point DATA_DIR at another folder.`,
      { details: { location, found, supported } },
    );
  }
}

/**
 * A vector handed to the store is unusable: wrong length, NaN/Infinity, or all zeros. Embeddings
 * come from our own encoder, so this is a fault on our side, not the API user's.
 */
export class InvalidVectorError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('INVALID_VECTOR', 'INTERNAL', message, options);
  }
}

/**
 * The thread that ranks the lexical signal of a large SQLite store stopped (crashed, ran out of
 * memory, or could not start): the search that was waiting for it fails with this code, and the
 * next search starts a new thread. The server stays up; retrying the search is the remedy.
 */
export class SearchWorkerFailedError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('SEARCH_WORKER_FAILED', 'UNAVAILABLE', message, options);
  }
}
