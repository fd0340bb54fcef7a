/**
 * Errors raised while reading model manifests and pulling model files.
 *
 * Every class carries a stable `code` that callers (CLI, GraphQL, tests) can match on; messages are for
 * humans and may change. The original error is kept as `cause`.
 */

import { AppError } from '../errors.js';

export type ModelErrorCode =
  | 'MODEL_MANIFEST_NOT_FOUND'
  | 'MODEL_MANIFEST_INVALID'
  | 'MODEL_DOWNLOAD_FAILED'
  | 'MODEL_DOWNLOAD_ABORTED'
  | 'MODEL_SIZE_MISMATCH'
  | 'MODEL_CHECKSUM_MISMATCH'
  | 'MODEL_UNVERIFIED'
  | 'MODEL_PULL_LOCKED';

export interface ModelErrorOptions {
  cause?: unknown;
}

/** Base class of every model error: an AppError of the CONFIGURATION category. */
export class ModelError extends AppError {
  declare readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string, options: ModelErrorOptions = {}) {
    super(code, 'CONFIGURATION', message, options);
  }
}

/** A manifest name that has no file in the manifests folder (or a path that does not exist). */
export class ModelManifestNotFoundError extends ModelError {
  constructor(
    readonly manifest: string,
    message: string,
    options: ModelErrorOptions = {},
  ) {
    super('MODEL_MANIFEST_NOT_FOUND', message, options);
  }
}

/** A manifest that is not JSON or does not match the schema. `issues` are human-readable lines. */
export class ModelManifestError extends ModelError {
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
    options: ModelErrorOptions = {},
  ) {
    super('MODEL_MANIFEST_INVALID', `Invalid model manifest ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`, options);
  }
}

export interface ModelDownloadErrorDetails extends ModelErrorOptions {
  /** The manifest path of the file being pulled (e.g. `onnx/vision_model.onnx`). */
  file?: string;
  url?: string;
  /** HTTP status when the server answered with an error status. */
  status?: number;
  /** True when trying again (and resuming) may succeed: network errors, timeouts, 5xx, 429. */
  retriable?: boolean;
}

/** Any failure to fetch a model file: HTTP error status, network error, timeout. */
export class ModelDownloadError extends ModelError {
  readonly file: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly retriable: boolean;

  constructor(message: string, details: ModelDownloadErrorDetails = {}, code: ModelErrorCode = 'MODEL_DOWNLOAD_FAILED') {
    super(code, message, details);
    this.file = details.file;
    this.url = details.url;
    this.status = details.status;
    this.retriable = details.retriable ?? false;
  }
}

/** The pull was cancelled through its AbortSignal. Partial files are kept for a later resume. */
export class ModelDownloadAbortedError extends ModelDownloadError {
  constructor(file: string, url: string | undefined, options: ModelErrorOptions = {}) {
    super(`Download of ${file} was aborted`, { ...options, file, ...(url === undefined ? {} : { url }) }, 'MODEL_DOWNLOAD_ABORTED');
  }
}

/** The server announced or delivered a different number of bytes than the manifest pins. */
export class ModelSizeMismatchError extends ModelDownloadError {
  constructor(
    file: string,
    readonly expectedSize: number,
    readonly actualSize: number,
    url?: string,
  ) {
    super(`Size mismatch for ${file}: expected ${expectedSize} bytes, got ${actualSize}`, { file, ...(url === undefined ? {} : { url }) }, 'MODEL_SIZE_MISMATCH');
  }
}

/** The downloaded bytes do not hash to the manifest's sha256. The partial file has been deleted. */
export class ModelChecksumError extends ModelDownloadError {
  constructor(
    file: string,
    readonly expected: string,
    readonly actual: string,
    url?: string,
  ) {
    super(`Checksum mismatch for ${file}: expected sha256 ${expected}, got ${actual}`, { file, ...(url === undefined ? {} : { url }) }, 'MODEL_CHECKSUM_MISMATCH');
  }
}

/** The manifest has no sha256 for some files and the caller did not allow unverified installs. */
export class ModelUnverifiedError extends ModelError {
  constructor(readonly files: readonly string[]) {
    super(
      'MODEL_UNVERIFIED',
      `Refusing to install file(s) without a pinned sha256: ${files.join(', ')}. ` +
        'Add the checksum to the manifest, or pass --allow-unverified (allowUnverified: true) to install them unchecked.',
    );
  }
}

/** Another pull into the same model folder is running. */
export class ModelPullLockedError extends ModelError {
  constructor(
    readonly lockPath: string,
    readonly pid: number,
  ) {
    super('MODEL_PULL_LOCKED', `Another pull (pid ${pid}) is writing to this model folder; lock file ${lockPath}`);
  }
}

export function isModelError(value: unknown): value is ModelError {
  return value instanceof ModelError;
}
