/**
 * The whole server with VECTOR_STORE=qdrant, against a local server that validates every request
 * against Qdrant's official OpenAPI schema: start-up while Qdrant is unreachable (readiness false,
 * no crash), then ingest and search through GraphQL once it is there. Then two tenants sharing
 * one collection: neither sees the other's records, and every point carries its tenant.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { describeWithQdrantSchema, startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { jpeg } from '../helpers/images.js';
import { gql, gqlUpload, startTestServer, type GraphQLResponse, waitUntilReady } from '../helpers/server.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describeWithQdrantSchema('the server on Qdrant', () => {
  let fake: FakeQdrant | null = null;
  let server: Awaited<ReturnType<typeof startTestServer>> | null = null;
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('starts while Qdrant is down (not ready), then serves ingest and search once it is up', async () => {
    // Nothing listens on this port yet: the store keeps retrying in the background.
    const port = await freePort();
    server = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: `http://127.0.0.1:${port}`, QDRANT_TIMEOUT_MS: '500' });
    const notReady = await fetch(`${server.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ store: { kind: 'qdrant', ready: false, problem: expect.stringMatching(/not connected yet/) } });
    const early = await gql(server.url, '{ search(text: "seal") { noGoodMatch } }');
    expect(early.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');

    fake = await startFakeQdrant({ port });
    await waitUntilReady(server.url);
    const ingest = await gqlUpload<{ ingestDocument: { id: string; pageCount: number } }>(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id pageCount } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } });
    expect(ingest.errors).toBeUndefined();
    const search = await gql<{ search: { hits: { document: { id: string }; matchedBy: string[] }[] } }>(server.url, '{ search(text: "seal kit 4471-B") { hits { matchedBy document { id } } } }');
    expect(search.data!.search.hits[0]!.document.id).toBe(ingest.data!.ingestDocument.id);
    expect(search.data!.search.hits[0]!.matchedBy).toContain('IDENTIFIER');
    expect(fake.schemaErrors).toEqual([]);
  }, 60_000);
});

const GLOBEX_MANUAL_MD = `# C-900 Screw Compressor Operator Guide

## Oil separator
Change the separator element 8812-X every 4,000 hours. Check the differential pressure gauge weekly.
`;

type Payload = Record<string, unknown>;

/** Payloads of every point the fake holds (all collections), the `_system` meta point excepted. */
function storedPayloads(fake: FakeQdrant): Payload[] {
  return [...fake.engine.collections.values()].flatMap((c) => [...c.points.values()].map((p) => p.payload)).filter((p) => p.tenant !== '_system');
}

async function waitReady(url: string): Promise<void> {
  await waitUntilReady(url);
}

