/**
 * A search whose client has gone stops asking Qdrant: the operation's abort signal reaches the
 * Qdrant store's retry loop. The real server on 127.0.0.1, over the schema-checking Qdrant double
 * answering 503 to searches; once the client closes its connection, no further search request
 * reaches the double (before, the store kept retrying with backoff for every attempt it had).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { gql, gqlUpload, startTestServer, waitUntilReady } from '../helpers/server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('an abandoned search on Qdrant', () => {
  let qdrant: FakeQdrant;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const searches = () => qdrant.requests.filter((r) => r.operation === 'query_batch_points').length;

  beforeAll(async () => {
    qdrant = await startFakeQdrant();
    // Many retries, so an uncancelled search would go on asking for seconds.
    server = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, QDRANT_MAX_RETRIES: '8' });
    await waitUntilReady(server.url);
    const ingest = await gqlUpload(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } });
    expect(ingest.errors).toBeUndefined();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await qdrant?.close();
  });

  it('sends no retry once the client has closed the connection', async () => {
    qdrant.clearRequests();
    qdrant.inject({ when: (r) => r.operation === 'query_batch_points', fault: { type: 'status', status: 503, message: 'overloaded' } });
    const client = new AbortController();
    const answered = fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ search(text: "seal kit 4471-B") { noGoodMatch } }' }),
      signal: client.signal,
    }).then(
      () => 'answered',
      (error: unknown) => (error instanceof Error ? error.name : String(error)),
    );
    for (let waited = 0; searches() === 0; waited += 10) {
      if (waited > 10_000) throw new Error('the search never reached Qdrant');
      await sleep(10);
    }
    await sleep(50);
    client.abort();
    expect(await answered).toBe('AbortError');
    const atAbort = searches();
    await sleep(3000);
    expect(searches()).toBe(atAbort);
    expect(atAbort).toBeLessThanOrEqual(2);

    // The server is fine, and answers once Qdrant is.
    qdrant.clearFaults();
    const res = await gql<{ search: { noGoodMatch: boolean } }>(server.url, '{ search(text: "seal kit 4471-B") { noGoodMatch } }');
    expect(res.data?.search.noGoodMatch).toBe(false);
  }, 30_000);
});
