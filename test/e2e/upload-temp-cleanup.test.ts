/**
 * Issue 17 item 19: the server SIGKILLed while uploads are in flight leaves graphql-upload's temp
 * files (`capacitor-*.tmp`); they must land in the folder the server owns (UPLOAD_TMP_DIR,
 * DATA_DIR/tmp by default), not the system temp folder, and the next start must remove them.
 * The real server process (`tsx src/main.ts`), real multipart requests left half-sent.
 */
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnServer } from '../helpers/process.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const BOUNDARY = 'fieldscope-boundary';
const INGEST = 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }';

/** Starts a multipart upload, sends `megabytes` of the file and never finishes it. */
function halfUpload(url: string, megabytes: number): http.ClientRequest {
  const req = http.request(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'apollo-require-preflight': 'true' },
  });
  req.on('error', () => undefined);
  const part = (name: string, body: string) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${body}\r\n`;
  req.write(part('operations', JSON.stringify({ query: INGEST, variables: { file: null } })));
  req.write(part('map', JSON.stringify({ 0: ['variables.file'] })));
  req.write(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="big.md"\r\nContent-Type: text/markdown\r\n\r\n`);
  req.write(Buffer.alloc(megabytes * 1024 * 1024, 0x61));
  return req;
}

const tempFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('capacitor-') && f.endsWith('.tmp'));

describe('upload temp files after SIGKILL', () => {
  it('are written under DATA_DIR/tmp and removed by the next start', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-uploads-'));
    const uploadDir = path.join(dataDir, 'tmp');
    const env = { CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: dataDir, LOAD_DEMO: 'false' };

    const first = spawnServer(env);
    const requests: http.ClientRequest[] = [];
    try {
      const url = await first.listening;
      requests.push(halfUpload(url, 2), halfUpload(url, 2), halfUpload(url, 2));
      // Wait until the server has buffered the three files to disk.
      const deadline = Date.now() + 15_000;
      const buffered = () => existsSync(uploadDir) && tempFiles(uploadDir).length >= 3 && tempFiles(uploadDir).every((f) => statSync(path.join(uploadDir, f)).size > 0);
      while (!buffered() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(uploadDir) ? tempFiles(uploadDir) : []).toHaveLength(3);
    } finally {
      // Killed with the uploads still in flight, as a crash would.
      first.child.kill('SIGKILL');
      await first.exited;
      for (const req of requests) req.destroy();
    }
    // What a SIGKILL leaves behind.
    expect(tempFiles(uploadDir)).toHaveLength(3);

    const second = spawnServer(env);
    try {
      await second.listening;
      expect(tempFiles(uploadDir)).toEqual([]);
      expect(second.stdout()).toMatch(/removed upload temp files left by an earlier run/);
      const line = second.stdout().split('\n').find((l) => l.includes('upload temp files left by an earlier run'));
      expect(line).toBeDefined();
      // The three upload buffers, plus whatever else the process kept in its temp folder.
      expect((JSON.parse(line!) as { files: number }).files).toBeGreaterThanOrEqual(3);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 60_000);
});
