/**
 * The server on a Qdrant that answers, but not with what Qdrant answers: a body cut short, an
 * HTML error page from a proxy in front of it, JSON of another shape. Each is a dependency
 * failing, not a bug of ours: the operation gets QDRANT_UNAVAILABLE (category UNAVAILABLE, with
 * retryAfterMs) instead of a masked INTERNAL_SERVER_ERROR, /ready says why it is not ready, and
 * the same server serves again as soon as the answers are right (no restart).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { gql, gqlUpload, startTestServer, waitUntilReady } from '../helpers/server.js';

const SEARCH = '{ search(text: "seal kit 4471-B") { hits { document { id } } } }';

const BAD_ANSWERS: { name: string; body: string; contentType?: string }[] = [
  { name: 'a JSON answer cut short', body: '{"result": {"points": [{"id": 1, "sco' },
  { name: "a proxy's HTML error page", body: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' },
  { name: 'JSON of another shape', body: '{"result": null, "status": "ok", "time": 0}' },
];

describe('the server on a Qdrant that answers garbage', () => {
  let fake: FakeQdrant;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let documentId: string;

  beforeAll(async () => {
    fake = await startFakeQdrant();
    server = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, QDRANT_MAX_RETRIES: '1', QDRANT_TIMEOUT_MS: '2000' });
    await waitUntilReady(server.url);
    const ingest = await gqlUpload<{ ingestDocument: { id: string } }>(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } });
    expect(ingest.errors).toBeUndefined();
    documentId = ingest.data!.ingestDocument.id;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  for (const bad of BAD_ANSWERS) {
    it(`a search answered with ${bad.name} fails with QDRANT_UNAVAILABLE, then works again`, async () => {
      fake.inject({ when: (r) => r.operation === 'query_batch_points', fault: { type: 'body', body: bad.body, contentType: bad.contentType } });
      const failed = await gql(server.url, SEARCH);
      fake.clearFaults();
      expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'QDRANT_UNAVAILABLE', category: 'UNAVAILABLE', operation: 'query_batch_points', retryAfterMs: expect.any(Number) });
      expect(failed.errors?.[0]?.message).toMatch(/query_batch_points/);
      const again = await gql<{ search: { hits: { document: { id: string } }[] } }>(server.url, SEARCH);
      expect(again.errors).toBeUndefined();
      expect(again.data!.search.hits[0]!.document.id).toBe(documentId);
    });
  }

  it('an ingest whose writes are answered with garbage fails with QDRANT_UNAVAILABLE and leaves nothing visible', async () => {
    fake.inject({ when: (r) => r.operation === 'upsert_points', fault: { type: 'body', body: '{"result": {"operation_id": 1, "sta' } });
    const failed = await gqlUpload(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from('# Valve V-9\n\nReplace the stem packing kit 9911-Z.\n'), name: 'v9.md' } });
    fake.clearFaults();
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'QDRANT_UNAVAILABLE', category: 'UNAVAILABLE' });
    const listed = await gql<{ documents: { nodes: { id: string }[] } }>(server.url, '{ documents(first: 10) { nodes { id } } }');
    expect(listed.data!.documents.nodes.map((n) => n.id)).toEqual([documentId]);
  });

  it('/ready is 503 with the cause while the readiness probe gets garbage, and 200 again after', async () => {
    fake.inject({ when: (r) => r.operation === 'collection_exists', fault: { type: 'body', body: '<html>oops</html>', contentType: 'text/html' } });
    // The probe's answer is cached for a second.
    await new Promise((r) => setTimeout(r, 1100));
    const res = await fetch(`${server.url}/ready`);
    const body = (await res.json()) as { store: { ready: boolean; problem?: string }; reasons: string[] };
    fake.clearFaults();
    expect(res.status).toBe(503);
    expect(body.store.ready).toBe(false);
    expect(body.reasons[0]).toMatch(/^the qdrant store is not ready: .*collection_exists/);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });
});
