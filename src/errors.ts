/**
 * Domain errors. Each carries a stable `code` that clients switch on (it becomes
 * `extensions.code` in GraphQL responses) and a `category` that says which family of
 * failure it is. Anything that is not an AppError is masked as INTERNAL_SERVER_ERROR
 * by the error formatter, so messages here are written for the API's users.
 */
export type ErrorCategory =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'CONFIGURATION'
  | 'INTERNAL';

export interface AppErrorOptions {
  cause?: unknown;
  /** Extra machine-readable details for clients (limits, offending index, retry hints). */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, category: ErrorCategory, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.category = category;
    this.details = options.details;
  }
}

/** The same error, naming which item of a list argument it is about (`details.index`, and the message). */
export function withItemIndex(error: unknown, index: number, list: string): unknown {
  if (!(error instanceof AppError)) return error;
  return new AppError(error.code, error.category, `${list}[${index}]: ${error.message}`, { cause: error, details: { ...error.details, index } });
}

/** The request itself is wrong: empty list, too many items, text too long, bad argument. */
export class InvalidInputError extends AppError {
  constructor(code: string, message: string, options?: AppErrorOptions) {
    super(code, 'BAD_USER_INPUT', message, options);
  }
}

/** An uploaded file is not something we can use: not an image, corrupt, SVG, empty. */
export class InvalidImageError extends AppError {
  constructor(code: 'INVALID_IMAGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'EMPTY_FILE', message: string, options?: AppErrorOptions) {
    super(code, 'BAD_USER_INPUT', message, options);
  }
}

/** Something is over a configured size limit (bytes, pixels). */
export class TooLargeError extends AppError {
  constructor(code: 'PAYLOAD_TOO_LARGE' | 'IMAGE_TOO_LARGE', message: string, options?: AppErrorOptions) {
    super(code, 'PAYLOAD_TOO_LARGE', message, options);
  }
}

/** The server is at capacity; the client should retry after `details.retryAfterMs`. */
export class OverloadedError extends AppError {
  constructor(message: string, retryAfterMs: number) {
    super('OVERLOADED', 'UNAVAILABLE', message, { details: { retryAfterMs } });
  }
}

/** The model folder is missing files, corrupt, or inconsistent with its manifest. */
export class ModelLoadError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('MODEL_LOAD_FAILED', 'CONFIGURATION', message, options);
  }
}

/** The process configuration (environment) is invalid. */
export class ConfigError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('INVALID_CONFIGURATION', 'CONFIGURATION', message, options);
  }
}

/** The service is shutting down or not ready yet. */
export class UnavailableError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('UNAVAILABLE', 'UNAVAILABLE', message, options);
  }
}

/**
 * The client went away (closed the HTTP connection or the WebSocket) while its operation ran: the
 * operation is stopped with this reason. The client's doing, not a server failure, so it has a
 * stable code (the audit's outcome) and is not logged as an unexpected error.
 */
export class ClientClosedError extends AppError {
  constructor(message = 'The client closed the connection.') {
    super('CLIENT_CLOSED_REQUEST', 'BAD_USER_INPUT', message);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
