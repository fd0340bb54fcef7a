/**
 * An operation past its deadline (or whose client went away) stops writing, and leaves nothing
 * half-written. Before, Postgres statements and Qdrant writes took no abort signal: an ingest that
 * had timed out kept waiting on its SQL and went on to commit its Qdrant points after the client
 * had been told TIMEOUT.
 *
 * - Postgres (a real server): a statement in progress is cancelled on the server when the signal
 *   fires; a transaction is rolled back, even one whose statements had all succeeded.
 * - Qdrant (the schema-checking double, made to stall): an add whose commit request is slow, or
 *   whose writes hang, stops sending, and no point of it stays, committed or not.
 * - The whole path (the server on Qdrant + Postgres): a photo ingest whose Postgres write is held
 *   by a table lock answers TIMEOUT, its statement is cancelled, and the photo, its points and
 *   its file are gone.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDatabase } from '../../src/postgres/postgres-database.js';
import { QdrantKnowledgeStore } from '../../src/store/qdrant/qdrant-knowledge-store.js';
import { CONTRACT_DIM, CONTRACT_MODEL_ID, axis, newDocument } from '../contract/knowledge-store.contract.js';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { jpeg } from '../helpers/images.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { errorCode, gqlUpload, startTestServer, waitUntilReady } from '../helpers/server.js';

const INGEST_PHOTO = 'mutation($f: Upload!) { ingestPhoto(file: $f) { id wasDuplicate } }';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An abort with a recognisable reason, after `ms`. */
function abortAfter(ms: number): { signal: AbortSignal; reason: Error } {
  const controller = new AbortController();
  const reason = new Error('the operation deadline passed');
  setTimeout(() => controller.abort(reason), ms);
  return { signal: controller.signal, reason };
}

async function activeStatements(url: string, like: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [like]);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

let postgres: TestPostgres;
let qdrant: FakeQdrant;
beforeAll(async () => {
  [postgres, qdrant] = await Promise.all([startPostgres(), startFakeQdrant()]);
}, 60_000);
afterAll(async () => {
  await qdrant?.close();
  await postgres?.close();
});

describe('Postgres statements stop with the operation', () => {
  let db: PostgresDatabase;
  let url: string;
  beforeAll(async () => {
    url = await postgres.createDatabase('cancel_sql');
    db = new PostgresDatabase({ url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 60_000 });
    await db.init();
    await db.query('CREATE TABLE marks (id text PRIMARY KEY)');
  });
  afterAll(async () => {
    await db?.close();
  });

  it('cancels a running statement on the server and rejects with the signal reason', async () => {
    const { signal, reason } = abortAfter(200);
    const started = performance.now();
    await expect(db.query('SELECT pg_sleep(20)', [], { signal })).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(5000);
    // Not merely abandoned by the client: the server is no longer running it.
    for (let waited = 0; (await activeStatements(url, '%pg_sleep(20)%')) > 0; waited += 50) {
      if (waited > 3000) throw new Error('the statement still runs on the server');
      await sleep(50);
    }
    // The pool is fine afterwards (the cancelled connection was closed, not reused).
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
  });

  it('rolls back a transaction aborted mid-way, and one aborted after its last statement', async () => {
    const { signal, reason } = abortAfter(200);
    await expect(
      db.transaction(async (client) => {
        await client.query("INSERT INTO marks VALUES ('during')");
        await client.query('SELECT pg_sleep(20)');
      }, { signal }),
    ).rejects.toBe(reason);

    const late = abortAfter(150);
    await expect(
      db.transaction(async (client) => {
        await client.query("INSERT INTO marks VALUES ('after')");
        await sleep(400);
      }, { signal: late.signal }),
    ).rejects.toBe(late.reason);

    expect((await db.query('SELECT id FROM marks')).rows).toEqual([]);
    // Without an abort the same transaction commits.
    await db.transaction(async (client) => {
      await client.query("INSERT INTO marks VALUES ('kept')");
    }, { signal: new AbortController().signal });
    expect((await db.query('SELECT id FROM marks')).rows).toEqual([{ id: 'kept' }]);
  });

  it('does not start a statement once the signal has fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(db.query("INSERT INTO marks VALUES ('never')", [], { signal: controller.signal })).rejects.toThrow('gone');
    expect((await db.query("SELECT id FROM marks WHERE id = 'never'")).rows).toEqual([]);
  });
});

