/**
 * GraphQL multipart requests (uploads) whose files are held in memory when the request is small.
 *
 * graphql-upload buffers every uploaded file in a temp file (fs-capacitor) and the resolver reads
 * it back (src/graphql/upload.ts reads every upload into memory anyway): for a photo that is an
 * open, a few writes, reads, a close and an unlink per request, on libuv's pool and the main
 * thread, which is CPU the inference cores then lack (issue 14: ~0.3–0.5 ms of server CPU per
 * `embedImage` on a 2-core machine, measured in bench/README.md). A request that declares a
 * Content-Length of at most IN_MEMORY_MAX_BYTES (while all such requests together declare at most
 * IN_MEMORY_TOTAL_BYTES) is parsed here instead, with the same busboy
 * parser, limits, errors and HTTP statuses as graphql-upload's `processRequest`, but each file kept
 * as the chunks busboy hands over (no copy). Larger requests, and chunked ones that declare no
 * length, still go through graphql-upload to temp files (UPLOAD_TMP_DIR), so memory per request
 * stays bounded by IN_MEMORY_MAX_BYTES. Node's HTTP parser never delivers more body bytes than
 * the declared Content-Length, so the declaration is a bound, not a hint.
 *
 * The parsing below follows graphql-upload 17's processRequest.mjs (MIT, Jayden Seric) step by
 * step; only the file buffer differs (MemoryUpload instead of fs-capacitor's WriteStream).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Writable } from 'node:stream';
import busboy from 'busboy';
import createError from 'http-errors';
import objectPath from 'object-path';
import defaultProcessRequest from 'graphql-upload/processRequest.mjs';
import type { ProcessRequestOptions } from 'graphql-upload/processRequest.mjs';
import Upload from 'graphql-upload/Upload.mjs';

/**
 * Requests up to this size keep their files in memory. Photos are well under it; documents
 * (MAX_DOCUMENT_BYTES, 100 MB by default) above it keep going to disk while they arrive.
 */
export const IN_MEMORY_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Most bytes all in-memory requests together may declare. Memory per request is bounded by
 * IN_MEMORY_MAX_BYTES, but not the number of requests: many clients each holding an 8 MiB upload
 * open would otherwise hold it all in the heap. Past this budget a request goes to a temp file as
 * before, so the worst case for memory is this figure, and disk takes the rest as it always did.
 */
export const IN_MEMORY_TOTAL_BYTES = 16 * IN_MEMORY_MAX_BYTES;

let reservedBytes = 0;

/** Bytes declared by the in-memory requests still open (for tests and metrics). */
export function inMemoryBytesInFlight(): number {
  return reservedBytes;
}

/**
 * One uploaded file's bytes as they arrive: busboy writes the chunks, and any number of readers
 * (`createReadStream`) replay them from the start and follow the writer until it ends or fails,
 * as fs-capacitor's WriteStream does with its temp file.
 */
export class MemoryUpload extends Writable {
  private chunks: Buffer[] = [];
  private ended = false;
  private failure: Error | null = null;
  private released = false;
  private readonly waiting = new Set<() => void>();

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.wake();
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.ended = true;
    this.wake();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.failure = error ?? (this.ended ? null : new Error('The upload was destroyed before it was complete.'));
    this.wake();
    done(error);
  }

  /** Drops the bytes (the request is over); readers still waiting fail. */
  release(): void {
    this.released = true;
    this.chunks = [];
    this.failure ??= new Error('The upload was released.');
    this.wake();
  }

  createReadStream(): Readable {
    let next = 0;
    let wake: (() => void) | null = null;
    // Pushes what has arrived; at the end of it, ends, fails, or waits for the writer.
    const pull = (): void => {
      while (!this.released && next < this.chunks.length) {
        if (!reader.push(this.chunks[next++])) return;
      }
      if (this.released || (this.failure && next >= this.chunks.length)) {
        reader.destroy(this.failure ?? new Error('The upload was released.'));
      } else if (this.ended) {
        reader.push(null);
      } else if (!wake) {
        wake = () => {
          wake = null;
          pull();
        };
        this.waiting.add(wake);
      }
    };
    const reader = new Readable({
      read: pull,
      destroy: (error, done) => {
        if (wake) this.waiting.delete(wake);
        done(error);
      },
    });
    return reader;
  }

  private wake(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const w of waiting) w();
  }
}

type Request = IncomingMessage;
type Response = ServerResponse;
/** What graphql-upload resolves a request to: the operation(s), with Upload objects in place of the files. */
type Operations = Record<string, unknown> | Record<string, unknown>[];

/** As graphql-upload names it in its errors (its constant has no type declaration). */
const GRAPHQL_MULTIPART_REQUEST_SPEC_URL = 'https://github.com/jaydenseric/graphql-multipart-request-spec';

/** graphql-upload's processRequest, with files in memory when the request declares a small body. */
export function processRequest(request: Request, response: Response, options: ProcessRequestOptions = {}): Promise<Operations> {
  const declared = Number(request.headers['content-length']);
  if (request.headers['content-length'] === undefined || !Number.isFinite(declared) || declared > IN_MEMORY_MAX_BYTES || reservedBytes + declared > IN_MEMORY_TOTAL_BYTES) {
    return defaultProcessRequest(request, response, options);
  }
  // Held until the response closes (sent, failed or the client gone), whichever path it ends by.
  reservedBytes += declared;
  response.once('close', () => {
    reservedBytes -= declared;
  });
  return processInMemory(request, response, options);
}

interface FileEntry {
  filename: string;
  mimetype: string;
  encoding: string;
  createReadStream: () => Readable;
  capacitor: MemoryUpload;
}

