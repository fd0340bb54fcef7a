/**
 * deletePhoto on the scale deployment while Postgres (which holds the photo's near-duplicate hash)
 * is down: the answer is UNAVAILABLE saying nothing was written, so nothing may be gone. The photo
 * was deleted from Qdrant first and the hash after, so the photo vanished, its hash stayed in
 * Postgres for good (a retry found no photo and answered false) and its files were never released.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { jpeg } from '../helpers/images.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { gql, gqlUpload, startTestServer, waitUntilReady } from '../helpers/server.js';

describe('deletePhoto while Postgres is down', () => {
  let qdrant: FakeQdrant;
  let postgres: TestPostgres;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let databaseUrl: string;

  beforeAll(async () => {
    [qdrant, postgres] = await Promise.all([startFakeQdrant(), startPostgres()]);
    databaseUrl = await postgres.createDatabase('delete_photo');
    server = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, DATABASE_URL: databaseUrl, DATABASE_CONNECT_TIMEOUT_MS: '1000' });
    await waitUntilReady(server.url);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await Promise.all([qdrant?.close(), postgres?.close()]);
  });

  const hashRows = async (photoId: string) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query('SELECT photo_id FROM photo_hashes WHERE photo_id = $1', [photoId])).rowCount;
    } finally {
      await client.end();
    }
  };

  const committedPhotos = () => [...qdrant.engine.collections.values()].flatMap((c) => [...c.points.values()].filter((p) => p.payload.type === 'photo' && p.payload.committed === true)).length;

  it('ingestPhoto while Postgres is down: UNAVAILABLE, and no photo is left without its hash', async () => {
    const before = committedPhotos();
    await postgres.stop();
    const failed = await gqlUpload(server.url, 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', { file: { bytes: await jpeg(300, 300), name: 'valve.jpg' } });
    await postgres.start();
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', dependency: 'postgres' });
    expect(committedPhotos()).toBe(before);
  }, 60_000);

  it('fails with UNAVAILABLE and deletes nothing; once Postgres is back the retry deletes the photo and its hash', async () => {
    const stored = await gqlUpload<{ ingestPhoto: { id: string } }>(server.url, 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', { file: { bytes: await jpeg(360, 240), name: 'pump.jpg' } });
    expect(stored.errors).toBeUndefined();
    const id = stored.data!.ingestPhoto.id;
    expect(await hashRows(id)).toBe(1);

    await postgres.stop();
    const failed = await gql(server.url, 'mutation($id: ID!) { deletePhoto(id: $id) }', { id });
    await postgres.start();
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', dependency: 'postgres' });
    expect(failed.errors?.[0]?.message).toContain('nothing was written');
    const still = await gql<{ photo: { id: string } | null }>(server.url, 'query($id: ID!) { photo(id: $id) { id } }', { id });
    expect(still.data?.photo).toEqual({ id });

    const deadline = Date.now() + 20_000;
    let retried = await gql<{ deletePhoto: boolean }>(server.url, 'mutation($id: ID!) { deletePhoto(id: $id) }', { id });
    while (retried.errors && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      retried = await gql<{ deletePhoto: boolean }>(server.url, 'mutation($id: ID!) { deletePhoto(id: $id) }', { id });
    }
    expect(retried.data?.deletePhoto).toBe(true);
    expect((await gql<{ photo: unknown }>(server.url, 'query($id: ID!) { photo(id: $id) { id } }', { id })).data?.photo).toBeNull();
    expect(await hashRows(id)).toBe(0);
  }, 60_000);
});
