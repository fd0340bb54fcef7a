/**
 * Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, R2, …), so API replicas hold no
 * files: a photo ingested on one replica is served by the other. The only file that calls
 * `@aws-sdk/client-s3`.
 *
 * - Layout: one bucket for every tenant. An object's key is the blob's path relative to
 *   DATA_DIR in the disk layout (`blobs/ab/cd/<sha256>.<ext>`, `tenants/<t>/blobs/…`), so a
 *   DATA_DIR's blob folder and a bucket map one to one, and tenants never share a prefix.
 * - Writes are whole or absent: PutObject makes an object visible only when all of it arrived,
 *   and the request carries the SHA-256 the key is made of (`x-amz-checksum-sha256`), so a
 *   server that checks it refuses a corrupted upload instead of storing it.
 * - Reads stream: /files answers from a GetObject with a Range, piped with backpressure; a
 *   client that goes away aborts the S3 response. Nothing reads a whole file into memory
 *   except `get` (callers that need the bytes: hashing a photo again, deleting from caches).
 * - Request checksums are sent only when the operation requires them
 *   (`requestChecksumCalculation: 'WHEN_REQUIRED'`). SDK v3 ≥ 3.729 otherwise sends a CRC32 on
 *   every upload, and for a streamed body as an `aws-chunked` trailer: s3rver 3.7 (tests) then
 *   stores the chunk framing as the file's content, and older S3-compatible servers refuse it.
 *   Measured here with client-s3 3.1175: Buffer bodies work either way; stream bodies are
 *   corrupted on s3rver unless WHEN_REQUIRED.
 * - Failures: a missing object is null (or false); anything else — unreachable, timing out,
 *   5xx, the bucket gone, credentials refused — is BlobStoreUnavailableError (code UNAVAILABLE,
 *   retry hint). Credentials are never part of a message, a status or an error's cause.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobStoreUnavailableError } from './blob-errors.js';
import { blobKeyOf, blobPath, isBlobKey, type BlobEntry, type BlobReader, type BlobStore, type BlobStoreStatus } from './blob-store.js';

export interface S3BlobSettings {
  /** An S3-compatible server's URL (MinIO: http://minio:9000); unset: AWS S3 of `region`. */
  endpoint: string | undefined;
  bucket: string;
  region: string;
  /** Both or neither; neither: the SDK's default credential chain (instance role, AWS_* variables, …). */
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key` (MinIO and most S3-compatible servers). */
  forcePathStyle: boolean;
  /** Longest wait for an answer (a HEAD, a DELETE, the first byte of a GET), in ms; uploads get one more second per MB. */
  timeoutMs: number;
  /** Most connections to the storage at once (each streaming /files response holds one). */
  maxSockets: number;
}

/** The object prefix of a tenant's blobs: its folder below DATA_DIR, then `blobs/`. */
export function tenantBlobPrefix(tenantFolder: string): string {
  const folder = tenantFolder.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
  return folder ? `${folder}/blobs/` : 'blobs/';
}

/** A URL fit for logs and /ready: no user-info part. */
function publicEndpoint(endpoint: string | undefined, region: string): string {
  if (!endpoint) return `AWS S3 (${region})`;
  return endpoint.replace(/\/\/[^/@\s]*@/, '//');
}

interface Connection {
  client: S3Client;
  settings: S3BlobSettings;
  location: string;
}

/** What an SDK error says, without the request and response it carries. */
interface ErrorFacts {
  name: string;
  status: number | undefined;
  code: string | undefined;
  message: string;
}

function factsOf(error: unknown): ErrorFacts {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    status: typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined,
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: typeof e?.message === 'string' ? e.message.slice(0, 300) : String(error).slice(0, 300),
  };
}

function isMissingObject(f: ErrorFacts): boolean {
  return f.status === 404 && (f.name === 'NoSuchKey' || f.name === 'NotFound');
}

/** Passes `take` bytes after skipping `skip`, then ends (the rest of the source is dropped). */
function byteWindow(skip: number, take: number): Transform {
  let toSkip = skip;
  let toTake = take;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let part = chunk;
      if (toSkip > 0) {
        const n = Math.min(toSkip, part.length);
        toSkip -= n;
        part = part.subarray(n);
      }
      if (toTake > 0 && part.length > 0) {
        const slice = part.subarray(0, toTake);
        toTake -= slice.length;
        this.push(slice);
      }
      if (toTake === 0) this.push(null);
      done();
    },
  });
}

export class S3BlobStore implements BlobStore {
  private readonly connection: Connection;

  /**
   * The store of the blobs under `prefix` (default: the default tenant's). No I/O here;
   * `forPrefix` gives other tenants' stores on the same connection, which `close` ends.
   */
  constructor(
    settings: S3BlobSettings | Connection,
    private readonly prefix = 'blobs/',
  ) {
    this.connection = 'client' in settings ? settings : S3BlobStore.connect(settings);
  }

  private static connect(settings: S3BlobSettings): Connection {
    if (Boolean(settings.accessKeyId) !== Boolean(settings.secretAccessKey)) throw new Error('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together');
    const client = new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.forcePathStyle,
      ...(settings.accessKeyId && settings.secretAccessKey ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Retries are the SDK's (3 attempts, backoff) for 5xx, throttling and dropped connections.
      maxAttempts: 3,
      requestHandler: {
        connectionTimeout: Math.min(settings.timeoutMs, 5000),
        // Idle socket limit: a /files reader that takes nothing for this long loses its response.
        socketTimeout: Math.max(settings.timeoutMs, 120_000),
        httpAgent: { keepAlive: true, maxSockets: settings.maxSockets },
        httpsAgent: { keepAlive: true, maxSockets: settings.maxSockets },
      },
    });
    return { client, settings, location: `s3://${settings.bucket} at ${publicEndpoint(settings.endpoint, settings.region)}` };
  }

  /** Another prefix's store (another tenant) on this store's connection. */
  forPrefix(prefix: string): S3BlobStore {
    return new S3BlobStore(this.connection, prefix);
  }

  get location(): string {
    return this.connection.location;
  }

  private objectKey(key: string): string | null {
    const relative = blobPath(key);
    return relative === null ? null : `${this.prefix}${relative}`;
  }

  /** One sentence: what went wrong and what fixes it. */
  private reasonOf(operation: string, f: ErrorFacts): string {
    const { bucket, timeoutMs } = this.connection.settings;
    if (f.name === 'NoSuchBucket' || (operation === 'status' && f.status === 404)) {
      return `the bucket "${bucket}" does not exist. Create it (or set S3_BUCKET to one that exists); the server uses it as soon as it is there.`;
    }
    if (f.status === 403 || f.status === 401 || ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'].includes(f.name)) {
      return `access was refused (${f.name}, HTTP ${f.status ?? '?'}). Check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and the bucket's policy.`;
    }
    if (f.name === 'TimeoutError' || f.name === 'AbortError') return `no answer within ${timeoutMs} ms.`;
    if (f.status === undefined) return `it cannot be reached (${f.code ?? f.name}).`;
    return `it answered HTTP ${f.status} (${f.name}).`;
  }

  private unavailable(operation: string, error: unknown): BlobStoreUnavailableError {
    const f = factsOf(error);
    const cause = new Error(`${f.name}${f.status ? ` (HTTP ${f.status})` : ''}: ${f.message}`);
    return new BlobStoreUnavailableError({ operation, location: this.connection.location, reason: this.reasonOf(operation, f), ...(f.status ? { status: f.status } : {}) }, cause);
  }

  /**
   * Sends `command` with a deadline. A missing object answers `ifMissing` when one is given;
   * every other failure is BlobStoreUnavailableError.
   */
  private async send<T>(operation: string, run: (client: S3Client, abortSignal: AbortSignal) => Promise<T>, options: { timeoutMs?: number; ifMissing?: () => T } = {}): Promise<T> {
    try {
      return await run(this.connection.client, AbortSignal.timeout(options.timeoutMs ?? this.connection.settings.timeoutMs));
    } catch (error) {
      if (options.ifMissing && isMissingObject(factsOf(error))) return options.ifMissing();
      throw this.unavailable(operation, error);
    }
  }

  async put(bytes: Uint8Array, extension: string): Promise<string> {
    const key = blobKeyOf(bytes, extension);
    const sha256 = createHash('sha256').update(bytes).digest('base64');
    const { bucket, timeoutMs } = this.connection.settings;
    await this.send(
      'put',
      (client, abortSignal) =>
        client.send(new PutObjectCommand({ Bucket: bucket, Key: this.objectKey(key)!, Body: bytes, ContentLength: bytes.length, ChecksumSHA256: sha256 }), { abortSignal }),
      { timeoutMs: timeoutMs + Math.ceil(bytes.length / (1024 * 1024)) * 1000 },
    );
    return key;
  }

  async get(key: string): Promise<Uint8Array | null> {
    const objectKey = this.objectKey(key);
    if (!objectKey) return null;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.connection.settings.timeoutMs);
    try {
      const out = await this.connection.client.send(new GetObjectCommand({ Bucket: this.connection.settings.bucket, Key: objectKey }), { abortSignal: controller.signal });
      return await out.Body!.transformToByteArray();
    } catch (error) {
      if (isMissingObject(factsOf(error))) return null;
      throw this.unavailable('get', error);
    } finally {
      clearTimeout(timer);
    }
  }

  async has(key: string): Promise<boolean> {
    return (await this.head(key, 'has')) !== null;
  }

  /**
   * The object's size, or null when there is none. A HEAD answers a bare 404 both for a missing
   * object and a missing bucket (it has no body to say which), so a 404 is followed by a HEAD of
   * the bucket: a bucket gone is UNAVAILABLE (/files 503), not "no such file" (404). Keys come from
   * records, so a missing object is rare and the second request costs little.
   */
  private async head(key: string, operation: string): Promise<number | null> {
    const objectKey = this.objectKey(key);
    if (!objectKey) return null;
    const { bucket } = this.connection.settings;
    const out = await this.send<{ ContentLength?: number } | null>(
      operation,
      (client, abortSignal) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }), { abortSignal }),
      { ifMissing: () => null },
    );
    if (out !== null) return out.ContentLength ?? 0;
    try {
      await this.connection.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(this.connection.settings.timeoutMs) });
    } catch (error) {
      const f = factsOf(error);
      throw this.unavailable(operation, f.status === 404 ? Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }) : error);
    }
    return null;
  }

  async open(key: string): Promise<BlobReader | null> {
    const size = await this.head(key, 'open');
    if (size === null) return null;
    const objectKey = this.objectKey(key)!;
    let used = false;
    return {
      size,
      stream: (range) => {
        if (used) throw new Error('a BlobReader streams once');
        used = true;
        return this.streamObject(objectKey, range);
      },
      async close() {
        // Nothing is held open until a stream is taken.
        used = true;
      },
    };
  }

  /**
   * A GetObject (with Range) as a stream that exists at once: the request starts now, its body
   * is piped in with backpressure, and destroying the stream (the client went away) aborts it.
   * A failure before the first byte (storage down) or during the body errors the stream.
   */
  private streamObject(objectKey: string, range: { start: number; end: number } | undefined): Readable {
    const out = new PassThrough();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.connection.settings.timeoutMs);
    let finished = false;
    out.once('close', () => {
      clearTimeout(timer);
      if (!finished) controller.abort();
    });
    const command = new GetObjectCommand({ Bucket: this.connection.settings.bucket, Key: objectKey, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) });
    this.connection.client
      .send(command, { abortSignal: controller.signal })
      .then(async (response) => {
        clearTimeout(timer);
        const body = response.Body as Readable;
        // pipeline destroys the S3 body when `out` is destroyed, which frees its connection.
        if (!range) return pipeline(body, out);
        // The answer frames an HTTP response of exactly end-start+1 bytes, so it is checked, not
        // trusted: a server that ignored the Range (200, whole object) or overran it (s3rver 3.7
        // answers `bytes=0-0` with the whole object) is cut to the bytes asked for.
        const honoured = response.ContentRange?.startsWith(`bytes ${range.start}-`) ?? false;
        return pipeline(body, byteWindow(honoured ? 0 : range.start, range.end - range.start + 1), out);
      })
      .then(
        () => {
          finished = true;
        },
        (error: unknown) => {
          finished = true;
          if (!out.destroyed) out.destroy(this.unavailable('read', error));
        },
      );
    return out;
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    if (!objectKey) return;
    await this.send('delete', (client, abortSignal) => client.send(new DeleteObjectCommand({ Bucket: this.connection.settings.bucket, Key: objectKey }), { abortSignal }));
  }

  /** The object's Last-Modified (a PUT of the same bytes renews it), or null when there is none. */
  async writtenAt(key: string): Promise<number | null> {
    const objectKey = this.objectKey(key);
    if (!objectKey) return null;
    const { bucket } = this.connection.settings;
    const out = await this.send<{ LastModified?: Date } | null>(
      'head',
      (client, abortSignal) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }), { abortSignal }),
      { ifMissing: () => null },
    );
    // No date given: counted as written now, so the sweep never deletes a blob it cannot date.
    return out === null ? null : (out.LastModified?.getTime() ?? Date.now());
  }

  /** Every blob under this store's prefix (a page of 1,000 objects per request); objects that are not blobs are skipped. */
  async *list(): AsyncGenerator<BlobEntry> {
    const { bucket } = this.connection.settings;
    let token: string | undefined;
    do {
      const page = await this.send('list', (client, abortSignal) => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: this.prefix, ContinuationToken: token }), { abortSignal }));
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(object.Key.lastIndexOf('/') + 1) ?? '';
        if (isBlobKey(key) && this.objectKey(key) === object.Key) yield { key, writtenAt: object.LastModified?.getTime() ?? Date.now() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** A HEAD of the bucket: ready when it answers, else the cause and what fixes it. */
  async blobStatus(): Promise<BlobStoreStatus> {
    const base = { kind: 's3' as const, location: this.connection.location };
    try {
      await this.connection.client.send(new HeadBucketCommand({ Bucket: this.connection.settings.bucket }), { abortSignal: AbortSignal.timeout(Math.min(this.connection.settings.timeoutMs, 3000)) });
      return { ...base, ready: true, problem: null };
    } catch (error) {
      return { ...base, ready: false, problem: `${this.connection.location}: ${this.reasonOf('status', factsOf(error))}` };
    }
  }

  /** Ends the connection shared by every prefix's store. */
  close(): void {
    this.connection.client.destroy();
  }
}
