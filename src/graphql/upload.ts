/**
 * Reading GraphQL multipart uploads (graphql-upload) into memory with a hard byte limit.
 * Files here are images of at most MAX_UPLOAD_BYTES, so buffering is the simple, safe choice.
 */
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { InvalidInputError, TooLargeError, withItemIndex } from '../errors.js';

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

export async function readUpload(upload: UploadPromise | FileUpload, maxBytes: number): Promise<UploadedFile> {
  let file: FileUpload;
  try {
    file = await upload;
  } catch (cause) {
    throw uploadError(cause, maxBytes);
  }
  if (!file || typeof file.createReadStream !== 'function') {
    throw new InvalidInputError('INVALID_UPLOAD', 'Expected a file sent with the GraphQL multipart request spec (Content-Type: multipart/form-data).');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of file.createReadStream() as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw new TooLargeError('PAYLOAD_TOO_LARGE', `The upload exceeds the ${maxBytes}-byte limit.`, { details: { limitBytes: maxBytes } });
      chunks.push(chunk);
    }
  } catch (cause) {
    throw uploadError(cause, maxBytes);
  }
  const bytes = Buffer.concat(chunks, total);
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), filename: file.filename, mimetype: file.mimetype };
}

/**
 * Reads several uploads one after the other, each under `maxBytesEach` and all together under
 * `maxBytesTotal` (counted as the bytes arrive, so an oversized batch is refused before anything
 * is decoded). Errors carry the offending upload's position in `details.index`.
 */
export async function readUploads(
  uploads: readonly (UploadPromise | FileUpload)[],
  limits: { maxBytesEach: number; maxBytesTotal: number },
): Promise<UploadedFile[]> {
  const files: UploadedFile[] = [];
  let total = 0;
  for (const [index, upload] of uploads.entries()) {
    const budget = Math.min(limits.maxBytesEach, limits.maxBytesTotal - total);
    let file: UploadedFile;
    try {
      file = await readUpload(upload, Math.max(0, budget));
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

function uploadError(cause: unknown, maxBytes: number): Error {
  if (cause instanceof TooLargeError || cause instanceof InvalidInputError) return cause;
  if (httpStatusOf(cause) === 413) {
    return new TooLargeError('PAYLOAD_TOO_LARGE', `The upload exceeds the ${maxBytes}-byte limit.`, { cause, details: { limitBytes: maxBytes } });
  }
  return new InvalidInputError('INVALID_UPLOAD', 'The upload could not be read (the request was cut short or malformed).', { cause });
}
