/**
 * `pullModel`: downloads every file of a model manifest into `<modelsDir>/<name>/`.
 *
 * - Streams each file to `<file>.part`; a later pull resumes a `.part` with an HTTP Range request
 *   (a 200 answer restarts the file cleanly, a 416 is checked against the bytes already on disk).
 * - Hashes the whole file (the bytes already in the part too) and checks size and sha256 before an atomic
 *   rename into place. A checksum mismatch deletes the part.
 * - Files already present with the right size and sha256 are not downloaded again.
 * - The manifest is written last as `fieldscope-model.json`: its presence marks a complete install.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ModelChecksumError,
  ModelDownloadAbortedError,
  ModelDownloadError,
  ModelError,
  ModelPullLockedError,
  ModelSizeMismatchError,
  ModelUnverifiedError,
} from './errors.js';
import { MODEL_MARKER_FILE, type ModelManifest, type ModelManifestFile } from './manifest.js';

export type FetchLike = typeof globalThis.fetch;

export interface PullOptions {
  /** Parent folder of installed models; files go to `<modelsDir>/<manifest.name>/`. */
  modelsDir: string;
  /** Overrides `manifest.source.baseUrl` (a local mirror, a test server); file paths are resolved against it. */
  baseUrl?: string;
  /** Injectable for tests; defaults to Node's global fetch. */
  fetch?: FetchLike;
  /** Progress callback; it must not throw (a throw aborts the pull). */
  onProgress?: (event: PullProgressEvent) => void;
  signal?: AbortSignal;
  /** Install files whose manifest sha256 is null (they cannot be verified). Default false: refuse. */
  allowUnverified?: boolean;
  /** Longest wait for response headers, per request. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Longest pause between two chunks of a response body. Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Automatic retries (each resuming from the part) after a network error, timeout, 5xx or 429. Default 3. */
  retries?: number;
  /** First retry delay; doubles each retry, capped at 30 s. Default 1 000 ms. */
  retryDelayMs?: number;
  /** The Hugging Face conventions users already set (HF_ENDPOINT, HF_TOKEN, HF_HOME/HF_HUB_CACHE). */
  hub?: HubOptions;
}

/**
 * Hugging Face settings, as its own tools read them:
 * - `endpoint` (HF_ENDPOINT, e.g. a mirror such as https://hf-mirror.com) replaces
 *   `https://huggingface.co` at the start of a manifest's source URL; an explicit `baseUrl`
 *   (MODEL_BASE_URL, --base-url) still wins;
 * - `token` (HF_TOKEN) is sent as `Authorization: Bearer …` to the Hugging Face host or the
 *   HF_ENDPOINT host only, never to another mirror (fetch drops it on a cross-origin redirect);
 * - `cacheDir` (HF_HUB_CACHE, else HF_HOME/hub): a file the Hugging Face cache already holds at the
 *   manifest's pinned revision is copied from there (after the same size and sha256 check) instead
 *   of downloaded. Models are still installed under MODELS_DIR, in the manifest's own layout.
 */
export interface HubOptions {
  endpoint?: string | undefined;
  token?: string | undefined;
  cacheDir?: string | undefined;
}

export const HUGGING_FACE_URL = 'https://huggingface.co';

/** Where a manifest's files come from: an explicit mirror, else the source with HF_ENDPOINT applied. Pure. */
export function sourceBaseUrl(manifestBaseUrl: string, explicitBaseUrl: string | undefined, endpoint: string | undefined): string {
  if (explicitBaseUrl) return explicitBaseUrl;
  if (endpoint && (manifestBaseUrl === HUGGING_FACE_URL || manifestBaseUrl.startsWith(`${HUGGING_FACE_URL}/`))) {
    return endpoint.replace(/\/+$/, '') + manifestBaseUrl.slice(HUGGING_FACE_URL.length);
  }
  return manifestBaseUrl;
}

