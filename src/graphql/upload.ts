/**
 * Reading GraphQL multipart uploads (graphql-upload) into memory with a hard byte limit.
 * Files here are images of at most MAX_UPLOAD_BYTES, so buffering is the simple, safe choice.
 *
 * The operation's abort signal ends a read that is still waiting for bytes: the upload arrives while
 * the operation runs, so a client that stalls mid-upload would otherwise hold the resolver past its
 * deadline forever (no answer settles, and the operation is never audited). An upload cut off by
 * the client (graphql-upload's 499) is the client's doing: CLIENT_CLOSED_REQUEST, not INVALID_UPLOAD.
 */
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { ClientClosedError, InvalidInputError, TooLargeError, withItemIndex } from '../errors.js';

/** What the Upload scalar resolves to. */
export type UploadPromise = Promise<FileUpload>;

export interface UploadedFile {
  bytes: Uint8Array;
  filename: string;
  mimetype: string;
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number') return error.status;
  return undefined;
}

export async function readUpload(upload: UploadPromise | FileUpload, maxBytes: number, signal?: AbortSignal): Promise<UploadedFile> {
  signal?.throwIfAborted();
  let file: FileUpload;
  try {
    file = await untilAborted(Promise.resolve(upload), signal);
  } catch (cause) {
    throw uploadError(cause, maxBytes, signal);
  }
  if (!file || typeof file.createReadStream !== 'function') {
    throw new InvalidInputError('INVALID_UPLOAD', 'Expected a file sent with the GraphQL multipart request spec (Content-Type: multipart/form-data).');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  let stopReading: (() => void) | undefined;
  try {
    const stream = file.createReadStream();
    stopReading = () => stream.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', stopReading, { once: true });
    if (signal?.aborted) stopReading();
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw new TooLargeError('PAYLOAD_TOO_LARGE', `The upload exceeds the ${maxBytes}-byte limit.`, { details: { limitBytes: maxBytes } });
      chunks.push(chunk);
    }
  } catch (cause) {
    throw uploadError(cause, maxBytes, signal);
  } finally {
    if (stopReading) signal?.removeEventListener('abort', stopReading);
  }
  const bytes = Buffer.concat(chunks, total);
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), filename: file.filename, mimetype: file.mimetype };
}

/** `promise`, or the signal's reason as soon as it aborts (the file part of an upload may never come). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Reads several uploads one after the other, each under `maxBytesEach` and all together under
 * `maxBytesTotal` (counted as the bytes arrive, so an oversized batch is refused before anything
 * is decoded). Errors carry the offending upload's position in `details.index`.
 */
export async function readUploads(
  uploads: readonly (UploadPromise | FileUpload)[],
  limits: { maxBytesEach: number; maxBytesTotal: number },
  signal?: AbortSignal,
): Promise<UploadedFile[]> {
  const files: UploadedFile[] = [];
  let total = 0;
  for (const [index, upload] of uploads.entries()) {
    const budget = Math.min(limits.maxBytesEach, limits.maxBytesTotal - total);
    let file: UploadedFile;
    try {
      file = await readUpload(upload, Math.max(0, budget), signal);
    } catch (error) {
      if (error instanceof TooLargeError && budget < limits.maxBytesEach) {
        throw new TooLargeError('PAYLOAD_TOO_LARGE', `images[${index}] takes the request over its ${limits.maxBytesTotal}-byte limit for all images together.`, {
          cause: error,
          details: { index, limitBytes: limits.maxBytesTotal },
        });
      }
      throw withItemIndex(error, index, 'images');
    }
    total += file.bytes.length;
    files.push(file);
  }
  return files;
}

function uploadError(cause: unknown, maxBytes: number, signal: AbortSignal | undefined): Error {
  // Cut off by the deadline or by the client leaving: the operation's own reason (TIMEOUT, CLIENT_CLOSED_REQUEST).
  if (signal?.aborted && signal.reason instanceof Error) return signal.reason;
  if (cause instanceof TooLargeError || cause instanceof InvalidInputError) return cause;
  const status = httpStatusOf(cause);
  if (status === 413) {
    return new TooLargeError('PAYLOAD_TOO_LARGE', `The upload exceeds the ${maxBytes}-byte limit.`, { cause, details: { limitBytes: maxBytes } });
  }
  // graphql-upload: "Request disconnected during file upload stream parsing."
  if (status === 499) return new ClientClosedError('The client closed the connection before the upload was complete.');
  return new InvalidInputError('INVALID_UPLOAD', 'The upload could not be read (the request was cut short or malformed).', { cause });
}
