/**
 * Re-ingesting a file that is already there (issue 13, item 3), over HTTP as clients do: the
 * README's walk-through ingests the demo pump manual with {site: "north"} and then filters on it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quadrantImage } from '../helpers/images.js';
import { gql, gqlUpload, startTestServer } from '../helpers/server.js';
import { REPO_ROOT } from '../helpers/shared.js';

const INGEST_DOC = 'mutation($file: Upload!, $input: DocumentInput) { ingestDocument(file: $file, input: $input) { id title metadata wasDuplicate pageCount } }';
const INGEST_PHOTO = 'mutation($file: Upload!, $input: PhotoInput) { ingestPhoto(file: $file, input: $input) { id caption metadata wasDuplicate } }';
const SEARCH = 'query($text: String, $filter: SearchFilter) { search(text: $text, filter: $filter, limit: 20) { hits { matchedBy document { id } photo { id } } } }';

interface Doc { id: string; title: string; metadata: Record<string, unknown>; wasDuplicate: boolean; pageCount: number }
interface Photo { id: string; caption: string | null; metadata: Record<string, unknown>; wasDuplicate: boolean }
interface Hits { search: { hits: { matchedBy: string[]; document: { id: string } | null; photo: { id: string } | null }[] } }

describe('re-ingest of a file already there', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const manual = readFileSync(path.join(REPO_ROOT, 'demo', 'source', 'p200-centrifugal-pump-manual.md'));
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('updates title and metadata of a document, says it was a duplicate, and the metadata filter finds it', async () => {
    const first = (await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST_DOC, { file: { bytes: manual, name: 'pump.md' } })).data!.ingestDocument;
    expect(first).toMatchObject({ wasDuplicate: false, metadata: {} });
    const search = (site: string) => gql<Hits>(server.url, SEARCH, { text: 'mechanical seal', filter: { metadata: { site } } });
    expect((await search('north')).data!.search.hits).toEqual([]);

    const again = await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST_DOC, { file: { bytes: manual, name: 'pump.md' } }, { input: { title: 'P-200 manual (north)', metadata: { site: 'north' } } });
    expect(again.errors).toBeUndefined();
    expect(again.data!.ingestDocument).toEqual({ ...first, title: 'P-200 manual (north)', metadata: { site: 'north' }, wasDuplicate: true });
    const hits = (await search('north')).data!.search.hits;
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.document?.id === first.id)).toBe(true);

    // Given nothing new: the record as it is, still a duplicate; the listing shows the new title.
    const third = (await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST_DOC, { file: { bytes: manual, name: 'pump.md' } })).data!.ingestDocument;
    expect(third).toMatchObject({ id: first.id, title: 'P-200 manual (north)', metadata: { site: 'north' }, wasDuplicate: true });
    const listed = await gql<{ document: { title: string; wasDuplicate: boolean } }>(server.url, 'query($id: ID!) { document(id: $id) { title wasDuplicate } }', { id: first.id });
    expect(listed.data?.document).toEqual({ title: 'P-200 manual (north)', wasDuplicate: false });
  });

  it('updates caption and metadata of a photo; the new caption is searchable, the old one is not', async () => {
    const bytes = await (await quadrantImage(300, 200)).jpeg().toBuffer();
    const first = (await gqlUpload<{ ingestPhoto: Photo }>(server.url, INGEST_PHOTO, { file: { bytes } }, { input: { caption: 'leaking flange zebrafishword' } })).data!.ingestPhoto;
    expect(first.wasDuplicate).toBe(false);
    const again = (await gqlUpload<{ ingestPhoto: Photo }>(server.url, INGEST_PHOTO, { file: { bytes } }, { input: { caption: 'cracked gauge axolotlword', metadata: { site: 'east' } } })).data!.ingestPhoto;
    expect(again).toEqual({ id: first.id, caption: 'cracked gauge axolotlword', metadata: { site: 'east' }, wasDuplicate: true });
    const found = (text: string, filter?: object) => gql<Hits>(server.url, SEARCH, { text, ...(filter ? { filter } : {}) });
    const keyword = async (text: string, filter?: object) => (await found(text, filter)).data!.search.hits.filter((h) => h.matchedBy.includes('KEYWORD')).map((h) => h.photo?.id);
    expect(await keyword('axolotlword', { metadata: { site: 'east' } })).toEqual([first.id]);
    expect(await keyword('zebrafishword')).toEqual([]);
  });
});
