/**
 * `npm start` on the scale deployment with a DATABASE_URL whose password Postgres refuses: the
 * server must stop (exit 1) with INVALID_CONFIGURATION, as README says, never naming the password.
 * A refusal that arrives before startServer has returned made the stop itself fail ("Cannot read
 * properties of undefined (reading 'close')"), and the process went on listening with a records
 * database it could never use. That window was wide while the start-up retention run awaited
 * Postgres (this test failed then, every time); it is now the listen call only, so on today's
 * start-up this test mostly checks the documented stop end to end (no other test runs `npm start`
 * against a refusing Postgres).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { spawnServer } from '../helpers/process.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

describe('npm start with a DATABASE_URL Postgres refuses', () => {
  let qdrant: FakeQdrant;
  let postgres: TestPostgres;

  beforeAll(async () => {
    [qdrant, postgres] = await Promise.all([startFakeQdrant(), startPostgres()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([qdrant?.close(), postgres?.close()]);
  });

  it('stops with exit code 1 and INVALID_CONFIGURATION, without the password', async () => {
    const wrongPassword = 'not-the-password-7f3a9c';
    const databaseUrl = postgres.url.replace(encodeURIComponent(postgres.password), wrongPassword);
    const server = spawnServer({
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'fieldscope-fatal-')),
      CLIP_MODEL: TINY_MODEL_DIR,
      VECTOR_STORE: 'qdrant',
      QDRANT_URL: qdrant.url,
      DATABASE_URL: databaseUrl,
    });
    const code = await Promise.race([server.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 40_000))]);
    if (code === 'still running') server.child.kill('SIGKILL');
    expect(code).toBe(1);
    expect(server.stderr()).toMatch(/INVALID_CONFIGURATION: The records database \(Postgres at 127\.0\.0\.1:\d+\/postgres\) refused the connection: password authentication failed/);
    expect(server.stdout() + server.stderr()).not.toContain(wrongPassword);
    expect(server.stdout()).not.toContain("reading 'close'");
  }, 60_000);
});
