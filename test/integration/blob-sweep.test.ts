/**
 * Orphan blobs: an ingest that fails after storing its files, whose clean-up fails too, leaves
 * files no record refers to (reproduced here for real: Qdrant failing mid-ingest fails both the
 * add and the "is this file still referenced?" check of the clean-up). `fieldscope blobs sweep`
 * deletes such files once they are older than the grace period, and keeps every file a record
 * refers to, every file younger than the grace period, and a file put again meanwhile.
 *
 * - On S3 (s3rver) under the scale store (the schema-checking Qdrant double): the orphans come
 *   from real failed ingests, and the real CLI command sweeps them. An ingest that died half-way
 *   (its invisible, uncommitted records keep its file "referenced") is removed, records then file,
 *   once older than INGEST_TIMEOUT_MS + the grace period (more cases: unfinished-add-sweep.test.ts).
 * - On the disk blob store under SQLite: file times are set back to test the grace period, a
 *   re-put renews a file's time, and a sweep that finds no referenced file at all (the wrong
 *   DATA_DIR or bucket) deletes nothing unless forced.
 */
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlobStore, blobPath } from '../../src/blob/blob-store.js';
import { S3BlobStore, tenantBlobPrefix } from '../../src/blob/s3-blob-store.js';
import { runBlobsCommand } from '../../src/cli/blobs.js';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { gql, gqlUpload, startTestServer, TINY_MODEL_DIR, waitUntilReady } from '../helpers/server.js';

const INGEST = 'mutation($f: Upload!) { ingestDocument(file: $f) { id pages { number } } }';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the CLI needs beside the store settings; a short ingest deadline so a short grace period is allowed. */
const baseEnv = (dataDir: string): Record<string, string> => ({
  DATA_DIR: dataDir,
  CLIP_MODEL: TINY_MODEL_DIR,
  CLIP_ALLOW_TEST_MODEL: 'true',
  CLIP_TEXT_THREADS: '1',
  CLIP_IMAGE_THREADS: '1',
  LOG_LEVEL: 'silent',
  OCR: 'off',
  LOAD_DEMO: 'false',
  INGEST_TIMEOUT_MS: '1000',
});

