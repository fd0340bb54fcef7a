/**
 * The whole server with VECTOR_STORE=qdrant, against a local server that validates every request
 * against Qdrant's official OpenAPI schema: start-up while Qdrant is unreachable (readiness false,
 * no crash), then ingest and search through GraphQL once it is there.
 */
import { createServer } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { describeWithQdrantSchema, startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { gql, gqlUpload, startTestServer } from '../helpers/server.js';

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
    expect(await notReady.json()).toMatchObject({ store: { kind: 'qdrant', ready: false } });
    const early = await gql(server.url, '{ search(text: "seal") { noGoodMatch } }');
    expect(early.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');

    fake = await startFakeQdrant({ port });
    const deadline = Date.now() + 20_000;
    while ((await fetch(`${server.url}/ready`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('the server never became ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const ingest = await gqlUpload<{ ingestDocument: { id: string; pageCount: number } }>(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id pageCount } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } });
    expect(ingest.errors).toBeUndefined();
    const search = await gql<{ search: { hits: { document: { id: string }; matchedBy: string[] }[] } }>(server.url, '{ search(text: "seal kit 4471-B") { hits { matchedBy document { id } } } }');
    expect(search.data!.search.hits[0]!.document.id).toBe(ingest.data!.ingestDocument.id);
    expect(search.data!.search.hits[0]!.matchedBy).toContain('IDENTIFIER');
    expect(fake.schemaErrors).toEqual([]);
  }, 60_000);
});