function processInMemory(request: Request, response: Response, { maxFieldSize = 1000000, maxFileSize = Infinity, maxFiles = Infinity }: ProcessRequestOptions): Promise<Operations> {
  return new Promise((resolve, reject) => {
    let released = false;
    let exitError: Error | undefined;
    let operations: Operations | undefined;
    let operationsPath: ReturnType<typeof objectPath> | undefined;
    let map: Map<string, Upload> | undefined;

    const parser = busboy({
      headers: request.headers,
      defParamCharset: 'utf8',
      limits: { fieldSize: maxFieldSize, fields: 2, fileSize: maxFileSize, files: maxFiles },
    });

    function exit(error: Error, isParserError = false): void {
      if (exitError) return;
      exitError = error;
      if (map) for (const upload of map.values()) if (!upload.file) upload.reject(exitError);
      if (isParserError) parser.destroy();
      else parser.destroy(exitError);
      request.unpipe(parser);
      setImmediate(() => {
        request.resume();
      });
      reject(exitError);
    }

    parser.on('field', (fieldName, value, { valueTruncated }) => {
      if (valueTruncated) return exit(createError(413, `The ‘${fieldName}’ multipart field value exceeds the ${maxFieldSize} byte size limit.`));
      switch (fieldName) {
        case 'operations':
          try {
            operations = JSON.parse(value) as Operations;
          } catch {
            return exit(createError(400, `Invalid JSON in the ‘operations’ multipart field (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
          }
          if (typeof operations !== 'object' || !operations) return exit(createError(400, `Invalid type for the ‘operations’ multipart field (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
          operationsPath = objectPath(operations);
          break;
        case 'map': {
          if (!operations || !operationsPath) return exit(createError(400, `Misordered multipart fields; ‘map’ should follow ‘operations’ (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
          let parsedMap: unknown;
          try {
            parsedMap = JSON.parse(value);
          } catch {
            return exit(createError(400, `Invalid JSON in the ‘map’ multipart field (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
          }
          if (typeof parsedMap !== 'object' || !parsedMap || Array.isArray(parsedMap)) {
            return exit(createError(400, `Invalid type for the ‘map’ multipart field (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
          }
          const mapEntries = Object.entries(parsedMap as Record<string, unknown>);
          if (mapEntries.length > maxFiles) return exit(createError(413, `${maxFiles} max file uploads exceeded.`));
          map = new Map();
          for (const [entryName, paths] of mapEntries) {
            if (!Array.isArray(paths)) {
              return exit(createError(400, `Invalid type for the ‘map’ multipart field entry key ‘${entryName}’ array (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
            }
            map.set(entryName, new Upload());
            for (const [index, objectPathString] of paths.entries()) {
              if (typeof objectPathString !== 'string') {
                return exit(createError(400, `Invalid type for the ‘map’ multipart field entry key ‘${entryName}’ array index ‘${index}’ value (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
              }
              try {
                operationsPath.set(objectPathString, map.get(entryName));
              } catch {
                return exit(
                  createError(400, `Invalid object path for the ‘map’ multipart field entry key ‘${entryName}’ array index ‘${index}’ value ‘${objectPathString}’ (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`),
                );
              }
            }
          }
          resolve(operations);
        }
      }
    });

    parser.on('file', (fieldName, stream, { filename, encoding, mimeType: mimetype }) => {
      if (!map) {
        ignoreStream(stream);
        return exit(createError(400, `Misordered multipart fields; files should follow ‘map’ (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
      }
      const upload = map.get(fieldName);
      if (!upload) {
        ignoreStream(stream);
        return;
      }
      let fileError: Error | undefined;
      const capacitor = new MemoryUpload();
      capacitor.on('error', () => {
        stream.unpipe();
        stream.resume();
      });
      stream.on('limit', () => {
        fileError = createError(413, `File truncated as it exceeds the ${maxFileSize} byte size limit.`);
        stream.unpipe();
        capacitor.destroy(fileError);
      });
      stream.on('error', (error: Error) => {
        fileError = error;
        stream.unpipe();
        capacitor.destroy(fileError);
      });
      const file = {
        filename,
        mimetype,
        encoding,
        createReadStream() {
          const error = fileError || (released ? exitError : null);
          if (error) throw error;
          return capacitor.createReadStream();
        },
      } as FileEntry;
      Object.defineProperty(file, 'capacitor', { value: capacitor, enumerable: false, configurable: false, writable: false });
      stream.pipe(capacitor);
      upload.resolve(file as never);
    });

    parser.once('filesLimit', () => exit(createError(413, `${maxFiles} max file uploads exceeded.`)));

    parser.once('finish', () => {
      request.unpipe(parser);
      request.resume();
      if (!operations) return exit(createError(400, `Missing multipart field ‘operations’ (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
      if (!map) return exit(createError(400, `Missing multipart field ‘map’ (${GRAPHQL_MULTIPART_REQUEST_SPEC_URL}).`));
      for (const upload of map.values()) if (!upload.file) upload.reject(createError(400, 'File missing in the request.'));
    });

    parser.on('error', (error: Error) => {
      exit(error, true);
    });

    response.once('close', () => {
      released = true;
      if (map) for (const upload of map.values()) if (upload.file) (upload.file as unknown as FileEntry).capacitor.release();
    });

    request.once('close', () => {
      if (!request.readableEnded) exit(createError(499, 'Request disconnected during file upload stream parsing.'));
    });

    request.pipe(parser);
  });
}

function ignoreStream(stream: Readable): void {
  stream.on('error', () => {});
  stream.resume();
}
