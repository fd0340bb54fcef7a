/**
 * The behaviour every KnowledgeStore owes its users, as one suite run against each
 * implementation (the SQLite store here, Qdrant later) — in the manner of Apollo's
 * `defineIntegrationTestSuite`. Nothing here may depend on how a store keeps its data.
 *
 * `makeStore` must return an initialised, empty store built for CONTRACT_DIM-dimensional
 * vectors and the model CONTRACT_MODEL_ID. Vectors are hand-made: `axis(i)` points along one
 * dimension, so which stored vector is nearest a query is known exactly.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAYOUT_BYTES, LAYOUT_COPY_CORRELATION, layoutCorrelation, layoutOf } from '../../src/identify/page-layout.js';
import { pageKey, type Candidate, type DocumentRecord, type HitTarget, type KnowledgeStore, type NewDocument, type NewPage, type NewPhoto, type PhotoRecord, type SearchFilter, type SourceKind } from '../../src/store/knowledge-store.js';

export const CONTRACT_DIM = 32;

/** A 64×64 white "page" with dark text lines on the given rows; `noise` adds a fixed ripple of ±noise grey levels. */
function ruledPage(rows: number[], noise = 0): Uint8Array {
  const page = new Uint8Array(LAYOUT_BYTES).fill(250);
  for (const row of rows) for (let x = 6; x < 58; x++) page[row * 64 + x] = 30;
  if (noise) for (let i = 0; i < page.length; i++) page[i] = Math.max(0, Math.min(255, page[i]! + (((i * 7919) % 13) - 6) * (noise / 6)));
  return page;
}
export const CONTRACT_MODEL_ID = 'contract-test-model';

export interface ContractStore {
  store: KnowledgeStore;
  cleanup(): Promise<void>;
}

/** A unit vector along dimension `i`, optionally leaning `lean` towards dimension `j`. */
export function axis(i: number, j?: number, lean = 0): Float32Array {
  const v = new Float32Array(CONTRACT_DIM);
  v[i % CONTRACT_DIM] = 1;
  if (j !== undefined) v[j % CONTRACT_DIM] = lean;
  return v;
}

