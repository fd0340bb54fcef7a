/**
 * Photos are searchable by what is written on them (issue 12, item 3): ingestPhoto reads the
 * photo with the real PP-OCRv4 models and zxing-wasm, stores what was read (Photo.readText), and
 * a text search for the part number on the label finds the photo by IDENTIFIER and KEYWORD
 * evidence. On both stores (SQLite, and Qdrant through the double that checks every request
 * against Qdrant's OpenAPI schema), over real HTTP. A re-ingest keeps what was read; OCR=off
 * stores nothing read and the label's words do not find the photo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithQdrantSchema, startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { degradePhoto, renderPlate } from '../helpers/ocr-images.js';
import { gql, gqlUpload, startTestServer, waitUntilReady } from '../helpers/server.js';

const INGEST =
  'mutation($file: Upload!, $input: PhotoInput) { ingestPhoto(file: $file, input: $input) { id caption wasDuplicate readText { text identifiers regions { text confidence box } codes { format value } } } }';
const SEARCH = 'query($text: String!) { search(text: $text) { hits { matchedBy photo { id readText { identifiers } } document { id } } } }';

type Photo = { id: string; caption: string | null; wasDuplicate: boolean; readText: { text: string; identifiers: string[]; regions: unknown[]; codes: { format: string; value: string }[] } | null };
type Hits = { search: { hits: { matchedBy: string[]; photo: { id: string; readText: { identifiers: string[] } | null } | null; document: { id: string } | null }[] } };

/** A bag of gaskets with its part-number label, photographed badly. */
const labelledBag = async () => degradePhoto(await renderPlate(['GASKET KIT', 'PK-3310'], { width: 720 }));
/** Another photo with other writing, so the search has something to tell apart. */
const otherPlate = async () => degradePhoto(await renderPlate(['PUMP P-200', 'SERIAL 88412']));

function suite(name: string, env: () => Promise<Record<string, string>>, after?: () => Promise<void>) {
  describe(name, () => {
    let server: Awaited<ReturnType<typeof startTestServer>>;
    beforeAll(async () => {
      server = await startTestServer({ LOAD_DEMO: 'false', OCR_THREADS: '1', ...(await env()) });
      // Qdrant opens in the background: wait until the store is ready.
      await waitUntilReady(server.url);
    }, 60_000);
    afterAll(async () => {
      await server?.close();
      await after?.();
    });

    it('stores what was read on the photo, and a text search for the label finds it by IDENTIFIER and KEYWORD', async () => {
      const other = await gqlUpload<{ ingestPhoto: Photo }>(server.url, INGEST, { file: { bytes: await otherPlate(), name: 'pump.jpg' } });
      expect(other.errors).toBeUndefined();
      const res = await gqlUpload<{ ingestPhoto: Photo }>(server.url, INGEST, { file: { bytes: await labelledBag(), name: 'bag.jpg' } }, { input: { caption: 'Spares shelf, bay 4' } });
      expect(res.errors).toBeUndefined();
      const photo = res.data!.ingestPhoto;
      expect(photo.readText!.identifiers).toEqual(['PK-3310']);
      expect(photo.readText!.text).toBe('GASKET KIT\nPK-3310');
      expect(photo.readText!.regions).toHaveLength(2);

      const byId = await gql<Hits>(server.url, SEARCH, { text: 'PK-3310' });
      expect(byId.errors).toBeUndefined();
      const top = byId.data!.search.hits[0]!;
      expect(top.photo?.id).toBe(photo.id);
      expect(top.matchedBy).toEqual(expect.arrayContaining(['IDENTIFIER', 'KEYWORD']));
      expect(top.photo?.readText?.identifiers).toEqual(['PK-3310']);
      // The other plate's words find the other photo, not this one.
      const byWord = await gql<Hits>(server.url, SEARCH, { text: 'gasket' });
      expect(byWord.data!.search.hits[0]!.photo?.id).toBe(photo.id);
      expect(byWord.data!.search.hits[0]!.matchedBy).toContain('KEYWORD');

      // Re-ingest with a new caption: the same photo, what was read kept and still searchable.
      const again = await gqlUpload<{ ingestPhoto: Photo }>(server.url, INGEST, { file: { bytes: await labelledBag(), name: 'bag.jpg' } }, { input: { caption: 'Moved to bay 7' } });
      expect(again.data!.ingestPhoto).toMatchObject({ id: photo.id, wasDuplicate: true, caption: 'Moved to bay 7', readText: photo.readText });
      const still = await gql<Hits>(server.url, SEARCH, { text: 'PK-3310' });
      expect(still.data!.search.hits[0]!.photo?.id).toBe(photo.id);
      expect(still.data!.search.hits[0]!.matchedBy).toContain('IDENTIFIER');
      const read = await gql<{ photo: Photo }>(server.url, 'query($id: ID!) { photo(id: $id) { id caption wasDuplicate readText { text identifiers regions { text confidence box } codes { format value } } } }', { id: photo.id });
      expect(read.data!.photo.readText).toEqual(photo.readText);
    }, 120_000);
  });
}

suite('ingestPhoto reads the photo (SQLite)', async () => ({}));

let fake: FakeQdrant | null = null;
describeWithQdrantSchema('on Qdrant', () => {
  suite(
    'ingestPhoto reads the photo (Qdrant double, OpenAPI-checked)',
    async () => {
      fake = await startFakeQdrant();
      return { VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url };
    },
    async () => {
      expect(fake?.schemaErrors).toEqual([]);
      await fake?.close();
    },
  );
});

describe('ingestPhoto with OCR=off', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', OCR: 'off' });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('stores no readText, and the label alone does not find the photo by IDENTIFIER or KEYWORD', async () => {
    const res = await gqlUpload<{ ingestPhoto: Photo }>(server.url, INGEST, { file: { bytes: await labelledBag(), name: 'bag.jpg' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.ingestPhoto.readText).toBeNull();
    const hits = (await gql<Hits>(server.url, SEARCH, { text: 'PK-3310' })).data!.search.hits;
    for (const hit of hits) expect(hit.matchedBy).not.toEqual(expect.arrayContaining(['IDENTIFIER']));
    for (const hit of hits) expect(hit.matchedBy).not.toContain('KEYWORD');
  }, 60_000);
});
