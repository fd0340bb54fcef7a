/**
 * Errors raised while recognising and reading uploaded documents. All are AppErrors, so their
 * messages reach API users and their `code` is stable; the original error is kept as `cause`.
 */
import { AppError, type AppErrorOptions } from '../errors.js';

/** The file is of a kind we do not ingest (archive, Office file, executable, SVG, binary junk). */
export class UnsupportedFileError extends AppError {
  declare readonly code: 'UNSUPPORTED_MEDIA_TYPE';

  constructor(message: string, options?: AppErrorOptions) {
    super('UNSUPPORTED_MEDIA_TYPE', 'BAD_USER_INPUT', message, options);
  }
}

/** The uploaded file has no bytes. */
export class EmptyFileError extends AppError {
  declare readonly code: 'EMPTY_FILE';

  constructor(message = 'The uploaded file is empty.', options?: AppErrorOptions) {
    super('EMPTY_FILE', 'BAD_USER_INPUT', message, options);
  }
}

/**
 * The file claims a supported kind but cannot be read: a corrupt or truncated PDF
 * (INVALID_DOCUMENT), or text that is not valid UTF-8 (INVALID_ENCODING).
 */
export class InvalidDocumentError extends AppError {
  declare readonly code: 'INVALID_DOCUMENT' | 'INVALID_ENCODING';

  constructor(message: string, options?: AppErrorOptions & { code?: 'INVALID_DOCUMENT' | 'INVALID_ENCODING' }) {
    super(options?.code ?? 'INVALID_DOCUMENT', 'BAD_USER_INPUT', message, options);
  }
}

/** A password-protected PDF: we cannot read it, and never ask for passwords. */
export class EncryptedDocumentError extends AppError {
  declare readonly code: 'ENCRYPTED_DOCUMENT';

  constructor(message = 'The PDF is password-protected. Remove the password first (open it and save or print it as an unprotected PDF), then upload it again.', options?: AppErrorOptions) {
    super('ENCRYPTED_DOCUMENT', 'BAD_USER_INPUT', message, options);
  }
}

/** Over a configured limit: too many pages/sections (TOO_MANY_PAGES) or too many bytes (PAYLOAD_TOO_LARGE). */
export class DocumentTooLargeError extends AppError {
  declare readonly code: 'TOO_MANY_PAGES' | 'PAYLOAD_TOO_LARGE';

  constructor(code: 'TOO_MANY_PAGES' | 'PAYLOAD_TOO_LARGE', message: string, options?: AppErrorOptions) {
    super(code, 'PAYLOAD_TOO_LARGE', message, options);
  }
}

/**
 * Past a limit on the work one document may cost once decompressed: more text than allowed, a
 * page that takes too long to parse and render, or more memory than the extraction worker has
 * (a decompression bomb: a small PDF whose streams inflate to hundreds of megabytes).
 * `details.limit` says which: 'text', 'pageTime' or 'memory'.
 */
export class DocumentTooComplexError extends AppError {
  declare readonly code: 'DOCUMENT_TOO_COMPLEX';

  constructor(message: string, options?: AppErrorOptions) {
    super('DOCUMENT_TOO_COMPLEX', 'PAYLOAD_TOO_LARGE', message, options);
  }
}
