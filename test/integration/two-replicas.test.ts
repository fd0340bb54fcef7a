/**
 * Two API replicas that hold nothing: two real servers on 127.0.0.1, each with its own empty
 * DATA_DIR, on one Qdrant (the schema-checking double), one real Postgres and one real
 * S3-compatible server (s3rver). What a load balancer would spread over them must not show which
 * replica served it: a document and a photo ingested on one are found, fetched (through a URL the
 * other signed) and identified on the other; a review item opened on one is claimed and resolved
 * on the other; 20 concurrent claims split over both have exactly one winner; and the audit log
 * read on either is the same, with both replicas' entries numbered without gaps.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { jpeg } from '../helpers/images.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startTestS3, type TestS3 } from '../helpers/s3rver.js';
import { errorCode, gql, gqlUpload, startTestServer, type GraphQLResponse, waitUntilReady } from '../helpers/server.js';

const ADMIN_KEY = 'two-replicas-admin-0123456789abcdef';
const AGENT_KEY = 'two-replicas-agent-0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const agent = { authorization: `Bearer ${AGENT_KEY}` };
const BUCKET = 'two-replicas';

type Server = Awaited<ReturnType<typeof startTestServer>>;

function ok<T>(res: GraphQLResponse<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

describe('two replicas on Qdrant, Postgres and S3', () => {
  let qdrant: FakeQdrant;
  let postgres: TestPostgres;
  let s3: TestS3;
  let a: Server;
  let b: Server;
  let photo: Buffer;

  beforeAll(async () => {
    [qdrant, postgres, s3] = await Promise.all([startFakeQdrant(), startPostgres(), startTestS3()]);
    await s3.createBucket(BUCKET);
    const databaseUrl = await postgres.createDatabase('two_replicas');
    const keysFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-two-replicas-')), 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify({
        keys: [
          { name: 'acme-admin', role: 'admin', tenant: 'acme', key: ADMIN_KEY },
          { name: 'acme-agent', role: 'agent', tenant: 'acme', key: AGENT_KEY },
        ],
      }),
    );
    const env = {
      LOAD_DEMO: 'false',
      VECTOR_STORE: 'qdrant',
      QDRANT_URL: qdrant.url,
      DATABASE_URL: databaseUrl,
      ...s3.env(BUCKET),
      AUTH_KEYS_FILE: keysFile,
      // One secret, so a file URL signed by one replica is honoured by the other.
      FILE_URL_SECRET: 'two-replicas-file-url-secret-0123456789',
    };
    // One after the other: both would create the collection and the schema, which is safe, but the two start-ups would share two cores.
    a = await startTestServer(env);
    b = await startTestServer(env);
    await Promise.all([waitUntilReady(a.url), waitUntilReady(b.url)]);
    photo = await jpeg();
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await Promise.all([qdrant?.close(), postgres?.close(), s3?.close()]);
  });

  it('keeps nothing on either replica: a file ingested on one is found and fetched on the other', async () => {
    expect(a.dataDir).not.toBe(b.dataDir);
    const doc = ok(await gqlUpload<{ ingestDocument: { id: string; url: string } }>(a.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id url } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } }, {}, admin)).ingestDocument;
    const stored = ok(await gqlUpload<{ ingestPhoto: { id: string; url: string } }>(a.url, 'mutation($file: Upload!) { ingestPhoto(file: $file) { id url } }', { file: { bytes: photo, name: 'pump.jpg' } }, {}, admin)).ingestPhoto;

    const hits = ok(await gql<{ search: { hits: { document: { id: string } | null }[] } }>(b.url, '{ search(text: "seal kit 4471-B") { hits { document { id } } } }', {}, agent)).search.hits;
    expect(hits[0]?.document?.id).toBe(doc.id);
    // The URL replica A signed, fetched from replica B, and B's own URL for the same photo.
    const viaA = await fetch(`${b.url}${stored.url}`);
    expect(viaA.status).toBe(200);
    expect(Buffer.from(await viaA.arrayBuffer())).toEqual(photo);
    const own = ok(await gql<{ photo: { url: string } }>(b.url, 'query($id: ID!) { photo(id: $id) { url } }', { id: stored.id }, agent)).photo;
    const viaB = await fetch(`${b.url}${own.url}`);
    expect(Buffer.from(await viaB.arrayBuffer())).toEqual(photo);
    const original = await fetch(`${b.url}${doc.url}`);
    expect(await original.text()).toBe(PUMP_MANUAL_MD);
  });

  it('opens a review item on one replica, and claims and resolves it on the other', async () => {
    const identified = ok(await gqlUpload<{ identifyPart: { id: string; reviewItem: { id: string; status: string } | null } }>(
      a.url,
      'query($image: Upload!) { identifyPart(image: $image, candidates: ["mechanical seal", "impeller"]) { id reviewItem { id status } } }',
      { image: { bytes: photo } },
      {},
      agent,
    )).identifyPart;
    // On the test model every identification is unconfident, so it goes to the review queue.
    expect(identified.reviewItem).toMatchObject({ status: 'OPEN' });
    const id = identified.reviewItem!.id;
    expect(ok(await gql<{ claimReview: { status: string; claimedBy: string } }>(b.url, 'mutation($id: ID!) { claimReview(id: $id) { status claimedBy } }', { id }, agent)).claimReview).toEqual({ status: 'CLAIMED', claimedBy: 'acme-agent' });
    expect(errorCode(await gql(a.url, 'mutation($id: ID!) { claimReview(id: $id) { status } }', { id }, admin))).toBe('REVIEW_ITEM_NOT_OPEN');
    ok(await gql(b.url, 'mutation($id: ID!) { resolveReview(id: $id, label: "impeller", note: "part number on the hub") { status } }', { id }, agent));
    const seenOnA = ok(await gql<{ reviewQueue: { nodes: { id: string; status: string; resolvedBy: string | null }[] } }>(a.url, '{ reviewQueue(first: 100) { nodes { id status resolvedBy } } }', {}, agent)).reviewQueue.nodes;
    expect(seenOnA.find((n) => n.id === id)).toEqual({ id, status: 'RESOLVED', resolvedBy: 'acme-agent' });
  });

  it('20 concurrent claims of one item, split over both replicas, have exactly one winner', async () => {
    const identified = ok(await gqlUpload<{ identifyPart: { reviewItem: { id: string } | null } }>(b.url, 'query($image: Upload!) { identifyPart(image: $image, candidates: ["mechanical seal", "impeller"]) { reviewItem { id } } }', { image: { bytes: photo } }, {}, agent)).identifyPart;
    const id = identified.reviewItem!.id;
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => gql<{ claimReview: { status: string } }>((i % 2 ? a : b).url, 'mutation($id: ID!) { claimReview(id: $id) { status } }', { id }, i % 3 ? agent : admin)),
    );
    const won = claims.filter((c) => c.data?.claimReview?.status === 'CLAIMED');
    expect(won).toHaveLength(1);
    expect(claims.filter((c) => errorCode(c) === 'REVIEW_ITEM_NOT_OPEN')).toHaveLength(19);
  });

  it('shows the same audit log on either replica: both replicas entries, numbered 1, 2, 3 … without gaps', async () => {
    const AUDIT = '{ auditLog(first: 100) { nodes { seq operation outcome keyName } } }';
    type Entry = { seq: number; operation: string; outcome: string; keyName: string };
    const onA = ok(await gql<{ auditLog: { nodes: Entry[] } }>(a.url, AUDIT, {}, admin)).auditLog.nodes;
    const onB = ok(await gql<{ auditLog: { nodes: Entry[] } }>(b.url, AUDIT, {}, admin)).auditLog.nodes;
    // B read after A: its list is A's plus A's read (B's own read is written once it is answered).
    expect(onB).toEqual([{ seq: onA[0]!.seq + 1, operation: 'auditLog', outcome: 'ok', keyName: 'acme-admin' }, ...onA]);
    const seqs = onB.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs.length - i));
    const ops = (name: string) => onB.filter((e) => e.operation === name);
    // ingest on A, search and fetch on B, resolve on B, the claims on both.
    expect(ops('ingestDocument')).toHaveLength(1);
    expect(ops('search')).toHaveLength(1);
    expect(ops('resolveReview')).toHaveLength(1);
    expect(ops('claimReview')).toHaveLength(22);
    expect(ops('claimReview').filter((e) => e.outcome === 'ok')).toHaveLength(2);
  });

  it('left no file in either replica\'s DATA_DIR (upload buffers aside)', () => {
    for (const server of [a, b]) {
      const files = readdirSync(server.dataDir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(server.dataDir, path.join(e.parentPath, e.name)))
        .filter((f) => !f.startsWith(`tmp${path.sep}`));
      expect(files).toEqual([]);
    }
  });
});
