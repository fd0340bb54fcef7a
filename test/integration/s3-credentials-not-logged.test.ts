/**
 * S3 credentials never reach a log line: the server run as users run it (tsx src/main.ts, JSON
 * logs at LOG_LEVEL=trace) on a real s3rver that knows a distinctive key pair, through start-up,
 * ingest, file serving, an outage (storage errors logged and answered) and the recovery. Every
 * byte the process wrote to stdout and stderr is searched for the key id and the secret.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../helpers/process.js';
import { registerS3Credentials, startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { gqlUpload, TINY_MODEL_DIR } from '../helpers/server.js';

const KEY_ID = 'FSKEYIDNEVERLOGGED42';
const SECRET = 'fs-secret-never-logged-0123456789abcdefXYZ';

describe('S3 credentials are never logged', () => {
  let s3: TestS3;
  let dataDir: string;
  beforeAll(async () => {
    registerS3Credentials(KEY_ID, SECRET);
    s3 = await startTestS3();
    await s3.createBucket('secret-files');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-s3-logs-'));
  });
  afterAll(async () => {
    await s3?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('through start-up, ingest, serving, an outage and the recovery', async () => {
    const proc = spawnServer({
      NODE_ENV: 'test',
      LOG_LEVEL: 'trace',
      DATA_DIR: dataDir,
      CLIP_MODEL: TINY_MODEL_DIR,
      CLIP_ALLOW_TEST_MODEL: 'true',
      OCR: 'off',
      S3_TIMEOUT_MS: '1500',
      ...s3.env('secret-files', { accessKeyId: KEY_ID, secretAccessKey: SECRET }),
    });
    try {
      const url = await proc.listening;
      const INGEST = 'mutation($file: Upload!) { ingestDocument(file: $file) { url } }';
      const ok = await gqlUpload<{ ingestDocument: { url: string } }>(url, INGEST, { file: { bytes: Buffer.from('# Pump P-5\n\nSeal kit 7781-Z.\n'), name: 'p5.md' } });
      expect(ok.errors).toBeUndefined();
      const fileUrl = `${url}${ok.data!.ingestDocument.url}`;
      expect((await fetch(fileUrl)).status).toBe(200);
      // The objects were written with these credentials (s3rver refuses unknown key ids).
      expect(await s3.list('secret-files')).toHaveLength(1);

      await s3.stop();
      expect((await fetch(fileUrl)).status).toBe(503);
      expect((await fetch(`${url}/ready`)).status).toBe(503);
      const failed = await gqlUpload(url, INGEST, { file: { bytes: Buffer.from('# Another\n\nText.\n'), name: 'a.md' } });
      expect(failed.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      expect(JSON.stringify(failed)).not.toContain(SECRET);
      await s3.start();
      expect((await fetch(fileUrl)).status).toBe(200);
    } finally {
      await s3.start();
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    const output = proc.stdout() + proc.stderr();
    // The outage was logged (so the search below looked at the lines that could have leaked)…
    expect(output).toContain('its storage is unavailable');
    expect(output).toContain('s3://secret-files at');
    // …and neither credential appears anywhere.
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(KEY_ID);
  }, 90_000);
});