/** The Authorization header for a download from `baseUrl`: only to Hugging Face or the HF_ENDPOINT host. Pure. */
export function hubAuthorization(baseUrl: string, hub: HubOptions): string | null {
  if (!hub.token) return null;
  const origin = new URL(baseUrl).origin;
  const trusted = [HUGGING_FACE_URL, ...(hub.endpoint ? [new URL(hub.endpoint).origin] : [])];
  return trusted.includes(origin) ? `Bearer ${hub.token}` : null;
}

/** A file's place in the Hugging Face hub cache (huggingface_hub's layout). Pure. */
export function hubCachePath(cacheDir: string, repo: string, revision: string, filePath: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`, 'snapshots', revision, ...filePath.split('/'));
}

/** skipped: already installed; cached: copied from the Hugging Face cache (HF_HOME). */
export type PulledFileStatus = 'downloaded' | 'resumed' | 'skipped' | 'cached';

export interface PulledFile {
  path: string;
  status: PulledFileStatus;
  size: number;
  sha256: string;
  /** False only for files installed with allowUnverified (no sha256 in the manifest). */
  verified: boolean;
  /** Bytes received over the network for this file in this pull. */
  bytesTransferred: number;
  durationMs: number;
}

export interface PullResult {
  name: string;
  dir: string;
  markerPath: string;
  files: PulledFile[];
  bytesTransferred: number;
  durationMs: number;
}

export type PullProgressEvent =
  | { type: 'plan'; name: string; dir: string; files: { path: string; size: number | null; present: boolean }[] }
  | { type: 'check'; file: string; bytes: number }
  | { type: 'start'; file: string; index: number; count: number; size: number | null; offset: number; url: string }
  | { type: 'progress'; file: string; received: number; size: number | null; transferred: number }
  | { type: 'restart'; file: string; reason: string }
  | { type: 'retry'; file: string; attempt: number; delayMs: number; error: ModelDownloadError }
  | { type: 'done'; file: string; result: PulledFile };

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 30_000;
const LOCK_FILE = '.fieldscope-pull.lock';

/** Resolves a manifest file path against a base URL (a trailing "/" is added to the base when missing). */
export function fileUrl(baseUrl: string, filePath: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(filePath.split('/').map(encodeURIComponent).join('/'), base).toString();
}

export async function pullModel(manifest: ModelManifest, options: PullOptions): Promise<PullResult> {
  const started = Date.now();
  const dir = path.resolve(options.modelsDir, manifest.name);
  const unverified = manifest.files.filter((f) => f.sha256 === null).map((f) => f.path);
  if (unverified.length > 0 && options.allowUnverified !== true) throw new ModelUnverifiedError(unverified);
  throwIfAborted(options.signal, manifest.files[0]?.path ?? manifest.name);

  const hub = options.hub ?? {};
  const baseUrl = sourceBaseUrl(manifest.source.baseUrl, options.baseUrl, hub.endpoint);
  const ctx: PullContext = {
    dir,
    baseUrl,
    authorization: hubAuthorization(baseUrl, hub),
    fetch: options.fetch ?? globalThis.fetch,
    emit: makeEmitter(options.onProgress),
    signal: options.signal,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    retries: options.retries ?? DEFAULT_RETRIES,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
  };

  await mkdir(dir, { recursive: true });
  const releaseLock = await acquireLock(dir);
  try {
    // 1. What is already installed (right size and sha256)?
    const present = new Map<string, { sha256: string; size: number; ms: number }>();
    for (const file of manifest.files) {
      throwIfAborted(ctx.signal, file.path);
      const t0 = Date.now();
      const existing = await checkExisting(ctx, file);
      if (existing) present.set(file.path, { ...existing, ms: Date.now() - t0 });
    }
    ctx.emit({
      type: 'plan',
      name: manifest.name,
      dir,
      files: manifest.files.map((f) => ({ path: f.path, size: f.size, present: present.has(f.path) })),
    });

    // 2. The folder is about to change: it is no longer a complete install until the marker is rewritten.
    const markerPath = path.join(dir, MODEL_MARKER_FILE);
    if (present.size < manifest.files.length) await rm(markerPath, { force: true });

    // 3. Download what is missing, one file at a time.
    const results: PulledFile[] = [];
    const count = manifest.files.length;
    for (const [index, file] of manifest.files.entries()) {
      const have = present.get(file.path);
      let result: PulledFile;
      if (have) {
        result = {
          path: file.path,
          status: 'skipped',
          size: have.size,
          sha256: have.sha256,
          verified: file.sha256 !== null,
          bytesTransferred: 0,
          durationMs: have.ms,
        };
      } else {
        result = (hub.cacheDir ? await copyFromHubCache(ctx, file, hubCachePath(hub.cacheDir, manifest.source.repo, manifest.source.revision, file.path)) : null) ?? (await downloadWithRetries(ctx, file, index, count));
      }
      results.push(result);
      ctx.emit({ type: 'done', file: file.path, result });
    }

    // 4. The manifest, last.
    throwIfAborted(ctx.signal, MODEL_MARKER_FILE);
    const tmp = `${markerPath}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, markerPath);

    return {
      name: manifest.name,
      dir,
      markerPath,
      files: results,
      bytesTransferred: results.reduce((n, r) => n + r.bytesTransferred, 0),
      durationMs: Date.now() - started,
    };
  } finally {
    await releaseLock();
  }
}