async function sweep(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runBlobsCommand(['sweep', ...args], {
    env,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

function markdown(title: string): Buffer {
  return Buffer.from(`# ${title}\n\n${PUMP_MANUAL_MD.split('\n').slice(1, 12).join('\n')}\n\nUnique line ${title}.`);
}

describe('orphan blobs on S3 (s3rver) after failed ingests, swept by the CLI', () => {
  const BUCKET = 'sweep-files';
  let s3: TestS3;
  let qdrant: FakeQdrant;
  let env: Record<string, string>;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let dataDir: string;

  beforeAll(async () => {
    [s3, qdrant] = await Promise.all([startTestS3(), startFakeQdrant()]);
    await s3.createBucket(BUCKET);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-sweep-s3-'));
    env = { ...baseEnv(dataDir), VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, QDRANT_MAX_RETRIES: '0', S3_TIMEOUT_MS: '3000', ...s3.env(BUCKET) };
    server = await startTestServer(env);
    await waitUntilReady(server.url);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await qdrant?.close();
    await s3?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a failed ingest whose clean-up failed leaves files; the sweep deletes them and nothing else', async () => {
    const kept = await gqlUpload<{ ingestDocument: { id: string } }>(server.url, INGEST, { f: { bytes: markdown('kept manual'), name: 'kept.md' } });
    expect(kept.errors).toBeUndefined();
    const referenced = await s3.list(BUCKET);
    expect(referenced).toHaveLength(1);

    // Qdrant fails every write and count: the add fails, and so does the clean-up's reference check.
    qdrant.inject({ when: (r) => r.operation === 'upsert_points' || r.operation === 'count_points', fault: { type: 'status', status: 503, message: 'overloaded' } });
    const failed = await gqlUpload(server.url, INGEST, { f: { bytes: markdown('lost manual'), name: 'lost.md' } });
    qdrant.clearFaults();
    expect(failed.errors?.[0]?.extensions?.code).toBe('QDRANT_UNAVAILABLE');
    const afterFailure = await s3.list(BUCKET);
    const orphans = afterFailure.filter((k) => !referenced.includes(k));
    // The defect: a file no record refers to.
    expect(orphans).toHaveLength(1);

    // Past the grace period (10 s here; INGEST_TIMEOUT_MS is 1 s). The CLI starts in a few seconds,
    // so the grace period is what keeps the young file below, put just before the run.
    await sleep(10_500);
    const dry = await sweep(['--grace-ms', '10000', '--dry-run'], env);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would delete  ${orphans[0]!.split('/').at(-1)}`);
    expect(await s3.list(BUCKET)).toEqual(afterFailure);

    const store = new S3BlobStore(s3.settings(BUCKET), tenantBlobPrefix(''));
    const young = await store.put(Buffer.from('written just now'), 'txt');
    store.close();
    const run = await sweep(['--grace-ms', '10000'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/3 files: 1 unreferenced deleted, 1 referenced, 1 within the grace period, 0 failed/);
    const left = await s3.list(BUCKET);
    expect(left).toEqual([...referenced, `blobs/${blobPath(young)}`].sort());
  }, 120_000);

  it('an ingest that died half-way and is never repeated: the sweep removes its invisible records, then its file', async () => {
    const start = await s3.list(BUCKET);
    const committed = await gqlUpload<{ ingestDocument: { id: string } }>(server.url, INGEST, { f: { bytes: markdown('committed manual'), name: 'committed.md' } });
    expect(committed.errors).toBeUndefined();
    const before = await s3.list(BUCKET);
    const committedFile = before.filter((k) => !start.includes(k));
    expect(committedFile).toHaveLength(1);
    // The connection drops after the claim is written: the add stops with its record uncommitted,
    // as a replica killed at that moment leaves it, and the record keeps its file "referenced".
    let upserts = 0;
    qdrant.inject({ when: (r) => r.operation === 'upsert_points' && ++upserts > 1, fault: { type: 'drop' } });
    const died = await gqlUpload(server.url, INGEST, { f: { bytes: markdown('abandoned manual'), name: 'abandoned.md' } });
    qdrant.clearFaults();
    expect(died.errors?.[0]?.extensions?.code).toBe('QDRANT_UNAVAILABLE');
    const leaked = (await s3.list(BUCKET)).filter((k) => !before.includes(k));
    expect(leaked).toHaveLength(1);

    // Older than INGEST_TIMEOUT_MS (1 s) + the grace period (1 s).
    await sleep(2_500);
    const dry = await sweep(['--grace-ms', '1000', '--dry-run'], env);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would remove unfinished add {2}document \S+ \(claimed [^;]+; files /);
    expect(dry.stdout).toMatch(/^1 unfinished adds older than INGEST_TIMEOUT_MS \+ grace would be removed;/m);
    expect(await s3.list(BUCKET)).toEqual(expect.arrayContaining(leaked));

    const run = await sweep(['--grace-ms', '1000'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/removed unfinished add {2}document /);
    expect(run.stdout).toContain(`deleted       ${leaked[0]!.split('/').at(-1)}`);
    const after = await s3.list(BUCKET);
    expect(after).not.toContain(leaked[0]);
    // The committed manual and its file are untouched.
    expect(after).toContain(committedFile[0]);
    const doc = await gql<{ document: { id: string } | null }>(server.url, 'query($id: ID!) { document(id: $id) { id } }', { id: committed.data!.ingestDocument.id });
    expect(doc.data?.document?.id).toBe(committed.data!.ingestDocument.id);
  }, 120_000);

  it('refuses a grace period shorter than INGEST_TIMEOUT_MS', async () => {
    const res = await sweep(['--grace-ms', '500'], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('shorter than INGEST_TIMEOUT_MS');
  });
});

describe('orphan blobs on the disk blob store (SQLite), swept by the CLI', () => {
  const DAY = 86_400_000;
  let dataDir: string;
  let env: Record<string, string>;
  let blobs: DiskBlobStore;
  const setBack = (key: string, ms: number) => {
    const when = new Date(Date.now() - ms);
    utimesSync(path.join(dataDir, 'blobs', blobPath(key)!), when, when);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-sweep-disk-'));
    env = baseEnv(dataDir);
    blobs = new DiskBlobStore(path.join(dataDir, 'blobs'));
  });
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to sweep when no file at all is referenced (the wrong DATA_DIR), unless forced', async () => {
    const stray = await blobs.put(Buffer.from('stray file'), 'txt');
    setBack(stray, 2 * DAY);
    const refused = await sweep([], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SWEEP_NOTHING_REFERENCED');
    expect(await blobs.has(stray)).toBe(true);
    const forced = await sweep(['--force'], env);
    expect(forced.code).toBe(0);
    expect(await blobs.has(stray)).toBe(false);
  }, 60_000);

  it('deletes old unreferenced files; keeps referenced, young and re-put ones', async () => {
    const server = await startTestServer(env);
    const doc = await gqlUpload<{ ingestDocument: { id: string } }>(server.url, INGEST, { f: { bytes: markdown('disk manual'), name: 'disk.md' } });
    await server.close();
    expect(doc.errors).toBeUndefined();
    const referenced: string[] = [];
    for await (const entry of blobs.list()) referenced.push(entry.key);
    expect(referenced).toHaveLength(1);
    for (const key of referenced) setBack(key, 2 * DAY);

    const orphan = await blobs.put(Buffer.from('left by a failed ingest'), 'pdf');
    setBack(orphan, 2 * DAY);
    const young = await blobs.put(Buffer.from('stored a minute ago by an ingest in progress'), 'png');
    setBack(young, 60_000);
    // An old orphan whose bytes an ingest stores again now: the put renews its time, so it stays.
    const reput = await blobs.put(Buffer.from('uploaded again'), 'jpg');
    setBack(reput, 2 * DAY);
    expect(await blobs.put(Buffer.from('uploaded again'), 'jpg')).toBe(reput);

    const run = await sweep([], env); // the default grace period: 24 h
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`deleted       ${orphan}`);
    expect(run.stdout).toMatch(/4 files: 1 unreferenced deleted, 1 referenced, 2 within the grace period, 0 failed/);
    expect(await blobs.has(orphan)).toBe(false);
    for (const key of [...referenced, young, reput]) expect(await blobs.has(key)).toBe(true);
  }, 60_000);

  it('BLOB_SWEEP_INTERVAL_MS runs the same sweep inside the server', async () => {
    // A DATA_DIR of its own (startTestServer makes one).
    const { DATA_DIR: _elsewhere, ...rest } = env;
    const server = await startTestServer({ ...rest, BLOB_SWEEP_INTERVAL_MS: '200', BLOB_SWEEP_GRACE_MS: '5000' });
    try {
      const own = new DiskBlobStore(path.join(server.dataDir, 'blobs'));
      const doc = await gqlUpload(server.url, INGEST, { f: { bytes: markdown('timer manual'), name: 'timer.md' } });
      expect(doc.errors).toBeUndefined();
      const orphan = await own.put(Buffer.from('left behind while the server runs'), 'pdf');
      // Both old: the manual's file is then the referenced one the sweep must find (with none, it refuses).
      const old = new Date(Date.now() - 60_000);
      for await (const entry of own.list()) utimesSync(path.join(server.dataDir, 'blobs', blobPath(entry.key)!), old, old);
      const young = await own.put(Buffer.from('just stored by an ingest'), 'png');
      for (let waited = 0; await own.has(orphan); waited += 100) {
        if (waited > 10_000) throw new Error('the timer never swept the orphan');
        await sleep(100);
      }
      expect(await own.has(young)).toBe(true);
      let files = 0;
      for await (const entry of own.list()) files += entry.key === young ? 0 : 1;
      expect(files).toBe(1); // the manual's file
    } finally {
      await server.close();
    }
  }, 60_000);
});
