/**
 * The behaviour every BlobStore owes its users (ingest, identify, /files), as one suite run
 * against each implementation: the disk folder and S3-compatible storage (s3rver here). Nothing
 * here may depend on how a store keeps its bytes.
 *
 * `makeStore` must return an empty store ready to use, and a cleanup.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBlobKey, type BlobStore } from '../../src/blob/blob-store.js';

export interface ContractBlobStore {
  store: BlobStore;
  cleanup(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function defineBlobStoreContract(name: string, makeStore: () => Promise<ContractBlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let made: ContractBlobStore;
    let store: BlobStore;
    beforeEach(async () => {
      made = await makeStore();
      store = made.store;
    });
    afterEach(async () => {
      await made.cleanup();
    });

    it('put returns the content key <sha256>.<ext>; get gives the same bytes back', async () => {
      const bytes = randomBytes(3000);
      const key = await store.put(bytes, 'pdf');
      expect(key).toBe(`${sha256(bytes)}.pdf`);
      expect(isBlobKey(key)).toBe(true);
      expect(Buffer.from((await store.get(key))!).equals(bytes)).toBe(true);
      expect(await store.has(key)).toBe(true);
    });

    it('normalises the extension and refuses one no key can carry', async () => {
      const bytes = Buffer.from('an image, say');
      expect(await store.put(bytes, '.PNG')).toBe(`${sha256(bytes)}.png`);
      await expect(store.put(bytes, 'tar.gz')).rejects.toThrow(/extension/);
      await expect(store.put(bytes, '')).rejects.toThrow(/extension/);
    });

    it('is idempotent: the same bytes twice, or twenty times at once, are one blob', async () => {
      const bytes = randomBytes(50_000);
      const keys = await Promise.all(Array.from({ length: 20 }, () => store.put(bytes, 'jpg')));
      expect(new Set(keys).size).toBe(1);
      expect(await store.put(bytes, 'jpg')).toBe(keys[0]);
      expect(Buffer.from((await store.get(keys[0]!))!).equals(bytes)).toBe(true);
    });

    it('the same bytes with two extensions are two blobs', async () => {
      const bytes = Buffer.from('same bytes');
      const a = await store.put(bytes, 'txt');
      const b = await store.put(bytes, 'md');
      expect(a).not.toBe(b);
      await store.delete(a);
      expect(await store.has(a)).toBe(false);
      expect(await store.has(b)).toBe(true);
    });

    it('an unknown key is null / false, and a malformed one (a path, say) never reaches storage', async () => {
      const unknown = `${'0'.repeat(64)}.pdf`;
      expect(await store.get(unknown)).toBeNull();
      expect(await store.open(unknown)).toBeNull();
      expect(await store.has(unknown)).toBe(false);
      for (const bad of ['../../etc/passwd', `${'a'.repeat(64)}`, `${'A'.repeat(64)}.pdf`, `${'a'.repeat(63)}.pdf`, `x/${'a'.repeat(64)}.pdf`, `${'a'.repeat(64)}.pdf/..`]) {
        expect(await store.get(bad), bad).toBeNull();
        expect(await store.open(bad), bad).toBeNull();
        expect(await store.has(bad), bad).toBe(false);
        await store.delete(bad);
      }
    });

    it('open streams the whole blob, or any byte range of it', async () => {
      const bytes = randomBytes(2 * 1024 * 1024 + 17);
      const key = await store.put(bytes, 'bin');
      const whole = (await store.open(key))!;
      expect(whole.size).toBe(bytes.length);
      expect((await readAll(whole.stream())).equals(bytes)).toBe(true);

      for (const [start, end] of [
        [0, 0],
        [1000, 1999],
        [bytes.length - 10, bytes.length - 1],
        [65_530, 1_500_000],
      ] as const) {
        const reader = (await store.open(key))!;
        expect((await readAll(reader.stream({ start, end }))).equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
    });

    it('a reader streams once, and closing an unused reader is fine', async () => {
      const key = await store.put(Buffer.from('stream me once'), 'txt');
      const reader = (await store.open(key))!;
      await readAll(reader.stream());
      expect(() => reader.stream()).toThrow(/once/);
      await reader.close();
      const unused = (await store.open(key))!;
      await unused.close();
      expect(Buffer.from((await store.get(key))!).toString()).toBe('stream me once');
    });

    it('a stream given up half-way (the client went away) leaves the store usable', async () => {
      const bytes = randomBytes(4 * 1024 * 1024);
      const key = await store.put(bytes, 'bin');
      for (let i = 0; i < 5; i++) {
        const stream = (await store.open(key))!.stream();
        await new Promise<void>((resolve, reject) => {
          stream.once('data', () => {
            stream.destroy();
            resolve();
          });
          stream.once('error', reject);
        });
      }
      expect((await readAll((await store.open(key))!.stream())).equals(bytes)).toBe(true);
    });

    it('an empty blob is stored and read as empty', async () => {
      const key = await store.put(new Uint8Array(0), 'txt');
      expect(key).toBe(`${sha256(new Uint8Array(0))}.txt`);
      expect((await store.get(key))!.length).toBe(0);
      expect((await store.open(key))!.size).toBe(0);
    });

    it('delete removes the blob; deleting it again, or one never stored, is not an error', async () => {
      const bytes = randomBytes(100);
      const key = await store.put(bytes, 'webp');
      await store.delete(key);
      expect(await store.has(key)).toBe(false);
      expect(await store.get(key)).toBeNull();
      expect(await store.open(key)).toBeNull();
      await store.delete(key);
      await store.delete(`${'1'.repeat(64)}.webp`);
      // And it can be stored again.
      expect(await store.put(bytes, 'webp')).toBe(key);
      expect(Buffer.from((await store.get(key))!).equals(bytes)).toBe(true);
    });

    it('reports itself ready', async () => {
      const status = await store.blobStatus();
      expect(status.ready).toBe(true);
      expect(status.problem).toBeNull();
      expect(['disk', 's3']).toContain(status.kind);
    });
  });
}
