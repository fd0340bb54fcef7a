/**
 * Two server processes (two replicas, as `npm start` runs them) on one Qdrant (the local double
 * that speaks Qdrant's REST API) and one real Postgres (DATABASE_URL): the records replicas share.
 *
 * - Start-up while Postgres is down: /ready 503 naming the records database, requests that need
 *   records answer UNAVAILABLE with a retry hint; the servers connect once Postgres is up.
 * - 20 concurrent claims of one review item split over both replicas: exactly one wins; the
 *   item resolved on the other replica is resolved on both.
 * - The audit log read on either replica holds both replicas' entries.
 * - auditLog and reviewQueue cursors made on one replica page on the other; a foreign one is INVALID_CURSOR.
 * - Postgres going down mid-run: UNAVAILABLE and /ready 503, then recovery without a restart.
 *   Meanwhile mutations are refused before they run (ingestDocument needs no records, but its
 *   audit entry could not be recorded): nothing reaches Qdrant or the blob folder; reads still work.
 * - The password in DATABASE_URL appears in no log line and no response.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { quadrantImage } from '../helpers/images.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { gql, gqlUpload, TINY_MODEL_DIR, type GraphQLResponse } from '../helpers/server.js';

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The stored files (blobs) under a replica's DATA_DIR: relative paths, sorted. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .filter((p) => p.split(path.sep).includes('blobs'))
    .sort();

const readyStatus = async (url: string) => (await fetch(`${url}/ready`)).status;

describe('two replicas on Qdrant and Postgres', () => {
  let postgres: TestPostgres;
  let qdrant: FakeQdrant;
  const replicas: ServerProcess[] = [];
  const urls: string[] = [];
  const dataDirs: string[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    await postgres.stop();
    qdrant = await startFakeQdrant();
  });
  afterAll(async () => {
    for (const r of replicas) {
      r.child.kill('SIGTERM');
      await r.exited;
    }
    await qdrant?.close();
    await postgres?.close();
  });

  it('start while Postgres is down: not ready, naming the records database, and UNAVAILABLE with a retry hint', async () => {
    for (let i = 0; i < 2; i++) {
      dataDirs.push(mkdtempSync(path.join(os.tmpdir(), `fieldscope-replica${i}-`)));
      const replica = spawnServer({
        CLIP_MODEL: TINY_MODEL_DIR,
        CLIP_ALLOW_TEST_MODEL: 'true',
        DATA_DIR: dataDirs[i]!,
        VECTOR_STORE: 'qdrant',
        QDRANT_URL: qdrant.url,
        DATABASE_URL: postgres.url,
        DATABASE_POOL_SIZE: '4',
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
        LOG_LEVEL: 'debug',
      });
      replicas.push(replica);
      urls.push(await replica.listening);
    }
    const [a] = urls as [string, string];
    const res = await fetch(`${a}/ready`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { reasons: string[] };
    expect(body.reasons.join(' ')).toContain(`the records database (Postgres at 127.0.0.1:${postgres.port}/postgres) is not ready`);
    // The cause once, in the driver's words; not the request error's wording repeated inside it.
    const reason = body.reasons.find((r) => r.startsWith('the records database'))!;
    expect(reason).toMatch(/is not ready: (not connected yet|connect ECONNREFUSED 127\.0\.0\.1:\d+)$/);
    const early = await gql(a, '{ reviewQueue { totalCount } }');
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: expect.any(Number) });

    await postgres.start();
    for (const url of urls) await waitFor('readiness', async () => (await readyStatus(url)) === 200);
  }, 120_000);

  it('20 concurrent claims over both replicas: exactly one wins; resolved on one, resolved on both', async () => {
    const [a, b] = urls as [string, string];
    const identified = await gqlUpload<{ identifyPart: { confident: boolean; reviewItem: { id: string } | null } }>(
      a,
      'query($image: Upload!) { identifyPart(image: $image, candidates: ["gate valve", "ball valve"]) { confident reviewItem { id } } }',
      { image: { bytes: await (await quadrantImage()).jpeg().toBuffer(), name: 'part.jpg' } },
    );
    expect(identified.errors).toBeUndefined();
    const itemId = identified.data!.identifyPart.reviewItem!.id;
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => gql<{ claimReview: { status: string } }>(i % 2 === 0 ? a : b, 'mutation($id: ID!) { claimReview(id: $id) { status } }', { id: itemId })));
    const winners = claims.filter((c) => !c.errors);
    expect(winners).toHaveLength(1);
    for (const lost of claims.filter((c) => c.errors)) expect(lost.errors![0]!.extensions?.code).toBe('REVIEW_ITEM_NOT_OPEN');

    const resolved = await gql<{ resolveReview: { status: string } }>(b, 'mutation($id: ID!) { resolveReview(id: $id, label: "gate valve") { status } }', { id: itemId });
    expect(resolved.data?.resolveReview.status).toBe('RESOLVED');
    const seenOnA = await gql<{ reviewQueue: { nodes: { id: string; status: string; label: string | null }[] } }>(a, '{ reviewQueue { nodes { id status label } } }');
    expect(seenOnA.data!.reviewQueue.nodes.find((n) => n.id === itemId)).toMatchObject({ status: 'RESOLVED', label: 'gate valve' });
  }, 60_000);

  it('the audit log read on either replica shows both replicas’ entries', async () => {
    const [a, b] = urls as [string, string];
    await gql(a, 'query FromReplicaA { me { keyName } }');
    await gql(b, 'query FromReplicaB { me { keyName } }');
    for (const url of urls) {
      const log = await gql<{ auditLog: { nodes: { seq: number; operationName: string | null }[] } }>(url, '{ auditLog(first: 200) { nodes { seq operationName } } }');
      const names = log.data!.auditLog.nodes.map((n) => n.operationName);
      expect(names).toEqual(expect.arrayContaining(['FromReplicaA', 'FromReplicaB']));
      // One numbering for the tenant across replicas: no number twice, none missing.
      const seqs = log.data!.auditLog.nodes.map((n) => n.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs.length - i));
    }
  });

  it('cursors on Postgres: a page made on one replica continues on the other; a foreign after is INVALID_CURSOR', async () => {
    const [a, b] = urls as [string, string];
    for (let i = 0; i < 3; i++) await gql(a, '{ me { keyName } }');
    type Log = { auditLog: { nodes: { seq: number }[]; pageInfo: { endCursor: string } } };
    const LOG = 'query($after: String) { auditLog(first: 2, after: $after) { nodes { seq } pageInfo { endCursor } } }';
    const first = (await gql<Log>(a, LOG)).data!.auditLog;
    const top = first.nodes[0]!.seq;
    expect((await gql<Log>(b, LOG, { after: first.pageInfo.endCursor })).data!.auditLog.nodes.map((n) => n.seq)).toEqual([top - 2, top - 3]);
    expect((await gql(b, LOG, { after: 'not-a-cursor' })).errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_CURSOR', category: 'BAD_USER_INPUT' });

    type Queue = { reviewQueue: { nodes: { id: string }[]; pageInfo: { endCursor: string; hasNextPage: boolean } } };
    const QUEUE = 'query($after: String) { reviewQueue(first: 1, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } }';
    // Noise photos, unlike the one resolved as "gate valve" above, so that the confirmation does not make them confident.
    for (let i = 0; i < 2; i++) {
      const bytes = await sharp({ create: { width: 96 + i, height: 96, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg().toBuffer();
      const made = await gqlUpload<{ identifyPart: { reviewItem: { id: string } | null } }>(a, 'query($image: Upload!) { identifyPart(image: $image, candidates: ["pump housing", "pump cover"]) { reviewItem { id } } }', { image: { bytes, name: 'part.jpg' } });
      expect(made.errors).toBeUndefined();
      expect(made.data!.identifyPart.reviewItem).not.toBeNull();
    }
    const all = (await gql<{ reviewQueue: { nodes: { id: string }[] } }>(a, '{ reviewQueue(first: 100) { nodes { id } } }')).data!.reviewQueue.nodes.map((n) => n.id);
    expect(all.length).toBeGreaterThanOrEqual(2);
    const page = (await gql<Queue>(a, QUEUE)).data!.reviewQueue;
    expect((await gql<Queue>(b, QUEUE, { after: page.pageInfo.endCursor })).data!.reviewQueue.nodes.map((n) => n.id)).toEqual([all[1]]);
    expect((await gql(b, QUEUE, { after: 'no-such-item' })).errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_CURSOR', category: 'BAD_USER_INPUT' });
  }, 60_000);

  it('Postgres going down mid-run: UNAVAILABLE and not ready, then served again without a restart', async () => {
    const [a, b] = urls as [string, string];
    await postgres.stop();
    const down = await gql(b, '{ reviewQueue { totalCount } }');
    expect(down.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: expect.any(Number) });
    expect(down.errors?.[0]?.message).toMatch(/Retry/);
    const ready = await fetch(`${a}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons.join(' ')).toMatch(/records database \(Postgres at .*\) is not ready: .*unreachable/);

    // A mutation that needs no records is refused before it runs: its audit entry could not be recorded.
    const INGEST = 'mutation($f: Upload!) { ingestDocument(file: $f) { id } }';
    const manual = { f: { bytes: Buffer.from('# Outage manual\n\nClose the inlet valve before servicing.'), name: 'outage.md' } };
    const blobsBefore = dataDirs.map(filesUnder);
    qdrant.clearRequests();
    for (const url of urls) {
      const refused = await gqlUpload(url, INGEST, manual);
      expect(refused.data?.ingestDocument ?? null).toBeNull();
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', category: 'UNAVAILABLE', retryAfterMs: expect.any(Number) });
      expect(refused.errors?.[0]?.message).toMatch(/audit log cannot record/);
    }
    expect(qdrant.requests.filter((r) => r.operation === 'upsert_points')).toEqual([]);
    expect(dataDirs.map(filesUnder)).toEqual(blobsBefore);
    // Reads are still served (their audit entries go to the process log).
    const read = await gql<{ search: { noGoodMatch: boolean } }>(a, '{ search(text: "inlet valve") { noGoodMatch } }');
    expect(read.errors).toBeUndefined();
    expect(read.data!.search).toHaveProperty('noGoodMatch');

    await postgres.start();
    await waitFor('readiness again', async () => (await readyStatus(a)) === 200 && (await readyStatus(b)) === 200);
    for (const url of urls) {
      const ingested = await gqlUpload<{ ingestDocument: { id: string } }>(url, INGEST, manual);
      expect(ingested.errors).toBeUndefined();
      expect(ingested.data!.ingestDocument.id).toBeTruthy();
    }
    // The checks above looked where an ingest writes: it reached Qdrant and the blob folder now.
    expect(qdrant.requests.map((r) => r.operation)).toContain('upsert_points');
    // (The second replica finds the first one's copy of the same file in the shared store: one new blob in all.)
    expect(dataDirs.flatMap(filesUnder).length).toBeGreaterThan(blobsBefore.flat().length);
    const after: GraphQLResponse<{ reviewQueue: { totalCount: number } }> = await gql(b, '{ reviewQueue { totalCount } }');
    expect(after.errors).toBeUndefined();
    expect(after.data!.reviewQueue.totalCount).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('the password of DATABASE_URL is in no log line of either replica', () => {
    const logs = replicas.map((r) => r.stdout() + r.stderr()).join('\n');
    // The logs did talk about Postgres (so this check looked at the right lines).
    expect(logs).toMatch(/Postgres is not reachable yet; retrying/);
    expect(logs).toContain(`127.0.0.1:${postgres.port}/postgres`);
    expect(logs).not.toContain(postgres.password);
    expect(logs).not.toContain(encodeURIComponent(postgres.password));
  });
});