describe('Qdrant writes stop with the operation and leave no point', () => {
  let prefix = 0;
  async function openStore(timeoutMs = 10_000): Promise<QdrantKnowledgeStore> {
    const store = new QdrantKnowledgeStore({ url: qdrant.url, collectionPrefix: `cancel${++prefix}_`, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, timeoutMs, maxRetries: 6, retryBaseDelayMs: 50 });
    await store.init();
    return store;
  }
  const pointsOf = (store: QdrantKnowledgeStore, documentId: string) =>
    [...(qdrant.engine.collections.get(store.collection)?.points.values() ?? [])].filter((p) => (p.payload as { document_id?: unknown }).document_id === documentId);

  it('a commit answered after the deadline is taken back', async () => {
    const store = await openStore();
    const input = newDocument({ pages: [{ text: 'seal kit 4471-B for the P200 pump', image: axis(1), chunks: [{ text: 'seal kit 4471-B', vector: axis(2) }] }] });
    qdrant.inject({ when: (r) => r.operation === 'set_payload', times: 1, fault: { type: 'delay', ms: 800 } });
    const { signal, reason } = abortAfter(200);
    await expect(store.addDocument(input, { signal })).rejects.toBe(reason);
    qdrant.clearFaults();
    expect(pointsOf(store, input.document.id)).toEqual([]);
    expect(await store.findDocumentByHash(input.document.contentHash)).toBeNull();
    // The same file goes in afterwards.
    expect((await store.addDocument(input)).created).toBe(true);
    await store.close();
  });

  it('writes that hang: no request after the abort but the clean-up, and no point left', async () => {
    const store = await openStore(600);
    const input = newDocument({ pages: [{ text: 'impeller wear ring', image: axis(3), chunks: [{ text: 'impeller wear ring', vector: axis(4) }] }] });
    qdrant.inject({ when: (r) => r.operation === 'upsert_points' && JSON.stringify(r.body).includes('"chunk"'), fault: { type: 'hang' } });
    qdrant.clearRequests();
    const { signal, reason } = abortAfter(200);
    await expect(store.addDocument(input, { signal })).rejects.toBe(reason);
    qdrant.clearFaults();
    const sent = qdrant.requests.map((r) => r.operation);
    // One hung chunk write (not retried after the abort), then the deletion of everything this add wrote.
    expect(sent.filter((op) => op === 'upsert_points')).toHaveLength(2); // the claim, the hung chunk batch
    expect(sent.at(-1)).toBe('delete_points');
    expect(sent).not.toContain('set_payload');
    expect(pointsOf(store, input.document.id)).toEqual([]);
    await store.close();
  });
});

describe('a photo ingest past its deadline on Qdrant and Postgres', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let url: string;
  beforeAll(async () => {
    url = await postgres.createDatabase('cancel_ingest');
    server = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, QDRANT_COLLECTION_PREFIX: 'ingest_', DATABASE_URL: url, INGEST_TIMEOUT_MS: '4000', OCR: 'off' });
    await waitUntilReady(server.url);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('answers TIMEOUT, cancels the held statement and keeps no photo, point or file', async () => {
    const photo = await jpeg(64, 48);
    // Another session holds the photo-hash table: the ingest's INSERT waits behind it.
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE photo_hashes IN ACCESS EXCLUSIVE MODE');
    try {
      const res = await gqlUpload(server.url, INGEST_PHOTO, { f: { bytes: photo, name: 'held.jpg' } });
      expect(errorCode(res)).toBe('TIMEOUT');
      // The INSERT no longer waits on the server (before, it sat there until the lock went).
      for (let waited = 0; (await activeStatements(url, '%INSERT INTO photo_hashes%')) > 0; waited += 100) {
        if (waited > 5000) throw new Error('the INSERT still runs on the server after the deadline');
        await sleep(100);
      }
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    // Give anything still running every chance to finish, then look for what it left.
    await sleep(1500);
    const collection = [...qdrant.engine.collections.values()].find((c) => c.name.startsWith('ingest_'));
    expect([...(collection?.points.values() ?? [])].filter((p) => (p.payload as { type?: unknown }).type === 'photo')).toEqual([]);
    const hashes = new pg.Client({ connectionString: url });
    await hashes.connect();
    expect((await hashes.query('SELECT photo_id FROM photo_hashes')).rows).toEqual([]);
    await hashes.end();
    const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [e.name])) : []);
    expect(files(path.join(server.dataDir, 'blobs'))).toEqual([]);
    // The same photo goes in afterwards, as a new photo (nothing of the first attempt was kept).
    const again = await gqlUpload<{ ingestPhoto: { id: string; wasDuplicate: boolean } }>(server.url, INGEST_PHOTO, { f: { bytes: photo, name: 'held.jpg' } });
    expect(again.errors).toBeUndefined();
    expect(again.data?.ingestPhoto.wasDuplicate).toBe(false);
    expect(files(path.join(server.dataDir, 'blobs'))).toHaveLength(1);
  }, 60_000);
});
