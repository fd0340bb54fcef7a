/**
 * How many requests a search costs on Qdrant, end to end: the real server (real ONNX inference
 * with the bundled tiny model) on the fake Qdrant, which validates every request against
 * Qdrant's OpenAPI schema and records it. A search, whatever its number of hits, is exactly two
 * requests: one Query API batch (every signal) and one scroll for the records of all hits
 * (documents, pages, photos). `ask` is a search and then builds its sources from the hits, so it
 * costs the same two, and so does `caption`. Both requests carry the tenant and `committed` filter.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { describeWithQdrantSchema, requiresTenant, startFakeQdrant, type FakeQdrant, type RecordedRequest } from '../helpers/fake-qdrant.js';
import { jpeg } from '../helpers/images.js';
import { gql, gqlUpload, startTestServer, type GraphQLResponse, waitUntilReady } from '../helpers/server.js';

const VALVE_MANUAL_MD = `# XV-300 Gate Valve Maintenance SOP

## Packing
Tighten the gland nuts of the packing evenly; replace packing set 3310-K when it leaks.

## Actuator
Adjust the closed end stop screw of the quarter-turn actuator after a seat change.
`;

/** Requests that read or write points (the server's readiness probe and start-up are not a search's). */
const POINT_OPERATIONS = new Set(['scroll_points', 'count_points', 'query_points', 'query_points_groups', 'query_batch_points', 'get_points', 'upsert_points', 'delete_points', 'set_payload']);

