/**
 * Tenant views of the Qdrant store (`forTenant`): one connection, many tenants in one process.
 * Runs against the schema-checking fake Qdrant, like the contract suite. Records of one tenant
 * must never reach another through any read, search, dedup or delete.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { Candidate, NewDocument, NewPhoto } from '../../src/store/knowledge-store.js';
import { QdrantKnowledgeStore } from '../../src/store/qdrant/qdrant-knowledge-store.js';
import { describeWithQdrantSchema, startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { CONTRACT_DIM, CONTRACT_MODEL_ID, axis, newDocument, newPhoto } from './knowledge-store.contract.js';

/** Ids of the documents and photos the candidates point at. */
function owners(candidates: Candidate[]): string[] {
  return candidates.map((c) => (c.target.kind === 'page' ? c.target.documentId : c.target.photoId));
}

/** One tenant's document and photo, with words, identifiers and vectors of its own. */
function tenantRecords(word: string, identifier: string, dims: { page: number; chunk: number; photo: number }): { doc: NewDocument; photo: NewPhoto } {
  const doc = newDocument({
    pages: [
      { text: `Service the ${word} pump.`, image: axis(dims.page), chunks: [{ text: `${word} chunk`, vector: axis(dims.chunk) }], identifiers: [identifier] },
      { text: `Second page about ${word}.`, image: null, thumbnailKey: null },
    ],
  });
  const photo = newPhoto({ caption: `${word} valve photo`, vector: axis(dims.photo), chunks: [{ text: `${word} caption`, vector: axis(dims.chunk) }], identifiers: [`${identifier}-P`] });
  return { doc, photo };
}