function ok<T>(res: GraphQLResponse<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

describeWithQdrantSchema('the server on Qdrant with two tenants in one collection', () => {
  const KEYS = { acme: 'acme-admin-0123456789abcdefghij', globex: 'globex-admin-0123456789abcdefgh' };
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  let fake: FakeQdrant;
  let server: Awaited<ReturnType<typeof startTestServer>> | null = null;
  let openServer: Awaited<ReturnType<typeof startTestServer>> | null = null;
  const ids = { acme: { doc: '', photo: '' }, globex: { doc: '', photo: '' } };
  let photoBytes: Buffer;

  const ingestDocument = (key: string, text: string, name: string) =>
    gqlUpload<{ ingestDocument: { id: string } }>(server!.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from(text), name } }, {}, auth(key));
  const ingestPhoto = (key: string) => gqlUpload<{ ingestPhoto: { id: string } }>(server!.url, 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', { file: { bytes: photoBytes, name: 'p.jpg' } }, {}, auth(key));

  beforeAll(async () => {
    fake = await startFakeQdrant();
    const keysFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-qdrant-tenants-')), 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify({
        keys: [
          { name: 'acme-admin', role: 'admin', tenant: 'acme', key: KEYS.acme },
          { name: 'globex-admin', role: 'admin', tenant: 'globex', key: KEYS.globex },
        ],
      }),
    );
    server = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, AUTH_KEYS_FILE: keysFile });
    await waitReady(server.url);
    photoBytes = await jpeg();
    ids.acme.doc = ok(await ingestDocument(KEYS.acme, PUMP_MANUAL_MD, 'p200.md')).ingestDocument.id;
    ids.acme.photo = ok(await ingestPhoto(KEYS.acme)).ingestPhoto.id;
    ids.globex.doc = ok(await ingestDocument(KEYS.globex, GLOBEX_MANUAL_MD, 'c900.md')).ingestDocument.id;
    // The very same bytes in globex: its own record (dedup is per tenant), not acme's.
    ids.globex.photo = ok(await ingestPhoto(KEYS.globex)).ingestPhoto.id;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await openServer?.close();
    await fake?.close();
  });

  it("serves each tenant only its own documents and photos, by search, listing and id", async () => {
    expect(ids.globex.photo).not.toBe(ids.acme.photo);
    const SEARCH = 'query($text: String, $image: Upload) { search(text: $text, image: $image, limit: 50) { hits { document { id } photo { id } } } }';
    type Hits = { search: { hits: { document: { id: string } | null; photo: { id: string } | null }[] } };
    for (const [me, other] of [
      ['acme', 'globex'],
      ['globex', 'acme'],
    ] as const) {
      const key = KEYS[me];
      const own = ids[me];
      const theirs = ids[other];
      // Both tenants' words: only own records come back, and own words do find own document.
      for (const text of ['mechanical seal kit 4471-B', 'separator element 8812-X compressor']) {
        const hits = ok(await gql<Hits>(server!.url, SEARCH, { text }, auth(key))).search.hits;
        for (const h of hits) {
          if (h.document) expect(h.document.id).toBe(own.doc);
          if (h.photo) expect(h.photo.id).toBe(own.photo);
        }
      }
      const ownWords = me === 'acme' ? 'mechanical seal kit 4471-B' : 'separator element 8812-X compressor';
      expect(ok(await gql<Hits>(server!.url, SEARCH, { text: ownWords }, auth(key))).search.hits.map((h) => h.document?.id)).toContain(own.doc);
      // The shared photo bytes find the caller's copy and never the other's (same vector, other tenant).
      const byImage = ok(await gqlUpload<Hits>(server!.url, SEARCH, { image: { bytes: photoBytes } }, {}, auth(key))).search.hits;
      expect(byImage.map((h) => h.photo?.id)).toContain(own.photo);
      expect(byImage.map((h) => h.photo?.id)).not.toContain(theirs.photo);
      expect(byImage.map((h) => h.document?.id)).not.toContain(theirs.doc);

      const listed = ok(await gql<{ documents: { totalCount: number; nodes: { id: string }[] } }>(server!.url, '{ documents(first: 100) { totalCount nodes { id } } }', {}, auth(key))).documents;
      expect(listed).toEqual({ totalCount: 1, nodes: [{ id: own.doc }] });
      expect(ok(await gql(server!.url, 'query($id: ID!) { document(id: $id) { id } }', { id: theirs.doc }, auth(key)))).toEqual({ document: null });
      expect(ok(await gql(server!.url, 'query($id: ID!) { photo(id: $id) { id } }', { id: theirs.photo }, auth(key)))).toEqual({ photo: null });
      expect(ok(await gql(server!.url, 'query($id: ID!) { document(id: $id) { id } }', { id: own.doc }, auth(key)))).toEqual({ document: { id: own.doc } });
      expect(ok(await gql(server!.url, 'query($id: ID!) { photo(id: $id) { id } }', { id: own.photo }, auth(key)))).toEqual({ photo: { id: own.photo } });
    }
  });

  it("cannot delete the other tenant's document", async () => {
    expect(ok(await gql(server!.url, 'mutation($id: ID!) { deleteDocument(id: $id) }', { id: ids.acme.doc }, auth(KEYS.globex)))).toEqual({ deleteDocument: false });
    expect(ok(await gql(server!.url, 'mutation($id: ID!) { deleteDocument(id: $id) }', { id: ids.globex.doc }, auth(KEYS.acme)))).toEqual({ deleteDocument: false });
    for (const tenant of ['acme', 'globex'] as const) {
      expect(ok(await gql(server!.url, 'query($id: ID!) { document(id: $id) { id } }', { id: ids[tenant].doc }, auth(KEYS[tenant])))).toEqual({ document: { id: ids[tenant].doc } });
    }
    expect(storedPayloads(fake).filter((p) => p.document_id === ids.acme.doc).length).toBeGreaterThan(0);
    expect(storedPayloads(fake).filter((p) => p.document_id === ids.globex.doc).length).toBeGreaterThan(0);
  });

  it("stores every point under its tenant's name in the shared collection", () => {
    const payloads = storedPayloads(fake);
    const ofRecord = (tenant: 'acme' | 'globex') => payloads.filter((p) => p.document_id === ids[tenant].doc || p.photo_id === ids[tenant].photo);
    for (const tenant of ['acme', 'globex'] as const) {
      const points = ofRecord(tenant);
      // A document record, its page(s) and chunks, and the photo record.
      expect(new Set(points.map((p) => p.type))).toEqual(new Set(['document', 'page', 'chunk', 'photo']));
      expect(new Set(points.map((p) => p.tenant))).toEqual(new Set([tenant]));
    }
    // Nothing else: no point of the `default` tenant (nobody used it) nor of any other.
    expect(new Set(payloads.map((p) => p.tenant))).toEqual(new Set(['acme', 'globex']));
    expect(payloads.length).toBe(ofRecord('acme').length + ofRecord('globex').length);
    expect(fake.schemaErrors).toEqual([]);
    expect(fake.responseErrors).toEqual([]);
  });

  it("stores an open server's default tenant under QDRANT_TENANT, apart from the named tenants", async () => {
    openServer = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, QDRANT_TENANT: 'shared-name' });
    await waitReady(openServer.url);
    // Acme's manual again: a new record for this tenant, not a duplicate of acme's.
    const doc = ok(await gqlUpload<{ ingestDocument: { id: string } }>(openServer.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } })).ingestDocument;
    expect(doc.id).not.toBe(ids.acme.doc);
    const points = storedPayloads(fake).filter((p) => p.document_id === doc.id);
    expect(points.length).toBeGreaterThan(0);
    expect(new Set(points.map((p) => p.tenant))).toEqual(new Set(['shared-name']));
    expect(storedPayloads(fake).some((p) => p.tenant === 'default')).toBe(false);
    // It sees its own document only.
    expect(ok(await gql<{ documents: { nodes: { id: string }[] } }>(openServer.url, '{ documents(first: 100) { nodes { id } } }')).documents.nodes).toEqual([{ id: doc.id }]);
    expect(fake.schemaErrors).toEqual([]);
  });
});