function ok<T>(res: GraphQLResponse<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const HIT_FIELDS = 'score matchedBy snippet document { id title } page { number text thumbnailUrl } photo { id caption }';
const SEARCH = `query($text: String, $image: Upload, $limit: Int) { search(text: $text, image: $image, limit: $limit) { noGoodMatch hits { ${HIT_FIELDS} } } }`;
const ASK = 'query($question: String, $image: Upload) { ask(question: $question, image: $image) { text mode citations { marker snippet document { id title } page { number } photo { id } } } }';

type Hit = { document: { id: string; title: string } | null; page: { number: number; text: string } | null; photo: { id: string } | null; snippet: string | null };
type SearchData = { search: { noGoodMatch: boolean; hits: Hit[] } };

describeWithQdrantSchema('requests per search on Qdrant', () => {
  let fake: FakeQdrant;
  let server: Awaited<ReturnType<typeof startTestServer>> | null = null;
  let photo: Buffer;

  beforeAll(async () => {
    fake = await startFakeQdrant();
    server = await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, QDRANT_TENANT: 'acme' });
    await waitUntilReady(server.url);
    const upload = 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }';
    ok(await gqlUpload(server.url, upload, { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } }));
    ok(await gqlUpload(server.url, upload, { file: { bytes: Buffer.from(VALVE_MANUAL_MD), name: 'xv300.md' } }));
    photo = await jpeg();
    ok(await gqlUpload(server.url, 'mutation($file: Upload!) { ingestPhoto(file: $file, input: { caption: "P-200 pump on its baseplate" }) { id } }', { file: { bytes: photo, name: 'pump.jpg' } }));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  /** The point requests one GraphQL operation makes (recorded by the fake), with every one checked for the tenant filter. */
  async function requestsOf<T>(run: () => Promise<GraphQLResponse<T>>): Promise<{ data: T; operations: string[] }> {
    fake.clearRequests();
    const data = ok(await run());
    const sent: RecordedRequest[] = fake.requests.filter((r) => POINT_OPERATIONS.has(r.operation));
    for (const r of sent) {
      const body = (r.body ?? {}) as { filter?: unknown; searches?: { filter?: unknown }[] };
      for (const filter of body.searches ? body.searches.map((q) => q.filter) : [body.filter]) {
        expect(requiresTenant(filter, 'acme'), `${r.operation} ${JSON.stringify(filter)}`).toBe(true);
        expect(JSON.stringify(filter)).toContain('"committed"');
      }
    }
    expect(fake.schemaErrors).toEqual([]);
    expect(fake.responseErrors).toEqual([]);
    return { data, operations: sent.map((r) => r.operation) };
  }

  const TWO = ['query_batch_points', 'scroll_points'];

  it('a text search is two requests (one query batch, one scroll for every hit’s records), with 1 hit or many', async () => {
    const counts: number[] = [];
    for (const limit of [1, 20]) {
      const { data, operations } = await requestsOf(() => gql<SearchData>(server!.url, SEARCH, { text: 'mechanical seal kit 4471-B', limit }));
      expect(operations).toEqual(TWO);
      counts.push(data.search.hits.length);
      // Hydrated from that one scroll: every page hit has its document and page text, every photo hit its record.
      for (const h of data.search.hits) {
        if (h.photo) expect(h.document).toBeNull();
        else {
          expect(h.document).not.toBeNull();
          expect(h.page?.text.length).toBeGreaterThan(0);
        }
      }
      expect(data.search.hits[0]!.snippet).toContain('4471-B');
    }
    expect(counts[0]).toBe(1);
    expect(counts[1]).toBeGreaterThan(3); // pages of both manuals and the photo: the count does not grow with the hits
  });

  it('an image search and a text+image search are two requests too', async () => {
    for (const vars of [{ limit: 20 }, { text: 'pump baseplate', limit: 20 }]) {
      const { data, operations } = await requestsOf(() => gqlUpload<SearchData>(server!.url, SEARCH, { image: { bytes: photo } }, vars));
      expect(operations).toEqual(TWO);
      expect(data.search.hits.length).toBeGreaterThan(3);
      expect(data.search.hits.some((h) => h.photo !== null)).toBe(true);
      expect(data.search.hits.some((h) => h.document !== null && h.page !== null)).toBe(true);
    }
  });

  it('a photo with writing: what was read rides in the same query batch; a token OCR glued to a word costs one identifier lookup before it', async () => {
    const plate = readFileSync(path.join(import.meta.dirname, '../fixtures/ocr/nameplate-photo.jpg'));
    const { data, operations } = await requestsOf(() => gqlUpload<SearchData & { search: { readText: { identifiers: string[] } } }>(server!.url, SEARCH.replace('noGoodMatch', 'noGoodMatch readText { identifiers }'), { image: { bytes: plate, name: 'plate.jpg' } }, { limit: 5 }));
    // This plate reads a token with a glued letter run, so search/glued-identifiers.ts asks the store
    // which of its shorter variants it holds (one scroll with an identifiers filter). A photo whose
    // tokens are clean is the two requests of any image search. Reading the photo (~0.3-0.8 s)
    // dwarfs the extra round trip.
    expect(operations).toEqual(['scroll_points', ...TWO]);
    const lookup = fake.requests.find((r) => r.operation === 'scroll_points')!;
    expect(JSON.stringify((lookup.body as { filter?: unknown }).filter)).toContain('"identifiers"');
    expect(data.search.readText.identifiers).toContain('XV-300');
    const batch = fake.requests.find((r) => r.operation === 'query_batch_points')!;
    const searches = (batch.body as { searches: { using?: string; filter?: unknown }[] }).searches;
    // image ↔ images, image ↔ chunks, (hash bands), then BM25 of the words read and the identifiers read.
    expect(searches.filter((q) => q.using === 'bm25')).toHaveLength(1);
    expect(searches.some((q) => !q.using && JSON.stringify(q.filter).includes('"identifiers"') && JSON.stringify(q.filter).includes('XV300'))).toBe(true);
    expect(data.search.hits[0]!.document?.title).toBe('XV-300 Gate Valve Maintenance SOP');
  }, 60_000);

  it('ask is a search and then composes from the hits: two requests, its citations hydrated', async () => {
    const { data, operations } = await requestsOf(() => gql<{ ask: { citations: { document: { id: string } | null; page: { number: number } | null; photo: { id: string } | null }[] } }>(server!.url, ASK, { question: 'Which seal kit does the P-200 pump use?' }));
    expect(operations).toEqual(TWO);
    expect(data.ask.citations.length).toBeGreaterThan(0);
    for (const c of data.ask.citations) expect(c.photo !== null || (c.document !== null && c.page !== null)).toBe(true);
    const withPhoto = await requestsOf(() => gqlUpload(server!.url, ASK, { image: { bytes: photo } }, { question: 'What is this pump?' }));
    expect(withPhoto.operations).toEqual(TWO);
  });

  it('a photo caption (a search for the photo, then tags) is two requests too', async () => {
    const { data, operations } = await requestsOf(() => gqlUpload<{ caption: { citations: unknown[] } }>(server!.url, 'query($image: Upload!) { caption(image: $image) { text citations { marker photo { id } document { id } } } }', { image: { bytes: photo } }));
    expect(operations).toEqual(TWO);
    expect(data.caption.citations.length).toBeGreaterThan(0);
  });
});
