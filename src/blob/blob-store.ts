/**
 * Files (original documents, page thumbnails, photos) live in a blob store, addressed by
 * keys the server makes itself (never a user-supplied path). Every implementation is
 * content-addressed: the key is the sha256 of the bytes plus an extension, so writing the same
 * bytes twice is free, a key names one content forever (it is the /files ETag), and a key can
 * never point outside the store.
 *
 * Two implementations pass one contract suite (test/contract/blob-store.contract.ts): this
 * file's DiskBlobStore (a folder under DATA_DIR, the embedded default) and S3BlobStore
 * (s3-blob-store.ts, any S3-compatible object storage, for replicas that hold nothing).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import path from 'node:path';

/** An opened blob: its size, and streams of all or part of it (for HTTP responses, without loading it whole). */
export interface BlobReader {
  size: number;
  /** Bytes `start` to `end` inclusive (the whole blob when no range is given); the stream closes the blob. */
  stream(range?: { start: number; end: number }): Readable;
  /** Closes the blob when no stream is taken (a 304 or 416 answer, a HEAD request). */
  close(): Promise<void>;
}

/** Whether the blob store can be used now (GET /ready and the `health` query report it). */
export interface BlobStoreStatus {
  kind: 'disk' | 's3';
  ready: boolean;
  /** Where the blobs are (a bucket and endpoint; never credentials). */
  location: string;
  /** Why it is not ready and what brings it back (null when ready). */
  problem: string | null;
}

/** One stored blob and when it was last written (ms since the epoch): what the orphan sweep looks at. */
export interface BlobEntry {
  key: string;
  writtenAt: number;
}

export interface BlobStore {
  /**
   * Stores bytes and returns their key (`<sha256>.<ext>`). Idempotent. When it resolves the
   * blob is durable and whole; when it rejects nothing readable was written under the key.
   * Either way it counts as written now (`writtenAt`), even when the same bytes were there:
   * the orphan sweep's grace period protects a blob from the moment an ingest puts it.
   */
  put(bytes: Uint8Array, extension: string): Promise<string>;
  /** The bytes, or null when there is no such blob (or the key is malformed). */
  get(key: string): Promise<Uint8Array | null>;
  /** The blob to stream, or null when there is no such blob (or the key is malformed). */
  open(key: string): Promise<BlobReader | null>;
  /** Removes the blob; a missing one is not an error. */
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
  /** When the blob was last put (ms since the epoch), or null when there is no such blob. */
  writtenAt(key: string): Promise<number | null>;
  /** Every blob, in no promised order (for the orphan sweep); temporary files of unfinished writes are not blobs. */
  list(): AsyncGenerator<BlobEntry>;
  blobStatus(): Promise<BlobStoreStatus>;
}

const KEY = /^([0-9a-f]{64})\.([a-z0-9]{1,8})$/;

export function isBlobKey(key: string): boolean {
  return KEY.test(key);
}

/** The key of `bytes` stored with `extension` (`.PNG` and `png` alike); throws on an extension no key can carry. */
export function blobKeyOf(bytes: Uint8Array, extension: string): string {
  const ext = extension.toLowerCase().replace(/^\./, '');
  const key = `${createHash('sha256').update(bytes).digest('hex')}.${ext}`;
  if (!KEY.test(key)) throw new Error(`invalid blob extension "${extension}"`);
  return key;
}

/**
 * Where a blob sits below the store's root: `<aa>/<bb>/<key>` (the first two byte pairs of the
 * hash), so no folder holds millions of entries. The S3 store uses the same relative path under
 * its prefix, so a DATA_DIR's blobs and a bucket's objects map one to one. Null for a malformed key.
 */
export function blobPath(key: string): string | null {
  const m = KEY.exec(key);
  if (!m) return null;
  const hash = m[1]!;
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${key}`;
}

export class DiskBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string | null {
    const relative = blobPath(key);
    return relative === null ? null : path.join(this.root, relative);
  }

  async put(bytes: Uint8Array, extension: string): Promise<string> {
    const key = blobKeyOf(bytes, extension);
    const file = this.pathOf(key)!;
    // Already there: only its time moves (see `put` in BlobStore). Gone meanwhile: written below.
    const now = new Date();
    if (await utimes(file, now, now).then(() => true, () => false)) return key;
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a reader never sees a half-written file, a crash leaves only a temp file.
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    } catch (error) {
      // A full disk fails the write after the file was created: never leave an empty or partial temp file.
      await rm(tmp, { force: true }).catch(() => undefined);
      throw error;
    }
    return key;
  }

  async get(key: string): Promise<Uint8Array | null> {
    const file = this.pathOf(key);
    if (!file) return null;
    try {
      return await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async open(key: string): Promise<BlobReader | null> {
    const file = this.pathOf(key);
    if (!file) return null;
    // Keep the file open from here on, so a concurrent delete cannot swap it between stat and read.
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw error;
    }
    let used = false;
    return {
      size,
      stream(range) {
        if (used) throw new Error('a BlobReader streams once');
        used = true;
        // autoClose: the handle is closed when the stream ends or is destroyed (client gone).
        return handle.createReadStream({ start: range?.start ?? 0, ...(range ? { end: range.end } : {}), autoClose: true });
      },
      async close() {
        if (used) return;
        used = true;
        await handle.close();
      },
    };
  }

  async has(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    if (!file) return false;
    return stat(file).then(
      () => true,
      () => false,
    );
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    if (file) await rm(file, { force: true });
  }

  async writtenAt(key: string): Promise<number | null> {
    const file = this.pathOf(key);
    if (!file) return null;
    try {
      return (await stat(file)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async *list(): AsyncGenerator<BlobEntry> {
    for await (const key of this.keys()) {
      const writtenAt = await this.writtenAt(key);
      if (writtenAt !== null) yield { key, writtenAt };
    }
  }

  /** A folder is always there to write to; a full or failing disk is StorageHealth's to report. */
  async blobStatus(): Promise<BlobStoreStatus> {
    return { kind: 'disk', ready: true, location: path.basename(this.root), problem: null };
  }

  /** Every blob's key, in key order (for `fieldscope migrate`); temp files of interrupted writes are not blobs. */
  async *keys(): AsyncGenerator<string> {
    const names = async (dir: string) => (await readdir(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : Promise.reject(error)))).sort();
    for (const a of await names(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await names(path.join(this.root, a))) {
        if (!/^[0-9a-f]{2}$/.test(b)) continue;
        for (const key of await names(path.join(this.root, a, b))) if (KEY.test(key) && key.startsWith(a + b)) yield key;
      }
    }
  }
}
