/** The blob contract on the disk folder (the embedded default), plus what only a folder has. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobPath, DiskBlobStore } from '../../src/blob/blob-store.js';
import { defineBlobStoreContract } from './blob-store.contract.js';

defineBlobStoreContract('disk folder', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-blobs-'));
  return { store: new DiskBlobStore(path.join(dir, 'blobs')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('DiskBlobStore (folder-specific)', () => {
  it('keeps a blob at <root>/<aa>/<bb>/<key>, the layout the S3 store mirrors under its prefix', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-blobs-'));
    try {
      const key = await new DiskBlobStore(dir).put(Buffer.from('layout'), 'txt');
      const relative = blobPath(key)!;
      expect(relative).toBe(`${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`);
      expect(readdirSync(path.join(dir, key.slice(0, 2), key.slice(2, 4)))).toEqual([key]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
