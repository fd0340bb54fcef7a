/**
 * `fieldscope migrate --to scale` copies a tenant's files before its knowledge base: a document
 * the run has put into Qdrant is one whose original and page images are already in the bucket.
 * The knowledge base went first, so a run stopped by storage going down left documents
 * searchable in Qdrant whose files were missing (their /files URLs answered 404 on any replica
 * that served the collection meanwhile).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/blob/blob-store.js';
import { runMigrateCommand } from '../../src/cli/migrate.js';
import { sqliteFile } from '../../src/store/create-store.js';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import { axis, CONTRACT_DIM, CONTRACT_MODEL_ID, newDocument } from '../contract/knowledge-store.contract.js';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { capture } from '../helpers/capture.js';

const BUCKET = 'ordered';

describe('fieldscope migrate --to scale: files before the knowledge base', () => {
  let qdrant: FakeQdrant;
  let s3: TestS3;
  let dataDir: string;
  let documentId: string;

  beforeAll(async () => {
    [qdrant, s3] = await Promise.all([startFakeQdrant(), startTestS3()]);
    await s3.createBucket(BUCKET);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-migrate-order-'));
    const blobs = new DiskBlobStore(path.join(dataDir, 'blobs'));
    const original = await blobs.put(Buffer.from('%PDF-1.7 the P-100 pump manual '.repeat(50)), 'pdf');
    const thumbnail = await blobs.put(Buffer.from('page one render '.repeat(80)), 'webp');
    const sqlite = new SqliteKnowledgeStore({ file: sqliteFile(dataDir), dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID });
    await sqlite.init();
    const doc = newDocument({ blobKey: original, pages: [{ text: 'Replace the seal kit 11-B on pump P-100.', image: axis(1), thumbnailKey: thumbnail, chunks: [{ text: 'seal kit 11-B', vector: axis(2) }], identifiers: ['11-B'] }] });
    await sqlite.addDocument(doc);
    documentId = doc.document.id;
    sqlite.close();
  }, 60_000);
  afterAll(async () => {
    await Promise.all([qdrant?.close(), s3?.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const migrate = async () => {
    const stdout = capture();
    const stderr = capture();
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, S3_TIMEOUT_MS: '1000', ...s3.env(BUCKET) };
    const code = await runMigrateCommand(['--to', 'scale'], { stdout: stdout.stream, stderr: stderr.stream, env });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  };
  /** Ids of the documents Qdrant shows (committed document points). */
  const documentsInQdrant = () =>
    [...qdrant.engine.collections.values()].flatMap((c) => [...c.points.values()].filter((p) => p.payload.type === 'document' && p.payload.committed === true).map((p) => p.payload.document_id));

  it('storage down: no document reaches Qdrant; once it is back, the rerun copies the files, then the document', async () => {
    await s3.stop();
    const down = await migrate();
    await s3.start();
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('run `fieldscope migrate --to scale` again to resume');
    expect(documentsInQdrant()).toEqual([]);

    const resumed = await migrate();
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout.indexOf('[default] files')).toBeLessThan(resumed.stdout.indexOf('[default] knowledge base'));
    expect(resumed.stdout).toContain('verified  [default] files 2/2 verified (2 copied, 0 already there)');
    expect(resumed.stdout).toContain('Verified: Qdrant holds the same documents 1, pages 1');
    expect(documentsInQdrant()).toEqual([documentId]);
    expect(await s3.list(BUCKET)).toHaveLength(2);
  }, 60_000);
});