interface PullContext {
  dir: string;
  baseUrl: string;
  authorization: string | null;
  fetch: FetchLike;
  emit: (event: PullProgressEvent) => void;
  signal: AbortSignal | undefined;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
}

function makeEmitter(onProgress: PullOptions['onProgress']): (event: PullProgressEvent) => void {
  if (!onProgress) return () => undefined;
  return (event) => {
    try {
      onProgress(event);
    } catch (err) {
      throw new ModelDownloadError(`The progress callback threw: ${describeError(err)}`, { cause: err, retriable: false });
    }
  };
}

function destinationOf(ctx: PullContext, file: ModelManifestFile): string {
  const dest = path.resolve(ctx.dir, ...file.path.split('/'));
  if (!dest.startsWith(ctx.dir + path.sep)) {
    // The schema forbids this already; keep the check next to the write.
    throw new ModelDownloadError(`Refusing to write outside the model folder: ${file.path}`, { file: file.path });
  }
  return dest;
}

async function checkExisting(ctx: PullContext, file: ModelManifestFile): Promise<{ sha256: string; size: number } | null> {
  const dest = destinationOf(ctx, file);
  const st = await statOrNull(dest);
  if (!st?.isFile()) return null;
  if (file.size !== null && st.size !== file.size) return null;
  ctx.emit({ type: 'check', file: file.path, bytes: st.size });
  const actual = await hashFile(dest, createHash('sha256'), st.size, ctx.signal, file.path);
  if (file.sha256 !== null && actual !== file.sha256) return null;
  return { sha256: actual, size: st.size };
}

