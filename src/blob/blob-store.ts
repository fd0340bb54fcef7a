/**
 * Files (original documents, page thumbnails, photos) live in a blob store, addressed by
 * keys the server makes itself (never a user-supplied path). The disk implementation is
 * content-addressed: the key is the sha256 of the bytes plus an extension, so writing the same
 * bytes twice is free and a key can never point outside the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface BlobStore {
  /** Stores bytes and returns their key (`<sha256>.<ext>`). Idempotent. */
  put(bytes: Uint8Array, extension: string): Promise<string>;
  /** The bytes, or null when there is no such blob (or the key is malformed). */
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
}

const KEY = /^([0-9a-f]{64})\.([a-z0-9]{1,8})$/;

export function isBlobKey(key: string): boolean {
  return KEY.test(key);
}

export class DiskBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string | null {
    const m = KEY.exec(key);
    if (!m) return null;
    const hash = m[1]!;
    return path.join(this.root, hash.slice(0, 2), hash.slice(2, 4), key);
  }

  async put(bytes: Uint8Array, extension: string): Promise<string> {
    const ext = extension.toLowerCase().replace(/^\./, '');
    const key = `${createHash('sha256').update(bytes).digest('hex')}.${ext}`;
    const file = this.pathOf(key);
    if (!file) throw new Error(`invalid blob extension "${extension}"`);
    if (await this.has(key)) return key;
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a reader never sees a half-written file, a crash leaves only a temp file.
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
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
}
