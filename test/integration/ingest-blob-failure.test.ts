/**
 * Nothing half-written when object storage fails in the middle of an ingest: the real
 * IngestService (real ONNX model, real SQLite knowledge store, real PDF extraction) writing to
 * a real s3rver that is stopped right after the original file was uploaded and before the page
 * thumbnails. The ingest fails UNAVAILABLE, the knowledge store holds no trace of the document,
 * and the same upload run again once storage is back completes with every file in place.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore, tenantBlobPrefix, type S3BlobSettings } from '../../src/blob/s3-blob-store.js';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { DEFAULT_INGEST_SETTINGS, IngestService } from '../../src/ingest/ingest-service.js';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import { makePdf } from '../helpers/documents.js';
import { loadEncoder } from '../helpers/encoder.js';
import { startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

/** The real S3 store; after its `stopAfter`-th upload it stops the storage server (the outage). */
class StorageThatDiesMidway extends S3BlobStore {
  uploads = 0;
  constructor(
    settings: S3BlobSettings,
    private readonly s3: TestS3,
    private readonly stopAfter: number,
  ) {
    super(settings, tenantBlobPrefix(''));
  }
  override async put(bytes: Uint8Array, extension: string): Promise<string> {
    const key = await super.put(bytes, extension);
    this.uploads += 1;
    if (this.uploads === this.stopAfter) await this.s3.stop();
    return key;
  }
}

describe('an ingest whose blob upload fails (real ingest service, real s3rver)', () => {
  let s3: TestS3;
  let encoder: OnnxClipEncoder;
  let store: SqliteKnowledgeStore;
  let dir: string;
  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket('ingest-files');
    encoder = await loadEncoder(TINY_MODEL_DIR);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ingest-s3-'));
    store = new SqliteKnowledgeStore({ file: path.join(dir, 'fieldscope.db'), dim: encoder.model.dim, modelId: encoder.model.id });
    await store.init();
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await encoder?.close();
    await s3?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('storage down after the original, before the thumbnails: UNAVAILABLE, no document; the rerun completes it', async () => {
    const pdf = await makePdf([['Compressor C-9 manual', 'Valve kit 3380-V'], ['Page two: belt tension'], ['Page three: oil grade']], 'C-9 manual');
    const dying = new StorageThatDiesMidway(s3.settings('ingest-files', { timeoutMs: 2000 }), s3, 1);
    const ingest = new IngestService(encoder, store, dying, DEFAULT_INGEST_SETTINGS);
    try {
      await expect(ingest.ingestDocument({ bytes: pdf, filename: 'c9.pdf' })).rejects.toMatchObject({ code: 'UNAVAILABLE', category: 'UNAVAILABLE', details: { retryAfterMs: 5000 } });
      // It failed on the first thumbnail, after the original was stored.
      expect(dying.uploads).toBe(1);
      expect((await store.listDocuments({ first: 10 })).items).toEqual([]);
      expect(await store.findDocumentByHash(createHash('sha256').update(pdf).digest('hex'))).toBeNull();
      expect(await store.countPages()).toBe(0);
      expect(await store.searchLexical('belt tension', 5)).toEqual([]);

      await s3.start();
      // The original left behind (storage was down for the cleanup too) is harmless: nothing refers to it.
      expect(await s3.list('ingest-files')).toHaveLength(1);
      const rerun = await new IngestService(encoder, store, dying.forPrefix(tenantBlobPrefix('')), DEFAULT_INGEST_SETTINGS).ingestDocument({ bytes: pdf, filename: 'c9.pdf' });
      expect(rerun.created).toBe(true);
      expect(rerun.document.pageCount).toBe(3);
      const pages = await store.getPages(rerun.document.id);
      const keys = [rerun.document.blobKey, ...pages.map((p) => p.thumbnailKey!)];
      expect(keys.every((k) => typeof k === 'string')).toBe(true);
      const objects = await s3.list('ingest-files');
      for (const key of keys) expect(objects).toContain(`blobs/${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`);
      expect(Buffer.from((await dying.get(rerun.document.blobKey))!).equals(Buffer.from(pdf))).toBe(true);
      expect((await store.searchLexical('belt tension', 5)).length).toBeGreaterThan(0);
    } finally {
      await s3.start();
      dying.close();
    }
  }, 60_000);
});