let serial = 0;
function nextId(prefix: string): string {
  serial += 1;
  return `${prefix}-${serial}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface PageSpec {
  text?: string;
  image?: Float32Array | null;
  chunks?: { text: string; vector: Float32Array }[];
  identifiers?: string[];
  thumbnailKey?: string | null;
  textSource?: NewPage['textSource'];
}

export function newDocument(spec: { id?: string; title?: string; kind?: DocumentRecord['kind']; hash?: string; metadata?: DocumentRecord['metadata']; createdAt?: string; blobKey?: string; pages: PageSpec[] }): NewDocument {
  const id = spec.id ?? nextId('doc');
  const pages: NewPage[] = spec.pages.map((p, i) => ({
    number: i + 1,
    text: p.text ?? `page ${i + 1} of ${id}`,
    thumbnailKey: p.thumbnailKey === undefined ? `thumbs/${id}/${i + 1}.png` : p.thumbnailKey,
    imageVector: p.image === undefined ? null : p.image,
    chunks: p.chunks ?? [],
    identifiers: p.identifiers ?? [],
    ...(p.textSource ? { textSource: p.textSource } : {}),
  }));
  return {
    document: {
      id,
      title: spec.title ?? `Document ${id}`,
      kind: spec.kind ?? 'pdf',
      mimeType: 'application/pdf',
      contentHash: spec.hash ?? nextId('hash'),
      byteSize: 1234,
      pageCount: pages.length,
      metadata: spec.metadata ?? {},
      blobKey: spec.blobKey ?? `blobs/${id}`,
      createdAt: spec.createdAt ?? new Date().toISOString(),
    },
    pages,
  };
}

export function newPhoto(spec: { id?: string; hash?: string; caption?: string | null; vector: Float32Array; chunks?: { text: string; vector: Float32Array }[]; identifiers?: string[]; metadata?: PhotoRecord['metadata']; blobKey?: string; readText?: PhotoRecord['readText'] }): NewPhoto {
  const id = spec.id ?? nextId('photo');
  return {
    photo: {
      id,
      caption: spec.caption === undefined ? null : spec.caption,
      metadata: spec.metadata ?? {},
      contentHash: spec.hash ?? nextId('hash'),
      mimeType: 'image/jpeg',
      width: 640,
      height: 480,
      blobKey: spec.blobKey ?? `photos/${id}.jpg`,
      createdAt: new Date().toISOString(),
      readText: spec.readText ?? null,
    },
    imageVector: spec.vector,
    chunks: spec.chunks ?? [],
    identifiers: spec.identifiers ?? [],
  };
}

function pageOf(documentId: string, pageNumber: number): HitTarget {
  return { kind: 'page', documentId, pageNumber };
}
function photoTarget(photoId: string): HitTarget {
  return { kind: 'photo', photoId };
}
function targets(candidates: Candidate[]): HitTarget[] {
  return candidates.map((c) => c.target);
}
function ownedBy(candidates: Candidate[], documentId: string): Candidate[] {
  return candidates.filter((c) => c.target.kind === 'page' && c.target.documentId === documentId);
}
function expectDescending(candidates: Candidate[]): void {
  for (let i = 1; i < candidates.length; i++) expect(candidates[i]!.score).toBeLessThanOrEqual(candidates[i - 1]!.score);
}

/** Hostile lexical input: FTS/Lucene/Qdrant query syntax, quotes, operators, control characters. */
export const HOSTILE_QUERIES = ['"', '""', '"pump', 'AND(', 'OR', 'NOT', 'NEAR(a b)', '*', '-', '-pump', '+', '^', ':', 'title:pump', '(', ')', "'", '\\', '%', '_', '{}', '[]', 'pump*', '"pump" AND', '\u0000', '\n\t', ' ', ''];

export function defineKnowledgeStoreContract(name: string, makeStore: () => Promise<ContractStore>): void {
  describe(`KnowledgeStore contract: ${name}`, () => {
    let store: KnowledgeStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      const made = await makeStore();
      store = made.store;
      cleanup = made.cleanup;
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('status', () => {
      it('reports ready once initialised', async () => {
        const status = await store.storeStatus();
        expect(status.ready).toBe(true);
        expect(typeof status.kind).toBe('string');
        expect(status.location.length).toBeGreaterThan(0);
      });
    });

    describe('documents', () => {
      it('adds a document with its pages and reads them back', async () => {
        const input = newDocument({
          metadata: { site: 'north', nested: { a: [1, 2] } },
          pages: [
            { text: 'Isolate the pump before service.', image: axis(0), chunks: [{ text: 'Isolate the pump', vector: axis(1) }], identifiers: ['P-200'] },
            { text: 'Replace the seal kit.', image: null, thumbnailKey: null },
          ],
        });
        const before = await store.countPages();
        const added = await store.addDocument(input);
        expect(added.created).toBe(true);
        expect(added.document).toEqual(input.document);
        expect(await store.getDocument(input.document.id)).toEqual(input.document);
        expect(await store.findDocumentByHash(input.document.contentHash)).toEqual(input.document);
        expect(await store.getPages(input.document.id)).toEqual([
          { documentId: input.document.id, number: 1, text: 'Isolate the pump before service.', thumbnailKey: `thumbs/${input.document.id}/1.png`, textSource: 'file' },
          { documentId: input.document.id, number: 2, text: 'Replace the seal kit.', thumbnailKey: null, textSource: 'file' },
        ]);
        expect(await store.getPage(input.document.id, 2)).toEqual({ documentId: input.document.id, number: 2, text: 'Replace the seal kit.', thumbnailKey: null, textSource: 'file' });
        expect(await store.getPage(input.document.id, 3)).toBeNull();
        expect(await store.countPages()).toBe(before + 2);
      });

      it('returns nothing for unknown ids and hashes', async () => {
        expect(await store.getDocument('no-such-document')).toBeNull();
        expect(await store.findDocumentByHash('0'.repeat(64))).toBeNull();
        expect(await store.getPages('no-such-document')).toEqual([]);
        expect(await store.getPage('no-such-document', 1)).toBeNull();
        expect(await store.getPhoto('no-such-photo')).toBeNull();
        expect(await store.findPhotoByHash('0'.repeat(64))).toBeNull();
      });

      it('keeps one copy of a file: the same contentHash returns the existing document and writes nothing', async () => {
        const first = newDocument({ hash: 'same-hash', pages: [{ text: 'original zebraword', chunks: [{ text: 'c', vector: axis(2) }] }] });
        await store.addDocument(first);
        const pagesBefore = await store.countPages();
        const again = newDocument({ hash: 'same-hash', title: 'Another title', pages: [{ text: 'copy quokkaword' }, { text: 'extra page' }] });
        const result = await store.addDocument(again);
        expect(result.created).toBe(false);
        expect(result.document).toEqual(first.document);
        expect(await store.getDocument(again.document.id)).toBeNull();
        expect(await store.countPages()).toBe(pagesBefore);
        expect(await store.searchLexical('quokkaword', 10)).toEqual([]);
        expect((await store.listDocuments({ first: 10 })).totalCount).toBe(1);
      });

      it('adds all or nothing: a bad vector on the last page leaves no trace of the document', async () => {
        const pages: PageSpec[] = [];
        for (let i = 0; i < 5; i++) pages.push({ text: `page ${i} wombatword`, image: axis(3), chunks: [{ text: `chunk ${i}`, vector: axis(4) }], identifiers: [`WB-${i}00`] });
        const broken = new Float32Array(CONTRACT_DIM).fill(Number.NaN);
        pages.push({ text: 'last page', chunks: [{ text: 'fine', vector: axis(4) }, { text: 'broken', vector: broken }] });
        const input = newDocument({ pages });
        await expect(store.addDocument(input)).rejects.toThrow();
        expect(await store.getDocument(input.document.id)).toBeNull();
        expect(await store.findDocumentByHash(input.document.contentHash)).toBeNull();
        expect(await store.getPages(input.document.id)).toEqual([]);
        expect(await store.countPages()).toBe(0);
        expect(await store.searchLexical('wombatword', 10)).toEqual([]);
        expect(await store.searchIdentifiers(['WB-100'], 10)).toEqual([]);
        expect(await store.searchChunks(axis(4), 10)).toEqual([]);
        expect(await store.searchImages(axis(3), 10)).toEqual([]);

        // Nothing half-written blocks a corrected retry of the same file.
        pages[pages.length - 1] = { text: 'last page', chunks: [{ text: 'fine', vector: axis(4) }] };
        const fixed = { ...input, pages: newDocument({ id: input.document.id, pages }).pages };
        expect((await store.addDocument(fixed)).created).toBe(true);
        expect(await store.countPages()).toBe(6);
      });

      it('rejects vectors of the wrong size without writing anything', async () => {
        const input = newDocument({ pages: [{ text: 'short vector', image: new Float32Array(CONTRACT_DIM - 1).fill(0.1) }] });
        await expect(store.addDocument(input)).rejects.toThrow();
        expect(await store.getDocument(input.document.id)).toBeNull();
        await expect(store.searchChunks(new Float32Array(CONTRACT_DIM + 1).fill(0.1), 5)).rejects.toThrow();
      });

      it('lists documents newest first, page by page with cursors', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const doc = newDocument({ createdAt: new Date(Date.UTC(2024, 0, 1 + i)).toISOString(), pages: [{ text: `doc ${i}` }] });
          ids.push(doc.document.id);
          await store.addDocument(doc);
        }
        const newestFirst = [...ids].reverse();
        const first = await store.listDocuments({ first: 2 });
        expect(first.totalCount).toBe(5);
        expect(first.items.map((d) => d.id)).toEqual(newestFirst.slice(0, 2));
        expect(first.hasNextPage).toBe(true);
        const second = await store.listDocuments({ first: 2, after: first.endCursor });
        expect(second.items.map((d) => d.id)).toEqual(newestFirst.slice(2, 4));
        expect(second.hasNextPage).toBe(true);
        const third = await store.listDocuments({ first: 2, after: second.endCursor });
        expect(third.items.map((d) => d.id)).toEqual(newestFirst.slice(4));
        expect(third.hasNextPage).toBe(false);
        expect(third.totalCount).toBe(5);
        const all = await store.listDocuments({ first: 10 });
        expect(all.items.map((d) => d.id)).toEqual(newestFirst);
        expect(all.hasNextPage).toBe(false);
        // Each item's cursor (GraphQL edges[].cursor) continues after that item; the last is endCursor.
        expect(all.cursors).toHaveLength(5);
        expect(all.cursors[4]).toBe(all.endCursor);
        expect((await store.listDocuments({ first: 10, after: all.cursors[1] })).items.map((d) => d.id)).toEqual(newestFirst.slice(2));
      });

      it('lists nothing on an empty store, and rejects a cursor it did not make', async () => {
        expect(await store.listDocuments({ first: 5 })).toEqual({ items: [], cursors: [], endCursor: null, hasNextPage: false, totalCount: 0 });
        await expect(store.listDocuments({ first: 5, after: 'not-a-cursor' })).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
      });

      it("refuses another list's cursor, a document id, and a cursor with stray characters (INVALID_CURSOR)", async () => {
        const doc = newDocument({ pages: [{ text: 'only' }] });
        await store.addDocument(doc);
        const { endCursor } = await store.listDocuments({ first: 1 });
        const reviewCursor = Buffer.from(JSON.stringify(['review', 3])).toString('base64url');
        const auditCursor = Buffer.from(JSON.stringify(['audit', 3])).toString('base64url');
        for (const after of [reviewCursor, auditCursor, '3', doc.document.id, `${endCursor!}!`, ` ${endCursor!}`]) {
          await expect(store.listDocuments({ first: 5, after }), after).rejects.toMatchObject({ code: 'INVALID_CURSOR', message: expect.stringContaining('pageInfo.endCursor') });
        }
      });

      it('a cursor stays valid when the document it points at is deleted', async () => {
        const docs = [0, 1, 2, 3].map((i) => newDocument({ createdAt: new Date(Date.UTC(2024, 1, 1 + i)).toISOString(), pages: [{ text: `d${i}` }] }));
        for (const d of docs) await store.addDocument(d);
        const first = await store.listDocuments({ first: 2 });
        await store.deleteDocument(first.items[1]!.id);
        const next = await store.listDocuments({ first: 5, after: first.endCursor });
        expect(next.items.map((d) => d.id)).toEqual([docs[1]!.document.id, docs[0]!.document.id]);
      });
    });

    describe('photos', () => {
      it('adds a photo, reads it back, and keeps one copy per contentHash', async () => {
        const input = newPhoto({ caption: 'Corroded flange on pump P-200', vector: axis(5), chunks: [{ text: 'Corroded flange', vector: axis(6) }], identifiers: ['P-200'], metadata: { site: 'north' } });
        const added = await store.addPhoto(input);
        expect(added).toEqual({ photo: input.photo, created: true });
        expect(await store.getPhoto(input.photo.id)).toEqual(input.photo);
        expect(await store.findPhotoByHash(input.photo.contentHash)).toEqual(input.photo);
        const copy = newPhoto({ hash: input.photo.contentHash, vector: axis(7) });
        expect(await store.addPhoto(copy)).toEqual({ photo: input.photo, created: false });
        expect(await store.getPhoto(copy.photo.id)).toBeNull();
        expect(targets(await store.searchImages(axis(7), 5))).toEqual([photoTarget(input.photo.id)]);
      });

      it('photos are reached by every signal: image, caption chunks, caption words, identifiers', async () => {
        const input = newPhoto({ caption: 'Cracked impeller housing', vector: axis(8), chunks: [{ text: 'Cracked impeller housing', vector: axis(9) }], identifiers: ['IMP-77'] });
        await store.addPhoto(input);
        const target = photoTarget(input.photo.id);
        expect(targets(await store.searchImages(axis(8), 5))[0]).toEqual(target);
        expect((await store.searchChunks(axis(9), 5))[0]).toMatchObject({ target, matchedText: 'Cracked impeller housing' });
        expect(targets(await store.searchLexical('impeller', 5))).toEqual([target]);
        expect(targets(await store.searchIdentifiers(['imp77'], 5))).toEqual([target]);
      });
    });

    describe('what was read: photo text and page text sources', () => {
      const plate = {
        text: 'MODEL XV-300\nPART PK-3310 wallabyword',
        identifiers: ['XV-300', 'PK-3310', 'ASSET-77'],
        regions: [
          { text: 'MODEL XV-300', confidence: 0.98, box: [0.1, 0.1, 0.5, 0.1] as [number, number, number, number] },
          { text: 'PART PK-3310 wallabyword', confidence: 0.95, box: [0.1, 0.3, 0.6, 0.1] as [number, number, number, number] },
        ],
        codes: [{ format: 'QR_CODE', value: 'ASSET-77 quokkaword' }],
      };

      it("keeps a photo's readText, and its read words and codes are found by lexical search, before and after a caption change", async () => {
        const input = newPhoto({ caption: 'bag of seals', vector: axis(20), identifiers: plate.identifiers, readText: plate });
        const added = await store.addPhoto(input);
        expect(added.photo.readText).toEqual(plate);
        expect(await store.getPhoto(input.photo.id)).toEqual(input.photo);
        expect(await store.findPhotoByHash(input.photo.contentHash)).toEqual(input.photo);
        expect((await store.getHitRecords([photoTarget(input.photo.id)])).photos.get(input.photo.id)).toEqual(input.photo);
        const target = photoTarget(input.photo.id);
        for (const word of ['wallabyword', 'quokkaword', 'seals']) expect(targets(await store.searchLexical(word, 5))).toEqual([target]);
        expect(targets(await store.searchIdentifiers(['pk3310'], 5))).toEqual([target]);

        const updated = await store.updatePhotoDetails(input.photo.id, { caption: 'new caption numbatword', metadata: {}, chunks: [], identifiers: plate.identifiers });
        expect(updated?.readText).toEqual(plate);
        expect((await store.getPhoto(input.photo.id))?.readText).toEqual(plate);
        for (const word of ['wallabyword', 'quokkaword', 'numbatword']) expect(targets(await store.searchLexical(word, 5))).toEqual([target]);
        expect(await store.searchLexical('seals', 5)).toEqual([]);
      });

      it('a photo without readText reads back null', async () => {
        const input = newPhoto({ caption: null, vector: axis(21) });
        await store.addPhoto(input);
        expect((await store.getPhoto(input.photo.id))?.readText).toBeNull();
      });

      it("keeps each page's textSource; absent, FILE when the page has text and NONE when it has none", async () => {
        const input = newDocument({
          pages: [{ text: 'read from a scan echidnaword', textSource: 'ocr' }, { text: '', textSource: 'none' }, { text: 'layer text' }, { text: '' }],
        });
        await store.addDocument(input);
        expect((await store.getPages(input.document.id)).map((p) => p.textSource)).toEqual(['ocr', 'none', 'file', 'none']);
        expect((await store.getPage(input.document.id, 1))?.textSource).toBe('ocr');
        expect((await store.getHitRecords([pageOf(input.document.id, 1)])).pages.get(pageKey(input.document.id, 1))?.textSource).toBe('ocr');
        expect(targets(await store.searchLexical('echidnaword', 5))).toEqual([pageOf(input.document.id, 1)]);
      });
    });

    describe('re-ingest: new details for a file already there', () => {
      it('replaces title, metadata and first-page identifiers of a document; pages and vectors stay', async () => {
        const input = newDocument({ title: 'Old title', metadata: { site: 'south' }, pages: [{ text: 'pump page', chunks: [{ text: 'pump', vector: axis(1) }], identifiers: ['OLD-1'] }, { text: 'second page', chunks: [{ text: 'second', vector: axis(2) }] }] });
        const { document } = await store.addDocument(input);
        const updated = await store.updateDocumentDetails(document.id, { title: 'New title', metadata: { site: 'north', line: 3 }, page: { number: 1, identifiers: ['NEW-2'] } });
        expect(updated).toEqual({ ...document, title: 'New title', metadata: { site: 'north', line: 3 } });
        expect(await store.getDocument(document.id)).toEqual(updated);
        expect(await store.findDocumentByHash(document.contentHash)).toEqual(updated);
        // Metadata filters see the new values on every signal, not the old ones.
        expect(ownedBy(await store.searchChunks(axis(1), 10, { metadata: { site: 'north' } }), document.id)).toHaveLength(2);
        expect(await store.searchChunks(axis(1), 10, { metadata: { site: 'south' } })).toEqual([]);
        expect(targets(await store.searchLexical('pump', 10, { metadata: { line: 3 } }))).toEqual([pageOf(document.id, 1)]);
        expect(targets(await store.searchIdentifiers(['NEW-2'], 10))).toEqual([pageOf(document.id, 1)]);
        expect(await store.searchIdentifiers(['OLD-1'], 10)).toEqual([]);
        expect((await store.getPages(document.id)).map((p) => p.text)).toEqual(['pump page', 'second page']);
        expect(await store.updateDocumentDetails('no-such-document', { title: 'x', metadata: {}, page: { number: 1, identifiers: [] } })).toBeNull();
      });

      it("replaces a photo's caption (text, chunks, identifiers) and metadata; the image vector stays", async () => {
        const input = newPhoto({ caption: 'rusty valve aardvarkword', vector: axis(3), chunks: [{ text: 'rusty valve', vector: axis(4) }, { text: 'aardvarkword', vector: axis(5) }], identifiers: ['RV-1'], metadata: { site: 'south' } });
        const { photo } = await store.addPhoto(input);
        const target = photoTarget(photo.id);
        const updated = await store.updatePhotoDetails(photo.id, { caption: 'clean gauge pangolinword', metadata: { site: 'north' }, chunks: [{ text: 'clean gauge', vector: axis(6) }], identifiers: ['CG-9'] });
        expect(updated).toEqual({ ...photo, caption: 'clean gauge pangolinword', metadata: { site: 'north' }, readText: null });
        expect(await store.getPhoto(photo.id)).toEqual(updated);
        expect(targets(await store.searchImages(axis(3), 5, { metadata: { site: 'north' } }))).toEqual([target]);
        expect(await store.searchImages(axis(3), 5, { metadata: { site: 'south' } })).toEqual([]);
        expect((await store.searchChunks(axis(6), 5))[0]).toMatchObject({ target, matchedText: 'clean gauge' });
        // The old caption's chunks are gone (both of them: fewer chunks than before).
        for (const old of [axis(4), axis(5)]) expect((await store.searchChunks(old, 5)).filter((c) => c.matchedText !== 'clean gauge')).toEqual([]);
        expect(targets(await store.searchLexical('pangolinword', 5))).toEqual([target]);
        expect(await store.searchLexical('aardvarkword', 5)).toEqual([]);
        expect(targets(await store.searchIdentifiers(['CG-9'], 5))).toEqual([target]);
        expect(await store.searchIdentifiers(['RV-1'], 5)).toEqual([]);
        expect(await store.updatePhotoDetails('no-such-photo', { caption: null, metadata: {}, chunks: [], identifiers: [] })).toBeNull();
      });
    });

    describe('delete', () => {
      it('removes a document and every trace of it: no signal finds it afterwards', async () => {
        const keep = newDocument({ pages: [{ text: 'kept page about gaskets', image: axis(10, 11, 0.5), chunks: [{ text: 'gaskets', vector: axis(12, 13, 0.5) }], identifiers: ['G-100'] }] });
        const gone = newDocument({
          blobKey: 'blobs/gone.pdf',
          pages: [
            { text: 'doomed page about gaskets and narwhalword', image: axis(10), chunks: [{ text: 'doomed', vector: axis(12) }], identifiers: ['G-100', 'NW-9'], thumbnailKey: 'thumbs/gone-1.png' },
            { text: 'second doomed page', image: axis(10), thumbnailKey: 'thumbs/gone-2.png' },
          ],
        });
        await store.addDocument(keep);
        await store.addDocument(gone);
        expect(ownedBy(await store.searchImages(axis(10), 10), gone.document.id).length).toBe(2);

        const removed = await store.deleteDocument(gone.document.id);
        expect(removed?.blobKeys.sort()).toEqual(['blobs/gone.pdf', 'thumbs/gone-1.png', 'thumbs/gone-2.png']);
        expect(await store.getDocument(gone.document.id)).toBeNull();
        expect(await store.findDocumentByHash(gone.document.contentHash)).toBeNull();
        expect(await store.getPages(gone.document.id)).toEqual([]);
        expect(await store.countPages()).toBe(1);
        for (const key of removed!.blobKeys) expect(await store.isBlobReferenced(key)).toBe(false);

        const keptTarget = pageOf(keep.document.id, 1);
        expect(targets(await store.searchImages(axis(10), 10))).toEqual([keptTarget]);
        expect(targets(await store.searchChunks(axis(12), 10))).toEqual([keptTarget]);
        expect(targets(await store.searchLexical('gaskets narwhalword doomed', 10))).toEqual([keptTarget]);
        expect(targets(await store.searchIdentifiers(['G-100', 'NW-9'], 10))).toEqual([keptTarget]);
        expect((await store.listDocuments({ first: 10 })).items.map((d) => d.id)).toEqual([keep.document.id]);

        expect(await store.deleteDocument(gone.document.id)).toBeNull();
        // The same file can be ingested again after deletion.
        expect((await store.addDocument(gone)).created).toBe(true);
      });

      it('removes a photo and every trace of it', async () => {
        const photo = newPhoto({ caption: 'blistered paint okapiword', vector: axis(14), chunks: [{ text: 'blistered paint', vector: axis(15) }], identifiers: ['BP-1'], blobKey: 'photos/p.jpg' });
        await store.addPhoto(photo);
        expect(await store.deletePhoto(photo.photo.id)).toEqual({ blobKeys: ['photos/p.jpg'] });
        expect(await store.getPhoto(photo.photo.id)).toBeNull();
        expect(await store.findPhotoByHash(photo.photo.contentHash)).toBeNull();
        expect(await store.searchImages(axis(14), 10)).toEqual([]);
        expect(await store.searchChunks(axis(15), 10)).toEqual([]);
        expect(await store.searchLexical('okapiword blistered', 10)).toEqual([]);
        expect(await store.searchIdentifiers(['BP-1'], 10)).toEqual([]);
        expect(await store.isBlobReferenced('photos/p.jpg')).toBe(false);
        expect(await store.deletePhoto(photo.photo.id)).toBeNull();
      });

      it('isBlobReferenced sees originals, thumbnails and photos, and blobs shared by two records', async () => {
        const a = newDocument({ blobKey: 'shared/original.pdf', pages: [{ text: 'a', thumbnailKey: 'shared/thumb.png' }] });
        const b = newDocument({ blobKey: 'shared/original.pdf', pages: [{ text: 'b', thumbnailKey: 'shared/thumb.png' }] });
        const photo = newPhoto({ vector: axis(16), blobKey: 'photos/x.jpg' });
        await store.addDocument(a);
        await store.addDocument(b);
        await store.addPhoto(photo);
        expect(await store.isBlobReferenced('shared/original.pdf')).toBe(true);
        expect(await store.isBlobReferenced('shared/thumb.png')).toBe(true);
        expect(await store.isBlobReferenced('photos/x.jpg')).toBe(true);
        expect(await store.isBlobReferenced('nothing/here')).toBe(false);
        await store.deleteDocument(a.document.id);
        expect(await store.isBlobReferenced('shared/original.pdf')).toBe(true);
        expect(await store.isBlobReferenced('shared/thumb.png')).toBe(true);
        await store.deleteDocument(b.document.id);
        expect(await store.isBlobReferenced('shared/original.pdf')).toBe(false);
        expect(await store.isBlobReferenced('shared/thumb.png')).toBe(false);
      });
    });

    describe('dense search', () => {
      it('searchChunks ranks the nearest chunk first, with its cosine and text, one result per page', async () => {
        const doc = newDocument({
          pages: [
            { text: 'p1', chunks: [{ text: 'far away', vector: axis(20) }, { text: 'the best chunk', vector: axis(17) }, { text: 'close second', vector: axis(17, 18, 0.6) }] },
            { text: 'p2', chunks: [{ text: 'runner up', vector: axis(17, 18, 1) }] },
            { text: 'p3', chunks: [{ text: 'unrelated', vector: axis(19) }] },
          ],
        });
        await store.addDocument(doc);
        const hits = await store.searchChunks(axis(17), 10);
        expect(targets(hits)).toEqual([pageOf(doc.document.id, 1), pageOf(doc.document.id, 2), pageOf(doc.document.id, 3)]);
        expect(hits[0]!.matchedText).toBe('the best chunk');
        expect(hits[0]!.score).toBeCloseTo(1, 5);
        expect(hits[1]!.score).toBeCloseTo(Math.SQRT1_2, 5);
        expect(hits[2]!.score).toBeCloseTo(0, 5);
        expectDescending(hits);
        expect(await store.searchChunks(axis(17), 1)).toHaveLength(1);
        expect(await store.searchChunks(axis(17), 0)).toEqual([]);
      });

      it('scores are cosine similarities whatever the vectors’ lengths', async () => {
        const scaled = axis(21);
        scaled[21] = 7;
        const doc = newDocument({ pages: [{ text: 'x', image: scaled, chunks: [{ text: 'c', vector: scaled }] }] });
        await store.addDocument(doc);
        const query = axis(21, 22, 1);
        query[21] = 0.5;
        query[22] = 0.5;
        expect((await store.searchImages(query, 1))[0]!.score).toBeCloseTo(Math.SQRT1_2, 5);
        expect((await store.searchChunks(query, 1))[0]!.score).toBeCloseTo(Math.SQRT1_2, 5);
      });

      it('searchImages ranks page images and photos together', async () => {
        const doc = newDocument({ pages: [{ text: 'a', image: axis(23, 24, 0.3) }, { text: 'b', image: axis(24) }, { text: 'no image' }] });
        const photo = newPhoto({ vector: axis(23) });
        await store.addDocument(doc);
        await store.addPhoto(photo);
        const hits = await store.searchImages(axis(23), 10);
        expect(targets(hits)).toEqual([photoTarget(photo.photo.id), pageOf(doc.document.id, 1), pageOf(doc.document.id, 2)]);
        expectDescending(hits);
      });
    });

    describe('lexical search', () => {
      it('ranks the page that contains the query terms first, with an excerpt', async () => {
        const doc = newDocument({
          pages: [
            { text: 'General safety notes for the workshop.' },
            { text: 'To replace the impeller, drain the casing and remove the volute bolts. The impeller nut has a left-hand thread.' },
            { text: 'The casing drain plug is on the underside.' },
          ],
        });
        await store.addDocument(doc);
        const hits = await store.searchLexical('replace impeller', 10);
        expect(hits[0]!.target).toEqual(pageOf(doc.document.id, 2));
        expect(hits[0]!.matchedText).toContain('impeller');
        expect(targets(hits)).not.toContainEqual(pageOf(doc.document.id, 1));
        expectDescending(hits);
        expect(await store.searchLexical('replace impeller', 0)).toEqual([]);
      });

      it('never fails on hostile input, and still finds words wrapped in operators', async () => {
        const doc = newDocument({ pages: [{ text: 'Prime the pump before starting. Do NOT run dry.' }] });
        await store.addDocument(doc);
        for (const query of HOSTILE_QUERIES) {
          const hits = await store.searchLexical(query, 5);
          expect(Array.isArray(hits), `query ${JSON.stringify(query)}`).toBe(true);
        }
        const target = pageOf(doc.document.id, 1);
        for (const query of ['"pump', 'pump*', '-pump', 'title:pump', '(pump)', '"pump" AND', 'NEAR(pump dry)', 'pump OR']) {
          expect(targets(await store.searchLexical(query, 5)), `query ${JSON.stringify(query)}`).toEqual([target]);
        }
      });

      it('matches part numbers as written', async () => {
        const doc = newDocument({ pages: [{ text: 'Order seal kit 4471-B for the P-200.' }, { text: 'Kit 4471-C fits the P-300.' }] });
        await store.addDocument(doc);
        expect(targets(await store.searchLexical('4471-B', 5))[0]).toEqual(pageOf(doc.document.id, 1));
      });
    });

    describe('identifier search', () => {
      it('matches identifiers whatever their case and separators, and ranks pages with more of them first', async () => {
        const doc = newDocument({
          pages: [
            { text: 'one', identifiers: ['P-200'] },
            { text: 'two', identifiers: ['P-200', 'SOP-12'] },
            { text: 'three', identifiers: ['TC-2.1'] },
          ],
        });
        await store.addDocument(doc);
        for (const spelling of ['P-200', 'p200', 'P 200', 'p_200', 'P/200']) {
          const found = targets(await store.searchIdentifiers([spelling], 10));
          expect(found, spelling).toHaveLength(2);
          expect(found, spelling).toContainEqual(pageOf(doc.document.id, 1));
        }
        const both = await store.searchIdentifiers(['p200', 'sop12'], 10);
        expect(both[0]!.target).toEqual(pageOf(doc.document.id, 2));
        expect(both[0]!.score).toBeGreaterThan(both[1]!.score);
        expect(both[0]!.matchedText).toContain('P-200');
        expect(targets(await store.searchIdentifiers(['tc21'], 10))).toEqual([pageOf(doc.document.id, 3)]);
        expect(await store.searchIdentifiers(['X-999'], 10)).toEqual([]);
        expect(await store.searchIdentifiers(['--', ''], 10)).toEqual([]);
        expect(await store.searchIdentifiers([], 10)).toEqual([]);
      });
    });

    describe('every signal at once', () => {
      it('searchSignals gives each list exactly as the single-signal methods do, and nothing for the parts not asked', async () => {
        const doc = newDocument({
          pages: [
            { text: 'impeller wear ring P-200 clearance', image: axis(1), identifiers: ['P-200'], chunks: [{ text: 'impeller wear ring', vector: axis(1) }, { text: 'clearance 0.3 mm', vector: axis(2) }] },
            { text: 'mechanical seal 4471-B gland', image: axis(2, 1, 0.5), identifiers: ['4471-B'], chunks: [{ text: 'mechanical seal', vector: axis(3) }] },
            { text: 'bearing frame oil level', image: axis(3), chunks: [{ text: 'bearing frame', vector: axis(4) }, { text: 'oil level', vector: axis(4, 2, 0.4) }, { text: 'sight glass', vector: axis(5) }] },
          ],
        });
        doc.pages[0]!.imageHash = '00ff00ff00ff00ff';
        doc.pages[1]!.imageLayout = layoutOf(ruledPage([4, 12, 20, 28]));
        await store.addDocument(doc);
        const photo = newPhoto({ vector: axis(1, 2, 0.3), caption: 'P-200 pump on its baseplate', identifiers: ['P-200'], chunks: [{ text: 'P-200 pump on its baseplate', vector: axis(1, 3, 0.2) }] });
        photo.imageHash = '00ff00ff00ff00fe';
        await store.addPhoto(photo);
        const text = { vector: axis(1, 4, 0.3), words: 'impeller seal P-200', identifiers: ['P-200', '4471-B'] };
        const image = { vector: axis(2, 1, 0.6), hash: '00ff00ff00ff00ff', maxHashDistance: 6, layout: layoutOf(ruledPage([4, 12, 20, 28], 3)) };
        const read = { words: 'MODEL gland 4471B', identifiers: ['4471B', 'SN-99-1'] };
        for (const filter of [undefined, { kinds: ['pdf' as const] }]) {
          const all = await store.searchSignals({ text, image, read }, 3, filter);
          expect(all).toEqual({
            textChunks: await store.searchChunks(text.vector, 3, filter),
            textImages: await store.searchImages(text.vector, 3, filter),
            lexical: await store.searchLexical(text.words, 3, filter),
            identifiers: await store.searchIdentifiers(text.identifiers, 3, filter),
            imageImages: await store.searchImages(image.vector, 3, filter),
            imageChunks: await store.searchChunks(image.vector, 3, filter),
            imageHash: await store.searchImageHash(image.hash, 6, 3, filter),
            imageLayout: await store.searchImageLayout(image.layout, 3, filter),
            readLexical: await store.searchLexical(read.words, 3, filter),
            readIdentifiers: await store.searchIdentifiers(read.identifiers, 3, filter),
          });
          expect(all.imageHash.length).toBeGreaterThan(0);
          expect(all.imageLayout.length).toBeGreaterThan(0);
          expect(all.readIdentifiers.length).toBeGreaterThan(0);
          expect(all.readLexical.length).toBeGreaterThan(0);
          expect(all.lexical.length).toBeGreaterThan(0);
        }
        const textOnly = await store.searchSignals({ text }, 3);
        expect(textOnly.imageImages).toEqual([]);
        expect(textOnly.imageHash).toEqual([]);
        expect(textOnly.imageLayout).toEqual([]);
        const imageOnly = await store.searchSignals({ image }, 3);
        expect(imageOnly.lexical).toEqual([]);
        expect(imageOnly.identifiers).toEqual([]);
        expect(imageOnly.readIdentifiers).toEqual([]);
        expect(textOnly.readLexical).toEqual([]);
        expect(imageOnly.imageChunks.length).toBeGreaterThan(0);
        await expect(store.searchSignals({ image: { ...image, hash: 'zz' } }, 3)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        await expect(store.searchSignals({ image: { ...image, layout: { key: image.layout.key, signature: new Uint8Array(10) } } }, 3)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      });
    });

    describe('records of a page of hits', () => {
      it('getHitRecords gives every target its records exactly as getDocument/getPage/getPhoto do; missing and deleted ones are absent', async () => {
        const doc = newDocument({ pages: [{ text: 'first page' }, { text: 'second page', image: null, thumbnailKey: null }, { text: 'third page' }] });
        const other = newDocument({ kind: 'markdown', pages: [{ text: 'other page' }] });
        const gone = newDocument({ pages: [{ text: 'deleted page' }] });
        const photo = newPhoto({ vector: axis(1), caption: 'a photo' });
        const goneLater = newPhoto({ vector: axis(2), caption: 'deleted photo' });
        for (const d of [doc, other, gone]) await store.addDocument(d);
        for (const p of [photo, goneLater]) await store.addPhoto(p);
        await store.deleteDocument(gone.document.id);
        await store.deletePhoto(goneLater.photo.id);
        const page = (d: NewDocument, n: number): HitTarget => ({ kind: 'page', documentId: d.document.id, pageNumber: n });
        const targets: HitTarget[] = [page(doc, 3), page(doc, 1), page(doc, 1), page(other, 1), page(doc, 9), page(gone, 1), { kind: 'photo', photoId: photo.photo.id }, { kind: 'photo', photoId: goneLater.photo.id }, { kind: 'photo', photoId: 'no-such-photo' }, page({ document: { id: 'no-such-document' } } as NewDocument, 1)];
        const records = await store.getHitRecords(targets);
        expect([...records.documents.keys()].sort()).toEqual([doc.document.id, other.document.id].sort());
        expect(records.documents.get(doc.document.id)).toEqual(await store.getDocument(doc.document.id));
        expect(records.documents.get(other.document.id)).toEqual(other.document);
        expect([...records.pages.keys()].sort()).toEqual([pageKey(doc.document.id, 1), pageKey(doc.document.id, 3), pageKey(other.document.id, 1)].sort());
        for (const n of [1, 3]) expect(records.pages.get(pageKey(doc.document.id, n))).toEqual(await store.getPage(doc.document.id, n));
        expect(records.pages.get(pageKey(other.document.id, 1))).toMatchObject({ documentId: other.document.id, number: 1, text: 'other page' });
        expect([...records.photos.entries()]).toEqual([[photo.photo.id, photo.photo]]);
        const none = await store.getHitRecords([]);
        expect([none.documents.size, none.pages.size, none.photos.size]).toEqual([0, 0, 0]);
      });
    });

    describe('image hash search', () => {
      // Hashes that differ from BASE in 0, 2, 5 and 12 bits, spread over different bands.
      const BASE = '0f0f0f0f33333333';
      const flip = (hash: string, bits: number[]) => {
        let hi = Number.parseInt(hash.slice(0, 8), 16) >>> 0;
        let lo = Number.parseInt(hash.slice(8), 16) >>> 0;
        for (const bit of bits) if (bit < 32) hi = (hi ^ (1 << bit)) >>> 0;
        else lo = (lo ^ (1 << (bit - 32))) >>> 0;
        return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
      };
      const TWO = flip(BASE, [3, 40]);
      const FIVE = flip(BASE, [1, 9, 17, 33, 60]);
      const TWELVE = flip(BASE, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);

      it('finds page renders and photos within the distance, closest first, never the far ones', async () => {
        const doc = newDocument({ pages: [{ text: 'scan' }, { text: 'other' }] });
        doc.pages[0]!.imageHash = FIVE;
        doc.pages[1]!.imageHash = TWELVE;
        await store.addDocument(doc);
        const exact = newPhoto({ vector: axis(1) });
        exact.imageHash = BASE;
        const near = newPhoto({ vector: axis(2) });
        near.imageHash = TWO;
        const none = newPhoto({ vector: axis(3) });
        await store.addPhoto(exact);
        await store.addPhoto(near);
        await store.addPhoto(none);
        const found = await store.searchImageHash(BASE, 6, 10);
        expect(targets(found)).toEqual([photoTarget(exact.photo.id), photoTarget(near.photo.id), pageOf(doc.document.id, 1)]);
        expect(found.map((c) => c.hashDistance)).toEqual([0, 2, 5]);
        expect(found.map((c) => c.score)).toEqual([64, 62, 59]);
        expect(targets(await store.searchImageHash(BASE, 2, 10))).toEqual([photoTarget(exact.photo.id), photoTarget(near.photo.id)]);
        expect(targets(await store.searchImageHash(BASE, 6, 1))).toEqual([photoTarget(exact.photo.id)]);
        // Filters apply: only document pages.
        expect(targets(await store.searchImageHash(BASE, 6, 10, { kinds: ['pdf'] }))).toEqual([pageOf(doc.document.id, 1)]);
        // Deleted records are gone from the lookup.
        await store.deletePhoto(exact.photo.id);
        await store.deleteDocument(doc.document.id);
        expect(targets(await store.searchImageHash(BASE, 6, 10))).toEqual([photoTarget(near.photo.id)]);
      });

      it('refuses a malformed hash or distance (INVALID_INPUT), and a malformed stored hash (INVALID_RECORD) without writing', async () => {
        await expect(store.searchImageHash('xyz', 6, 10)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        await expect(store.searchImageHash(BASE, 8, 10)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        await expect(store.searchImageHash(BASE, -1, 10)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        const bad = newPhoto({ vector: axis(4) });
        bad.imageHash = 'NOT-A-HASH';
        await expect(store.addPhoto(bad)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
        expect(await store.getPhoto(bad.photo.id)).toBeNull();
      });
    });

    describe('layout search (mostly white pages)', () => {
      // Ruled "pages": the same lines with a little noise are a copy; other lines are not.
      const copyLayout = layoutOf(ruledPage([6, 14, 22, 30, 38], 2));
      const otherLayout = layoutOf(ruledPage([6, 14, 22, 46, 54]));
      const query = layoutOf(ruledPage([6, 14, 22, 30, 38]));

      it('finds page renders and photos whose layout correlates as a copy, best first, never a different page', async () => {
        expect(layoutCorrelation(query.signature, copyLayout.signature)).toBeGreaterThanOrEqual(LAYOUT_COPY_CORRELATION);
        expect(layoutCorrelation(query.signature, otherLayout.signature)).toBeLessThan(LAYOUT_COPY_CORRELATION);
        const doc = newDocument({ pages: [{ text: 'scan' }, { text: 'other form' }] });
        doc.pages[0]!.imageLayout = copyLayout;
        doc.pages[1]!.imageLayout = otherLayout;
        await store.addDocument(doc);
        const exact = newPhoto({ vector: axis(1) });
        exact.imageLayout = query;
        await store.addPhoto(exact);
        await store.addPhoto(newPhoto({ vector: axis(2) }));
        const found = await store.searchImageLayout(query, 10);
        expect(targets(found)).toEqual([photoTarget(exact.photo.id), pageOf(doc.document.id, 1)]);
        expect(found[0]!.score).toBeCloseTo(1, 6);
        expect(found[1]!.score).toBeCloseTo(layoutCorrelation(query.signature, copyLayout.signature), 6);
        expect(found.map((c) => c.layoutCorrelation)).toEqual(found.map((c) => c.score));
        expect(targets(await store.searchImageLayout(query, 1))).toEqual([photoTarget(exact.photo.id)]);
        expect(targets(await store.searchImageLayout(query, 10, { kinds: ['pdf'] }))).toEqual([pageOf(doc.document.id, 1)]);
        await store.deletePhoto(exact.photo.id);
        await store.deleteDocument(doc.document.id);
        expect(await store.searchImageLayout(query, 10)).toEqual([]);
      });

      it('refuses a malformed layout (INVALID_INPUT), and a malformed stored layout (INVALID_RECORD) without writing', async () => {
        await expect(store.searchImageLayout({ key: 'xyz', signature: query.signature }, 10)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        await expect(store.searchImageLayout({ key: query.key, signature: new Uint8Array(64) }, 10)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        const bad = newPhoto({ vector: axis(4) });
        bad.imageLayout = { key: query.key, signature: new Uint8Array(12) };
        await expect(store.addPhoto(bad)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
        expect(await store.getPhoto(bad.photo.id)).toBeNull();
      });
    });

    describe('backfill of near-copy keys', () => {
      const walk = async () => {
        const found: HitTarget[] = [];
        let after: string | null = null;
        for (let i = 0; i < 20; i++) {
          const { targets: batch, next } = await store.listTargetsWithoutImageKeys(1, after);
          found.push(...batch);
          if (next === null) return found;
          after = next;
        }
        throw new Error('the walk does not end');
      };
      const sorted = (list: HitTarget[]) => list.map((t) => JSON.stringify(t)).sort();

      it('lists page renders and photos stored without keys, page by page; setImageKeys stores them and they leave the list', async () => {
        const doc = newDocument({ pages: [{ text: 'hashed' }, { text: 'laid out' }, { text: 'old page' }] });
        doc.pages[0]!.imageHash = '0f0f0f0f33333333';
        doc.pages[1]!.imageLayout = layoutOf(ruledPage([6, 14, 22]));
        await store.addDocument(doc);
        await store.addDocument(newDocument({ kind: 'markdown', pages: [{ text: 'no render' }] }));
        const oldPhoto = newPhoto({ vector: axis(1) });
        await store.addPhoto(oldPhoto);
        const hashedPhoto = newPhoto({ vector: axis(2) });
        hashedPhoto.imageHash = 'f0f0f0f0cccccccc';
        await store.addPhoto(hashedPhoto);

        const missing = [pageOf(doc.document.id, 3), photoTarget(oldPhoto.photo.id)];
        expect(sorted(await walk())).toEqual(sorted(missing));
        expect(sorted((await store.listTargetsWithoutImageKeys(10)).targets)).toEqual(sorted(missing));

        const hash = '123456789abcdef0';
        const layout = layoutOf(ruledPage([10, 30, 50]));
        expect(await store.setImageKeys(pageOf(doc.document.id, 3), { hash, layout: null })).toBe(true);
        expect(await store.setImageKeys(photoTarget(oldPhoto.photo.id), { hash: null, layout })).toBe(true);
        expect(await walk()).toEqual([]);
        expect(targets(await store.searchImageHash(hash, 0, 5))).toEqual([pageOf(doc.document.id, 3)]);
        expect(targets(await store.searchImageLayout(layout, 5))).toEqual([photoTarget(oldPhoto.photo.id)]);
        // Setting keys replaces the old ones of either kind.
        expect(await store.setImageKeys(pageOf(doc.document.id, 3), { hash: null, layout })).toBe(true);
        expect(await store.searchImageHash(hash, 0, 5)).toEqual([]);
        expect(sorted(targets(await store.searchImageLayout(layout, 5)))).toEqual(sorted([pageOf(doc.document.id, 3), photoTarget(oldPhoto.photo.id)]));
      });

      it('setImageKeys is false for a target that is gone and refuses malformed keys; a foreign cursor is INVALID_CURSOR', async () => {
        const photo = newPhoto({ vector: axis(3) });
        await store.addPhoto(photo);
        await store.deletePhoto(photo.photo.id);
        expect(await store.setImageKeys(photoTarget(photo.photo.id), { hash: '0f0f0f0f33333333', layout: null })).toBe(false);
        expect(await store.setImageKeys(pageOf('no-such-document', 1), { hash: '0f0f0f0f33333333', layout: null })).toBe(false);
        const kept = newPhoto({ vector: axis(4) });
        await store.addPhoto(kept);
        await expect(store.setImageKeys(photoTarget(kept.photo.id), { hash: 'NOPE', layout: null })).rejects.toMatchObject({ code: 'INVALID_RECORD' });
        await expect(store.setImageKeys(photoTarget(kept.photo.id), { hash: null, layout: { key: '0f0f0f0f33333333', signature: new Uint8Array(5) } })).rejects.toMatchObject({ code: 'INVALID_RECORD' });
        expect((await store.listTargetsWithoutImageKeys(10)).targets).toEqual([photoTarget(kept.photo.id)]);
        await expect(store.listTargetsWithoutImageKeys(10, 'not-a-cursor')).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
      });
    });

    describe('filters', () => {
      // Many strong matches in `crowd`, one weaker match in `needle`: a filter applied after a
      // top-k would find nothing in `needle`.
      async function crowdAndNeedle(): Promise<{ crowd: NewDocument; needle: NewDocument; photo: NewPhoto }> {
        const crowdPages: PageSpec[] = [];
        for (let i = 0; i < 40; i++) crowdPages.push({ text: `gearbox gearbox oil level ${i}`, image: axis(25, 26, 0.05), chunks: [{ text: `crowd ${i}`, vector: axis(25, 26, 0.05) }], identifiers: ['GB-5'] });
        const crowd = newDocument({ kind: 'pdf', metadata: { site: 'north', line: 1, audited: true }, pages: crowdPages });
        const needle = newDocument({
          kind: 'markdown',
          metadata: { site: 'south', line: 2, audited: false },
          pages: [{ text: 'gearbox breather cap', image: axis(25, 27, 1), chunks: [{ text: 'needle chunk', vector: axis(25, 27, 1) }], identifiers: ['GB-5'] }],
        });
        const photo = newPhoto({ caption: 'gearbox leak', vector: axis(25, 28, 1), chunks: [{ text: 'gearbox leak', vector: axis(25, 28, 1) }], identifiers: ['GB-5'], metadata: { site: 'south' } });
        await store.addDocument(crowd);
        await store.addDocument(needle);
        await store.addPhoto(photo);
        return { crowd, needle, photo };
      }

      async function everySignal(filter: SearchFilter, limit = 5): Promise<HitTarget[][]> {
        return [
          targets(await store.searchChunks(axis(25), limit, filter)),
          targets(await store.searchImages(axis(25), limit, filter)),
          targets(await store.searchLexical('gearbox', limit, filter)),
          targets(await store.searchIdentifiers(['GB-5'], limit, filter)),
        ];
      }

      it('documentIds restricts every signal to those documents, without losing their matches to others', async () => {
        const { needle } = await crowdAndNeedle();
        for (const found of await everySignal({ documentIds: [needle.document.id] })) expect(found).toEqual([pageOf(needle.document.id, 1)]);
        for (const found of await everySignal({ documentIds: [] })) expect(found).toEqual([]);
        for (const found of await everySignal({ documentIds: ['no-such-document'] })) expect(found).toEqual([]);
      });

      it('kinds restricts to document kinds and photos', async () => {
        const { needle, photo } = await crowdAndNeedle();
        for (const found of await everySignal({ kinds: ['markdown'] })) expect(found).toEqual([pageOf(needle.document.id, 1)]);
        for (const found of await everySignal({ kinds: ['photo'] })) expect(found).toEqual([photoTarget(photo.photo.id)]);
        for (const found of await everySignal({ kinds: ['markdown', 'photo'] }, 10)) {
          expect(found).toHaveLength(2);
          expect(found).toContainEqual(photoTarget(photo.photo.id));
          expect(found).toContainEqual(pageOf(needle.document.id, 1));
        }
        for (const found of await everySignal({ kinds: ['pdf'] }, 50)) expect(found).toHaveLength(40);
        for (const found of await everySignal({ kinds: [] })) expect(found).toEqual([]);
      });

      it('rejects filters it cannot apply, with INVALID_FILTER', async () => {
        await crowdAndNeedle();
        const bad: SearchFilter[] = [{ kinds: ['video' as SourceKind] }, { metadata: { site: { nested: true } } }, { metadata: { tags: ['a'] } }];
        for (const filter of bad) {
          await expect(store.searchChunks(axis(25), 5, filter), JSON.stringify(filter)).rejects.toMatchObject({ code: 'INVALID_FILTER' });
          await expect(store.searchLexical('gearbox', 5, filter), JSON.stringify(filter)).rejects.toMatchObject({ code: 'INVALID_FILTER' });
        }
      });

      it('metadata must equal every given key (strings, numbers, booleans), on documents and photos', async () => {
        const { needle, photo, crowd } = await crowdAndNeedle();
        for (const found of await everySignal({ metadata: { site: 'south', line: 2 } }, 10)) expect(found).toEqual([pageOf(needle.document.id, 1)]);
        for (const found of await everySignal({ metadata: { audited: false } }, 10)) expect(found).toEqual([pageOf(needle.document.id, 1)]);
        for (const found of await everySignal({ metadata: { site: 'south' } }, 10)) {
          expect(found).toHaveLength(2);
          expect(found).toContainEqual(photoTarget(photo.photo.id));
        }
        for (const found of await everySignal({ metadata: { line: '1' } }, 10)) expect(found).toEqual([]);
        for (const found of await everySignal({ metadata: { site: 'north', audited: true } }, 3)) {
          expect(found).toHaveLength(3);
          for (const t of found) expect(t).toMatchObject({ kind: 'page', documentId: crowd.document.id });
        }
        for (const found of await everySignal({ metadata: { missing: 'x' } })) expect(found).toEqual([]);
      });

      it('combines documentIds, kinds and metadata', async () => {
        const { needle, crowd } = await crowdAndNeedle();
        for (const found of await everySignal({ documentIds: [needle.document.id, crowd.document.id], kinds: ['markdown'], metadata: { site: 'south' } })) {
          expect(found).toEqual([pageOf(needle.document.id, 1)]);
        }
        for (const found of await everySignal({ documentIds: [needle.document.id], kinds: ['pdf'] })) expect(found).toEqual([]);
      });
    });
  });
}