/** A file the Hugging Face cache holds with the pinned size and sha256, copied into place; null otherwise. */
async function copyFromHubCache(ctx: PullContext, file: ModelManifestFile, cached: string): Promise<PulledFile | null> {
  const started = Date.now();
  const st = await statOrNull(cached);
  if (!st?.isFile() || (file.size !== null && st.size !== file.size)) return null;
  ctx.emit({ type: 'check', file: file.path, bytes: st.size });
  const sha256 = await hashFile(cached, createHash('sha256'), st.size, ctx.signal, file.path);
  if (file.sha256 === null || sha256 !== file.sha256) return null;
  const dest = destinationOf(ctx, file);
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part`;
  await copyFile(cached, tmp);
  await rename(tmp, dest);
  return { path: file.path, status: 'cached', size: st.size, sha256, verified: true, bytesTransferred: 0, durationMs: Date.now() - started };
}

async function downloadWithRetries(ctx: PullContext, file: ModelManifestFile, index: number, count: number): Promise<PulledFile> {
  const started = Date.now();
  let transferred = 0;
  for (let attempt = 0; ; attempt++) {
    const counter = { bytes: 0 };
    try {
      const done = await downloadOnce(ctx, file, index, count, counter);
      transferred += counter.bytes;
      return { ...done, bytesTransferred: transferred, durationMs: Date.now() - started };
    } catch (err) {
      transferred += counter.bytes;
      const error = err instanceof ModelError ? err : new ModelDownloadError(describeError(err), { file: file.path, cause: err });
      const retriable = error instanceof ModelDownloadError && error.retriable;
      if (!retriable || attempt >= ctx.retries || ctx.signal?.aborted === true) throw error;
      const delayMs = Math.min(ctx.retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS);
      ctx.emit({ type: 'retry', file: file.path, attempt: attempt + 1, delayMs, error });
      await sleep(delayMs, ctx.signal, file.path);
    }
  }
}

type DownloadOutcome = Omit<PulledFile, 'bytesTransferred' | 'durationMs'>;

/**
 * A part file that already holds the whole file (`bytes` of it): checked against the manifest's
 * SHA-256 and renamed into place, with no request. Null when the checksum differs (the caller
 * discards the part and starts over).
 */
async function adoptCompletePart(ctx: PullContext, file: ModelManifestFile, part: string, dest: string, bytes: number): Promise<DownloadOutcome | null> {
  ctx.emit({ type: 'check', file: file.path, bytes });
  const actual = await hashFile(part, createHash('sha256'), bytes, ctx.signal, file.path);
  if (file.sha256 !== null && actual !== file.sha256) return null;
  await rename(part, dest);
  return { path: file.path, status: 'resumed', size: bytes, sha256: actual, verified: file.sha256 !== null };
}

async function downloadOnce(
  ctx: PullContext,
  file: ModelManifestFile,
  index: number,
  count: number,
  counter: { bytes: number },
): Promise<DownloadOutcome> {
  const dest = destinationOf(ctx, file);
  const part = `${dest}.part`;
  const url = fileUrl(ctx.baseUrl, file.path);
  await mkdir(path.dirname(dest), { recursive: true });

  let offset = (await statOrNull(part))?.size ?? 0;
  if (file.size !== null && offset > file.size) {
    await rm(part, { force: true });
    ctx.emit({ type: 'restart', file: file.path, reason: `partial file is larger than ${file.size} bytes` });
    offset = 0;
  }
  if (offset > 0 && offset === file.size) {
    // A complete part left by an earlier run (e.g. interrupted before the rename): verify it, no request.
    const adopted = await adoptCompletePart(ctx, file, part, dest, offset);
    if (adopted) return adopted;
    await rm(part, { force: true });
    ctx.emit({ type: 'restart', file: file.path, reason: 'complete partial file had the wrong checksum' });
    offset = 0;
  }

  for (let restarts = 0; restarts < 3; restarts++) {
    const guard = new RequestGuard(ctx.signal);
    try {
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (ctx.authorization) headers.authorization = ctx.authorization;
      if (offset > 0) headers.range = `bytes=${offset}-`;
      ctx.emit({ type: 'start', file: file.path, index, count, size: file.size, offset, url: redactUrl(url) });

      guard.arm(ctx.requestTimeoutMs, 'waiting for the response');
      let response: Response;
      try {
        response = await ctx.fetch(url, { headers, signal: guard.signal, redirect: 'follow' });
      } catch (err) {
        throw guard.classify(err, file.path, url);
      }

      // Range not satisfiable: the part may already hold the whole file.
      if (response.status === 416 && offset > 0) {
        await discardBody(response);
        const total = parseContentRange(response.headers.get('content-range'))?.total ?? null;
        if (total !== null && file.size !== null && total !== file.size) {
          await rm(part, { force: true });
          throw new ModelSizeMismatchError(file.path, file.size, total, redactUrl(url));
        }
        if (total === offset) {
          const adopted = await adoptCompletePart(ctx, file, part, dest, offset);
          if (adopted) return adopted;
        }
        await rm(part, { force: true });
        ctx.emit({ type: 'restart', file: file.path, reason: `server answered 416 to a resume from byte ${offset}` });
        offset = 0;
        continue;
      }

      let announcedTotal: number | null;
      if (response.status === 206) {
        const range = parseContentRange(response.headers.get('content-range'));
        if (!range || range.start !== offset) {
          await discardBody(response);
          await rm(part, { force: true });
          ctx.emit({ type: 'restart', file: file.path, reason: `server sent an unexpected Content-Range for a resume from byte ${offset}` });
          offset = 0;
          continue;
        }
        announcedTotal = range.total;
      } else if (response.status === 200) {
        if (offset > 0) {
          ctx.emit({ type: 'restart', file: file.path, reason: 'server ignored the Range request (200): starting over' });
          offset = 0;
        }
        const length = response.headers.get('content-length');
        const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
        announcedTotal = length !== null && !encoded && /^\d+$/.test(length) ? Number(length) : null;
      } else {
        await discardBody(response);
        throw httpError(response, file.path, url);
      }

      if (file.size !== null && announcedTotal !== null && announcedTotal !== file.size) {
        await discardBody(response);
        await rm(part, { force: true });
        throw new ModelSizeMismatchError(file.path, file.size, announcedTotal, redactUrl(url));
      }
      if (!response.body) throw new ModelDownloadError(`Empty response body for ${redactUrl(url)}`, { file: file.path, url: redactUrl(url), retriable: true });

      // Hash what is already on disk, then append the rest.
      const hash = createHash('sha256');
      if (offset > 0) {
        guard.disarm(); // reading the part may take a while; not the server's fault
        ctx.emit({ type: 'check', file: file.path, bytes: offset });
        await hashFile(part, hash, offset, ctx.signal, file.path);
      }
      const received = await streamToPart(ctx, guard, response.body, part, offset, hash, file, url, counter);

      if (file.size !== null && received !== file.size) {
        // Fewer bytes than pinned (more is caught while streaming): keep the part, a retry resumes it.
        throw new ModelDownloadError(
          `Connection ended after ${received} of ${file.size} bytes of ${file.path} from ${redactUrl(url)}`,
          { file: file.path, url: redactUrl(url), retriable: true },
        );
      }
      const actual = hash.digest('hex');
      if (file.sha256 !== null && actual !== file.sha256) {
        await rm(part, { force: true });
        throw new ModelChecksumError(file.path, file.sha256, actual, redactUrl(url));
      }
      await rename(part, dest);
      return {
        path: file.path,
        status: offset > 0 ? 'resumed' : 'downloaded',
        size: received,
        sha256: actual,
        verified: file.sha256 !== null,
      };
    } finally {
      guard.dispose();
    }
  }
  throw new ModelDownloadError(`Gave up on ${file.path}: the server kept answering resumes inconsistently (${redactUrl(url)})`, {
    file: file.path,
    url: redactUrl(url),
    retriable: true,
  });
}

/** Writes the body to `part` from `offset`, feeding `hash`. Returns the file size reached. */
async function streamToPart(
  ctx: PullContext,
  guard: RequestGuard,
  body: ReadableStream<Uint8Array>,
  part: string,
  offset: number,
  hash: Hash,
  file: ModelManifestFile,
  url: string,
  counter: { bytes: number },
): Promise<number> {
  const fh = await open(part, offset > 0 ? 'r+' : 'w');
  const reader = body.getReader();
  let position = offset;
  try {
    if (offset > 0) await fh.truncate(offset);
    for (;;) {
      guard.arm(ctx.idleTimeoutMs, 'waiting for data');
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw guard.classify(err, file.path, url);
      }
      if (chunk.done) break;
      const bytes = chunk.value;
      if (file.size !== null && position + bytes.byteLength > file.size) {
        await reader.cancel().catch(() => undefined);
        await fh.close().catch(() => undefined);
        await rm(part, { force: true });
        throw new ModelSizeMismatchError(file.path, file.size, position + bytes.byteLength, redactUrl(url));
      }
      await fh.write(bytes, 0, bytes.byteLength, position);
      hash.update(bytes);
      position += bytes.byteLength;
      counter.bytes += bytes.byteLength;
      ctx.emit({ type: 'progress', file: file.path, received: position, size: file.size, transferred: counter.bytes });
    }
    guard.disarm();
    await fh.datasync();
  } finally {
    reader.releaseLock();
    await fh.close().catch(() => undefined);
  }
  return position;
}

/** Per-request timeouts (headers, then idle gaps between chunks) plus the caller's AbortSignal. */
class RequestGuard {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timedOut: string | null = null;
  private readonly onUserAbort = (): void => this.controller.abort(this.userSignal?.reason);

  constructor(private readonly userSignal: AbortSignal | undefined) {
    if (userSignal?.aborted) this.controller.abort(userSignal.reason);
    else userSignal?.addEventListener('abort', this.onUserAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(ms: number, what: string): void {
    this.disarm();
    this.timer = setTimeout(() => {
      this.timedOut = `after ${ms} ms ${what}`;
      this.controller.abort(new Error(`timed out ${this.timedOut}`));
    }, ms);
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.disarm();
    this.userSignal?.removeEventListener('abort', this.onUserAbort);
  }

  classify(err: unknown, file: string, url: string): ModelError {
    if (err instanceof ModelError) return err;
    const shown = redactUrl(url);
    if (this.userSignal?.aborted) return new ModelDownloadAbortedError(file, shown, { cause: err });
    if (this.timedOut !== null) {
      return new ModelDownloadError(`Timed out ${this.timedOut} for ${file} from ${shown}`, { file, url: shown, cause: err, retriable: true });
    }
    const dns = dnsFailure(err);
    if (dns) {
      // A name that does not resolve will not resolve in a second either: no retries.
      return new ModelDownloadError(
        `Cannot resolve ${dns.host} (${dns.code}) while downloading ${file} from ${shown}: no network or DNS here. Set HF_ENDPOINT or MODEL_BASE_URL to a reachable mirror, or copy the model folder and set CLIP_MODEL.`,
        { file, url: shown, cause: err, retriable: false },
      );
    }
    return new ModelDownloadError(`Network error while downloading ${file} from ${shown}: ${describeError(err)}`, {
      file,
      url: shown,
      cause: err,
      retriable: true,
    });
  }
}

function httpError(response: Response, file: string, url: string): ModelDownloadError {
  const status = response.status;
  const shown = redactUrl(url);
  const retriable = status >= 500 || status === 429 || status === 408;
  const text = `${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new ModelDownloadError(`HTTP ${text} for ${shown} (file ${file})`, { file, url: shown, status, retriable });
}

// "bytes 100-199/1000" → {start: 100, total: 1000}; "bytes */1000" → {start: null, total: 1000}.
export function parseContentRange(value: string | null): { start: number | null; total: number | null } | null {
  if (!value) return null;
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!m) return null;
  return {
    start: m[1] === undefined ? null : Number(m[1]),
    total: m[3] === undefined || m[3] === '*' ? null : Number(m[3]),
  };
}

