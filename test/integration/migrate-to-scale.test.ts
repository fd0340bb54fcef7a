/**
 * `fieldscope migrate --to scale` end to end on real servers: an embedded DATA_DIR (two tenants,
 * files in folders) copied into a real S3-compatible server (s3rver), every file read back and
 * verified by checksum; storage that is down stops the run with how to resume; a run after an
 * interrupted one copies only what is missing; a rerun copies nothing. Kinds the configuration keeps in DATA_DIR are said to stay.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/blob/blob-store.js';
import { S3BlobStore, tenantBlobPrefix } from '../../src/blob/s3-blob-store.js';
import { runMigrateCommand } from '../../src/cli/migrate.js';
import { startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { capture } from '../helpers/capture.js';

const BUCKET = 'migrated-files';
const FILES = 12;

describe('fieldscope migrate --to scale (files into a real s3rver)', () => {
  let s3: TestS3;
  let dataDir: string;
  const keys: { default: string[]; acme: string[] } = { default: [], acme: [] };

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket(BUCKET);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-migrate-scale-'));
    const home = new DiskBlobStore(path.join(dataDir, 'blobs'));
    for (let i = 0; i < FILES; i++) keys.default.push(await home.put(Buffer.from(`page render ${i} `.repeat(200 + i)), i % 3 === 0 ? 'pdf' : 'webp'));
    const acme = new DiskBlobStore(path.join(dataDir, 'tenants', 'acme', 'blobs'));
    keys.acme.push(await acme.put(Buffer.from('acme photo bytes'), 'jpg'));
  }, 60_000);
  afterAll(async () => {
    await s3?.close();
  });

  const migrate = async () => {
    const stdout = capture();
    const stderr = capture();
    const code = await runMigrateCommand(['--to', 'scale'], { stdout: stdout.stream, stderr: stderr.stream, env: { DATA_DIR: dataDir, LOG_LEVEL: 'silent', S3_TIMEOUT_MS: '1000', ...s3.env(BUCKET) } });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  };

  it('stops when the storage is down, says how to resume, and a later run copies what is missing and verifies every file', async () => {
    await s3.stop();
    const down = await migrate();
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/failed {3}file [0-9a-f]{64}\.\w+: UNAVAILABLE/);
    expect(down.stderr).toContain('run `fieldscope migrate --to scale` again to resume');
    await s3.start();

    // As an earlier run interrupted after five files would have left it.
    const bucket = new S3BlobStore(s3.settings(BUCKET), tenantBlobPrefix(''));
    const home = new DiskBlobStore(path.join(dataDir, 'blobs'));
    for (const key of keys.default.slice(0, 5)) await bucket.put((await home.get(key))!, key.split('.')[1]!);
    bucket.close();

    const resumed = await migrate();
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`verified  [default] files ${FILES}/${FILES} verified (${FILES - 5} copied, 5 already there)`);
    expect(resumed.stdout).toContain('verified  [acme] files 1/1 verified (1 copied, 0 already there)');
    // Each tenant's files under its DATA_DIR-relative prefix, as the server reads them.
    expect(await s3.list(BUCKET)).toEqual([
      ...keys.default.map((k) => `blobs/${k.slice(0, 2)}/${k.slice(2, 4)}/${k}`),
      ...keys.acme.map((k) => `tenants/acme/blobs/${k.slice(0, 2)}/${k.slice(2, 4)}/${k}`),
    ].sort());
    // Kinds this configuration keeps in DATA_DIR are named, not touched.
    expect(resumed.stdout).toContain('Identify records and the audit log: stay in DATA_DIR');
    expect(resumed.stdout).toContain('Knowledge base: stays in DATA_DIR');
  }, 60_000);

  it('a rerun copies nothing and verifies everything again', async () => {
    const again = await migrate();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`[default] files ${FILES}/${FILES} verified (0 copied, ${FILES} already there)`);
    expect(again.stdout).toContain(`Verified: every record and file copied is in its target, checksum for checksum (${FILES + 1} in all).`);
  }, 60_000);
});
