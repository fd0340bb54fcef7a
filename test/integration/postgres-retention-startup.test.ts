/**
 * Retention at start-up on the scale deployment: the records database (DATABASE_URL) connects in
 * the background, so the start-up run must wait for it. It ran at once and always failed with
 * "not connected yet" (logged as "retention at start-up skipped"), leaving identifications past
 * RETENTION_DAYS in Postgres until the hourly run.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startTestServer, waitUntilReady } from '../helpers/server.js';

describe('retention at start-up with DATABASE_URL', () => {
  let qdrant: FakeQdrant;
  let postgres: TestPostgres;
  let databaseUrl: string;

  beforeAll(async () => {
    [qdrant, postgres] = await Promise.all([startFakeQdrant(), startPostgres()]);
    databaseUrl = await postgres.createDatabase('retention_startup');
  }, 60_000);
  afterAll(async () => {
    await Promise.all([qdrant?.close(), postgres?.close()]);
  });

  it('deletes identifications older than RETENTION_DAYS once Postgres is connected, without waiting an hour', async () => {
    const env = { LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, DATABASE_URL: databaseUrl, RETENTION_DAYS: '30' };
    // A first start creates the schema; then one identification from 40 days ago and one from today.
    const first = await startTestServer(env);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await waitUntilReady(first.url);
      await first.close();
      const insert = 'INSERT INTO identifications (tenant, id, photo_id, image_vector, candidates, confident, created_at) VALUES ($1, $2, NULL, $3, $4, true, $5)';
      const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
      await client.query(insert, ['default', 'old-identification', Buffer.alloc(8), '[]', old]);
      await client.query(insert, ['default', 'new-identification', Buffer.alloc(8), '[]', new Date().toISOString()]);

      const second = await startTestServer(env);
      try {
        const ids = async () => (await client.query<{ id: string }>('SELECT id FROM identifications ORDER BY id')).rows.map((r) => r.id);
        const until = Date.now() + 15_000;
        while ((await ids()).includes('old-identification') && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
        expect(await ids()).toEqual(['new-identification']);
      } finally {
        await second.close();
      }
    } finally {
      await client.end();
    }
  }, 90_000);
});