async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to do: the connection is being dropped anyway
  }
}

/** Feeds the first `length` bytes of `file` into `hash`; returns the hex digest when `hash` is finished here. */
async function hashFile(file: string, hash: Hash, length: number, signal: AbortSignal | undefined, label: string): Promise<string> {
  if (length > 0) {
    const stream = createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1 << 20 });
    try {
      for await (const chunk of stream) {
        if (signal?.aborted) throw new ModelDownloadAbortedError(label, undefined);
        hash.update(chunk as Buffer);
      }
    } finally {
      stream.destroy();
    }
  }
  return hash.copy().digest('hex');
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await stat(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      const pid = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) throw new ModelPullLockedError(lockPath, pid);
      await rm(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new ModelPullLockedError(lockPath, -1);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

function throwIfAborted(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted) throw new ModelDownloadAbortedError(file, undefined, { cause: signal.reason });
}

function sleep(ms: number, signal: AbortSignal | undefined, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ModelDownloadAbortedError(file, undefined, { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ModelDownloadAbortedError(file, undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Drops user:password from a URL before it goes into a message. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

function errnoCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
}

/** ENOTFOUND / EAI_AGAIN anywhere in an error's cause chain (fetch wraps them in "fetch failed"). */
export function dnsFailure(err: unknown): { code: string; host: string } | null {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, hostname } = e as { code?: unknown; hostname?: unknown };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { code, host: typeof hostname === 'string' ? hostname : 'the host' };
  }
  return null;
}