describeWithQdrantSchema('Qdrant store: tenant views over one connection', () => {
  let fake: FakeQdrant;
  let alpha: QdrantKnowledgeStore;
  let beta: QdrantKnowledgeStore;

  beforeAll(async () => {
    fake = await startFakeQdrant();
  });
  afterAll(async () => {
    await fake.close();
  });

  beforeEach(async () => {
    const collectionPrefix = `views_${randomBytes(3).toString('hex')}_`;
    alpha = new QdrantKnowledgeStore({ url: fake.url, collectionPrefix, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, tenant: 'alpha' });
    await alpha.init();
    beta = alpha.forTenant('beta');
  });
  afterEach(async () => {
    await beta.close();
    await alpha.close();
    fake.engine.deleteCollection(alpha.collection);
  });

  it('is a view of the same collection for the other tenant, ready without opening anything', async () => {
    expect(beta.tenant).toBe('beta');
    expect(beta.collection).toBe(alpha.collection);
    expect(beta.dim).toBe(alpha.dim);
    const requestsBefore = fake.requests.length;
    await beta.init();
    expect(fake.requests.length).toBe(requestsBefore);
    expect((await beta.storeStatus()).ready).toBe(true);
    expect((await beta.storeStatus()).location).toContain('tenant beta');
  });

  it('shares one opening between the root and views made before init', async () => {
    const root = new QdrantKnowledgeStore({ url: fake.url, collectionPrefix: `views_${randomBytes(3).toString('hex')}_`, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, tenant: 'alpha' });
    const view = root.forTenant('beta');
    expect((await view.storeStatus()).ready).toBe(false);
    const collectionsCreated = () => fake.requests.filter((r) => r.operation === 'create_collection' && r.collection === root.collection).length;
    await Promise.all([root.init(), view.init(), view.init()]);
    expect(collectionsCreated()).toBe(1);
    expect((await view.storeStatus()).ready).toBe(true);
    expect((await root.storeStatus()).ready).toBe(true);
    await root.close();
    expect((await view.storeStatus()).ready).toBe(false);
    fake.engine.deleteCollection(root.collection);
  });

  it('never shows one tenant’s records to the other', async () => {
    const a = tenantRecords('aardvark', 'AA-100', { page: 0, chunk: 1, photo: 2 });
    const b = tenantRecords('bison', 'BB-200', { page: 0, chunk: 1, photo: 2 });
    expect((await alpha.addDocument(a.doc)).created).toBe(true);
    expect((await alpha.addPhoto(a.photo)).created).toBe(true);
    expect((await beta.addDocument(b.doc)).created).toBe(true);
    expect((await beta.addPhoto(b.photo)).created).toBe(true);

    const cases = [
      { store: beta, own: b, other: a, word: 'aardvark', identifier: 'AA-100' },
      { store: alpha, own: a, other: b, word: 'bison', identifier: 'BB-200' },
    ];
    for (const { store, own, other, word, identifier } of cases) {
      const otherIds = [other.doc.document.id, other.photo.photo.id];
      // Records by id and by hash.
      expect(await store.getDocument(other.doc.document.id)).toBeNull();
      expect(await store.getPhoto(other.photo.photo.id)).toBeNull();
      expect(await store.findDocumentByHash(other.doc.document.contentHash)).toBeNull();
      expect(await store.findPhotoByHash(other.photo.photo.contentHash)).toBeNull();
      expect(await store.getPages(other.doc.document.id)).toEqual([]);
      expect(await store.getPage(other.doc.document.id, 1)).toBeNull();
      // Its own records are all there.
      expect(await store.getDocument(own.doc.document.id)).toEqual(own.doc.document);
      expect(await store.getPhoto(own.photo.photo.id)).toEqual(own.photo.photo);
      expect(await store.findDocumentByHash(own.doc.document.contentHash)).toEqual(own.doc.document);
      // Listings and counts.
      const list = await store.listDocuments({ first: 10 });
      expect(list.items.map((d) => d.id)).toEqual([own.doc.document.id]);
      expect(list.totalCount).toBe(1);
      expect(await store.countPages()).toBe(2);
      expect(await store.stats()).toEqual({ documents: 1, pages: 2, chunks: 2, photos: 1 });
      // Searches: the same vectors are stored in both tenants, so only the filter keeps them apart.
      const chunkHits = owners(await store.searchChunks(axis(1), 10));
      expect(chunkHits.sort()).toEqual([own.doc.document.id, own.photo.photo.id].sort());
      const imageHits = owners(await store.searchImages(axis(2), 10));
      expect(imageHits).toContain(own.photo.photo.id);
      for (const hits of [chunkHits, imageHits, owners(await store.searchImages(axis(0), 10))]) {
        expect(hits.filter((id) => otherIds.includes(id))).toEqual([]);
      }
      expect(await store.searchLexical(word, 10)).toEqual([]);
      expect(await store.searchIdentifiers([identifier, `${identifier}-P`], 10)).toEqual([]);
      const all = await store.searchSignals({ text: { vector: axis(1), words: word, identifiers: [identifier] } }, 10);
      expect(Object.values(all).flatMap(owners)).not.toContain(other.doc.document.id);
      expect(await store.isBlobReferenced(other.doc.document.blobKey)).toBe(false);
    }
    // And each tenant finds its own words and identifiers.
    expect(owners(await alpha.searchLexical('aardvark', 10))).toContain(a.doc.document.id);
    expect(owners(await beta.searchIdentifiers(['BB-200'], 10))).toEqual([b.doc.document.id]);
  });

  it('adds the same file in both tenants independently; deleting it in one leaves the other', async () => {
    const hash = `shared-${randomBytes(4).toString('hex')}`;
    const inAlpha = newDocument({ hash, pages: [{ text: 'shared manual', chunks: [{ text: 'shared', vector: axis(5) }], identifiers: ['SH-1'] }] });
    const inBeta = newDocument({ hash, pages: [{ text: 'shared manual', chunks: [{ text: 'shared', vector: axis(5) }], identifiers: ['SH-1'] }] });
    expect((await alpha.addDocument(inAlpha)).created).toBe(true);
    const betaAdd = await beta.addDocument(inBeta);
    expect(betaAdd.created).toBe(true);
    expect(betaAdd.document.id).toBe(inBeta.document.id);
    expect((await alpha.findDocumentByHash(hash))?.id).toBe(inAlpha.document.id);
    expect((await beta.findDocumentByHash(hash))?.id).toBe(inBeta.document.id);

    const photoHash = `shared-photo-${randomBytes(4).toString('hex')}`;
    expect((await alpha.addPhoto(newPhoto({ hash: photoHash, vector: axis(6) }))).created).toBe(true);
    expect((await beta.addPhoto(newPhoto({ hash: photoHash, vector: axis(6) }))).created).toBe(true);

    expect(await beta.deleteDocument(inBeta.document.id)).not.toBeNull();
    expect(await beta.findDocumentByHash(hash)).toBeNull();
    expect(await alpha.getDocument(inAlpha.document.id)).toEqual(inAlpha.document);
    expect(await alpha.getPages(inAlpha.document.id)).toHaveLength(1);
    expect(owners(await alpha.searchChunks(axis(5), 10))).toEqual([inAlpha.document.id]);
    expect(owners(await alpha.searchIdentifiers(['SH-1'], 10))).toEqual([inAlpha.document.id]);
  });

  it('cannot delete another tenant’s records', async () => {
    const a = tenantRecords('aardvark', 'AA-100', { page: 0, chunk: 1, photo: 2 });
    await alpha.addDocument(a.doc);
    await alpha.addPhoto(a.photo);
    expect(await beta.deleteDocument(a.doc.document.id)).toBeNull();
    expect(await beta.deletePhoto(a.photo.photo.id)).toBeNull();
    expect(await alpha.getDocument(a.doc.document.id)).toEqual(a.doc.document);
    expect(await alpha.getPages(a.doc.document.id)).toHaveLength(2);
    expect(await alpha.getPhoto(a.photo.photo.id)).toEqual(a.photo.photo);
    expect(owners(await alpha.searchChunks(axis(1), 10)).sort()).toEqual([a.doc.document.id, a.photo.photo.id].sort());
  });

  it('closing a view leaves the root (and other views) usable', async () => {
    const gamma = alpha.forTenant('gamma');
    await beta.close();
    expect((await alpha.storeStatus()).ready).toBe(true);
    expect((await gamma.storeStatus()).ready).toBe(true);
    const doc = newDocument({ pages: [{ text: 'after the view closed' }] });
    expect((await alpha.addDocument(doc)).created).toBe(true);
    expect(await alpha.getDocument(doc.document.id)).toEqual(doc.document);
    expect(await gamma.getDocument(doc.document.id)).toBeNull();
  });

  it('rejects an invalid tenant with a ConfigError', () => {
    expect(() => alpha.forTenant('bad tenant!')).toThrow(ConfigError);
    expect(() => alpha.forTenant('')).toThrow(ConfigError);
    expect(() => beta.forTenant('-leading-dash')).toThrow(ConfigError);
  });

  describe('what was sent', () => {
    it('every request matched Qdrant’s schema, and every answer of the fake did too', () => {
      expect(fake.schemaErrors).toEqual([]);
      expect(fake.responseErrors).toEqual([]);
    });
  });
});
