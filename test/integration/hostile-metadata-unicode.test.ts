/**
 * Issue 17 items 13, 14 and 17 against the real server and SQLite store: a metadata filter with
 * 1,200 keys, metadata nested 1,500 and 100,000 deep, a lone surrogate in a title, and zero-width,
 * bidi and fullwidth characters inside a part number. Bodies are written as raw JSON text because
 * the attack values are too deep for JSON.stringify (the server's JSON.parse builds them anyway).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_LIMITS } from '../../src/store/metadata-limits.js';
import { errorCode, gql, startTestServer, type GraphQLResponse } from '../helpers/server.js';

const INGEST = 'mutation($file: Upload!, $input: DocumentInput) { ingestDocument(file: $file, input: $input) { id title metadata } }';
const SEARCH = 'query($text: String, $filter: SearchFilter) { search(text: $text, filter: $filter) { hits { document { id title } matchedBy } } }';

/** A multipart ingest whose `input` is raw JSON text. */
async function ingestRaw(url: string, inputJson: string, body: string, name = 'a.md'): Promise<GraphQLResponse<{ ingestDocument: { id: string; title: string; metadata: Record<string, unknown> } }>> {
  const form = new FormData();
  form.append('operations', `{"query":${JSON.stringify(INGEST)},"variables":{"file":null,"input":${inputJson}}}`);
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([Buffer.from(body)]), name);
  const res = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
  return { status: res.status, ...((await res.json()) as object) };
}

const nested = (depth: number) => '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);

describe('hostile metadata and Unicode (real HTTP server, real SQLite)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false' });
  });
  afterAll(async () => server?.close());

  it('refuses a metadata filter with 1,200 keys with INVALID_FILTER and its limit, and serves one at the limit', async () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    const over = await gql(server.url, SEARCH, { text: 'pump', filter: { metadata: keys(1200) } });
    expect(errorCode(over)).toBe('INVALID_FILTER');
    expect(over.errors![0]!.extensions).toMatchObject({ category: 'BAD_USER_INPUT', limitKeys: METADATA_LIMITS.maxFilterKeys });
    const at = await gql(server.url, SEARCH, { text: 'pump', filter: { metadata: keys(METADATA_LIMITS.maxFilterKeys) } });
    expect(at.errors).toBeUndefined();
  });

  it.each([1_500, 100_000])('refuses metadata nested %i deep with INVALID_METADATA, and stays healthy', async (depth) => {
    const res = await ingestRaw(server.url, `{"metadata":${nested(depth)}}`, `# Deep ${depth}\n\nText.\n`);
    expect(errorCode(res)).toBe('INVALID_METADATA');
    expect(res.errors![0]!.extensions).toMatchObject({ category: 'BAD_USER_INPUT', limitDepth: METADATA_LIMITS.maxDepth });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('normalises an ask question as search normalises its query: invisible characters alone are no question, and do not count toward its length', async () => {
    const ASK = 'query($q: String) { ask(question: $q) { mode } }';
    const invisible = await gql(server.url, ASK, { q: '\u200b\u0000\u00ad' });
    expect(errorCode(invisible)).toBe('EMPTY_QUERY');
    expect(invisible.errors![0]!.message).toMatch(/^Ask a question/);
    // 1,500 visible characters padded with 3,000 soft hyphens: 1,500 once normalised, under the limit.
    const padded = await gql(server.url, ASK, { q: 'pump seal '.repeat(150) + '\u00ad'.repeat(3000) });
    expect(padded.errors, JSON.stringify(padded.errors)).toBeUndefined();
  });

  it('answers a question up to its own 4,000-character limit, though a search query stops at 2,000', async () => {
    const ASK = 'query($q: String) { ask(question: $q) { mode } }';
    const long = await gql(server.url, ASK, { q: 'how do I replace the pump seal? '.repeat(110) }); // 3,520 characters
    expect(long.errors, JSON.stringify(long.errors)).toBeUndefined();
    const over = await gql(server.url, ASK, { q: 'x'.repeat(4001) });
    expect(errorCode(over)).toBe('TEXT_TOO_LONG');
    expect(over.errors![0]!.extensions).toMatchObject({ limit: 4000 });
  });

  it('stores metadata nested to the limit', async () => {
    const res = await ingestRaw(server.url, `{"metadata":${nested(METADATA_LIMITS.maxDepth - 1)}}`, '# At the limit\n\nText.\n');
    expect(res.errors).toBeUndefined();
  });

  it('stores a lone surrogate exactly as it answers it (U+FFFD in both)', async () => {
    // "\ud800" in the JSON text is a lone high surrogate once parsed.
    const res = await ingestRaw(server.url, '{"title":"Lone \\ud800 title","metadata":{"note":"half \\udc00 pair"}}', '# Body\n\nLone surrogate test.\n');
    expect(res.errors).toBeUndefined();
    const answered = res.data!.ingestDocument;
    const read = await gql<{ document: { title: string; metadata: Record<string, unknown> } }>(server.url, 'query($id: ID!) { document(id: $id) { title metadata } }', { id: answered.id });
    expect(answered.title).toBe('Lone \uFFFD title');
    expect(read.data!.document).toEqual({ title: answered.title, metadata: answered.metadata });
    expect(read.data!.document.metadata).toEqual({ note: 'half \uFFFD pair' });
  });

  it('matches a part number written with zero-width, bidi or fullwidth characters to its plain spelling, both ways', async () => {
    const hidden = await ingestRaw(server.url, '{"metadata":{"partNumber":"QZ\\u2066-\\u206991"}}', '# Gauge sheet\n\nThe gauge ZW\u200b-77 reads the boiler feed pressure.\n');
    expect(hidden.errors).toBeUndefined();
    const plain = await ingestRaw(server.url, 'null', '# Valve sheet\n\nThe relief valve RV-314 opens at 10 bar.\n', 'b.md');
    expect(plain.errors).toBeUndefined();
    const byIdentifier = async (text: string) => {
      const res = await gql<{ search: { hits: { document: { id: string } | null; matchedBy: string[] }[] } }>(server.url, SEARCH, { text });
      expect(res.errors).toBeUndefined();
      return res.data!.search.hits.filter((h) => h.matchedBy.includes('IDENTIFIER')).map((h) => h.document?.id);
    };
    expect(await byIdentifier('ZW-77')).toEqual([hidden.data!.ingestDocument.id]);
    expect(await byIdentifier('QZ-91')).toEqual([hidden.data!.ingestDocument.id]);
    expect(await byIdentifier('RV\u200d-\u202e314')).toEqual([plain.data!.ingestDocument.id]);
    expect(await byIdentifier('ＲＶ－３１４')).toEqual([plain.data!.ingestDocument.id]);
    // Stored metadata is normalised too: what identify and filters see is the plain spelling,
    // and a filter is normalised the same way, whichever spelling it uses.
    expect(hidden.data!.ingestDocument.metadata).toEqual({ partNumber: 'QZ-91' });
    for (const partNumber of ['QZ-91', 'QZ\u200b-91', 'ＱＺ－９１']) {
      const filtered = await gql<{ search: { hits: { document: { id: string } | null }[] } }>(server.url, SEARCH, { text: 'gauge boiler feed', filter: { metadata: { partNumber } } });
      expect(filtered.errors).toBeUndefined();
      expect(new Set(filtered.data!.search.hits.map((h) => h.document?.id))).toEqual(new Set([hidden.data!.ingestDocument.id]));
    }
  });
});
