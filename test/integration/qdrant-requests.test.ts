/**
 * What the Qdrant store sends, checked on the fake Qdrant (every request validated against
 * Qdrant's OpenAPI schema): the collection it creates, the payload indexes, the hybrid query,
 * the tenant filter on every read, bounded batches — and how it behaves when Qdrant misbehaves:
 * unreachable at start, 429 with retry-after, 5xx, hangs, going away in the middle of an add,
 * a collection made earlier with another vector size.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PAYLOAD_INDEXES } from '../../src/store/qdrant/qdrant-collection.js';
import { QdrantKnowledgeStore, type QdrantKnowledgeStoreOptions } from '../../src/store/qdrant/qdrant-knowledge-store.js';
import { NO_SIGNALS } from '../../src/store/knowledge-store.js';
import { axis, CONTRACT_DIM, CONTRACT_MODEL_ID, newDocument, newPhoto, type PageSpec } from '../contract/knowledge-store.contract.js';
import { describeWithQdrantSchema, requiresTenant, startFakeQdrant, type FakeQdrant, type RecordedRequest } from '../helpers/fake-qdrant.js';

const READS = new Set(['scroll_points', 'count_points', 'query_points', 'query_points_groups', 'query_batch_points', 'get_points']);
const WRITES = new Set(['upsert_points', 'delete_points', 'set_payload', 'create_field_index']);

let serial = 0;
function options(fake: FakeQdrant, extra: Partial<QdrantKnowledgeStoreOptions> = {}): QdrantKnowledgeStoreOptions {
  serial += 1;
  return {
    url: fake.url,
    collectionPrefix: `req_${serial}_`,
    dim: CONTRACT_DIM,
    modelId: CONTRACT_MODEL_ID,
    timeoutMs: 2000,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...extra,
  };
}

async function openStore(fake: FakeQdrant, extra: Partial<QdrantKnowledgeStoreOptions> = {}): Promise<QdrantKnowledgeStore> {
  const store = new QdrantKnowledgeStore(options(fake, extra));
  await store.init();
  return store;
}

function bodyOf(r: RecordedRequest): Record<string, unknown> {
  return (r.body ?? {}) as Record<string, unknown>;
}

/** Every payload key a request filters, orders or groups by. */
function keysUsed(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => keysUsed(v, out));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.key === 'string' && ('match' in o || 'range' in o || 'values_count' in o || 'direction' in o)) out.add(o.key);
    if (typeof o.group_by === 'string') out.add(o.group_by);
    for (const [k, v] of Object.entries(o)) if (k !== 'payload' && k !== 'points') keysUsed(v, out);
  }
  return out;
}

function pageSpecs(pages: number, chunks: number, word: string): PageSpec[] {
  return Array.from({ length: pages }, (_, p) => ({
    text: `page ${p} about the ${word} impeller`,
    image: axis(p + 1),
    identifiers: [`ZX-${p}00`],
    chunks: Array.from({ length: chunks }, (_, c) => ({ text: `chunk ${c} of page ${p}`, vector: axis(p + 1, c + 10, 0.1) })),
  }));
}

/** A workload that touches every method of the store. */
async function everyMethod(store: QdrantKnowledgeStore): Promise<void> {
  const doc = newDocument({ metadata: { site: 'north' }, pages: pageSpecs(3, 2, 'gearbox') });
  const other = newDocument({ kind: 'markdown', pages: [{ text: 'markdown page', chunks: [{ text: 'm', vector: axis(20) }] }] });
  const photo = newPhoto({ caption: 'leaking gearbox seal', vector: axis(5), chunks: [{ text: 'leaking seal', vector: axis(6) }], identifiers: ['ZX-100'] });
  await store.addDocument(doc);
  await store.addDocument(other);
  await store.addPhoto(photo);
  await store.addDocument(doc); // duplicate file
  await store.getDocument(doc.document.id);
  await store.findDocumentByHash(doc.document.contentHash);
  await store.getPhoto(photo.photo.id);
  await store.findPhotoByHash(photo.photo.contentHash);
  const first = await store.listDocuments({ first: 1 });
  await store.listDocuments({ first: 5, after: first.endCursor });
  await store.getPages(doc.document.id);
  await store.getPage(doc.document.id, 2);
  await store.countPages();
  await store.stats();
  for (const filter of [undefined, { kinds: ['pdf' as const, 'photo' as const], metadata: { site: 'north' } }, { documentIds: [doc.document.id] }]) {
    await store.searchChunks(axis(1), 5, filter);
    await store.searchImages(axis(1), 5, filter);
    await store.searchLexical('gearbox impeller', 5, filter);
    await store.searchIdentifiers(['zx100'], 5, filter);
    await store.searchSignals({ text: { vector: axis(1), words: 'gearbox', identifiers: ['ZX-100'] }, image: { vector: axis(1), hash: '00ff00ff00ff00ff', maxHashDistance: 6 } }, 5, filter);
  }
  await store.getHitRecords([{ kind: 'page', documentId: doc.document.id, pageNumber: 2 }, { kind: 'photo', photoId: photo.photo.id }]);
  await store.isBlobReferenced(doc.document.blobKey);
  await store.deleteDocument(other.document.id);
  await store.deletePhoto(photo.photo.id);
}

describeWithQdrantSchema('Qdrant store: what it sends', () => {
  let fake: FakeQdrant;
  beforeEach(async () => {
    fake = await startFakeQdrant();
  });
  afterEach(async () => {
    expect(fake.schemaErrors).toEqual([]);
    expect(fake.responseErrors).toEqual([]);
    await fake.close();
  });

  it('creates one collection with named Cosine vectors image/text and a sparse bm25 vector with IDF, then its payload indexes', async () => {
    const store = await openStore(fake);
    const create = fake.requests.filter((r) => r.operation === 'create_collection');
    expect(create).toHaveLength(1);
    expect(create[0]!.path).toBe(`/collections/${store.collection}`);
    expect(bodyOf(create[0]!)).toEqual({
      vectors: { image: { size: CONTRACT_DIM, distance: 'Cosine' }, text: { size: CONTRACT_DIM, distance: 'Cosine' } },
      sparse_vectors: { bm25: { modifier: 'idf' } },
    });
    const indexes = fake.requests.filter((r) => r.operation === 'create_field_index');
    const schemas = Object.fromEntries(indexes.map((r) => [bodyOf(r).field_name, bodyOf(r).field_schema]));
    expect(schemas.tenant).toEqual({ type: 'keyword', is_tenant: true });
    expect(schemas.created_ms).toMatchObject({ type: 'integer', range: true });
    expect(Object.keys(schemas).sort()).toEqual(PAYLOAD_INDEXES.map((i) => i.field).sort());
    for (const r of indexes) expect(r.query.wait).toBe('true');
    // The model and vector size are recorded once, insert-only.
    const meta = fake.requests.find((r) => r.operation === 'upsert_points');
    expect(bodyOf(meta!)).toMatchObject({ update_mode: 'insert_only', points: [{ payload: { type: 'meta', model_id: CONTRACT_MODEL_ID, dim: CONTRACT_DIM } }] });
  });

  it('a second start on the same collection creates nothing (idempotent start-up)', async () => {
    const first = await openStore(fake);
    fake.clearRequests();
    const second = new QdrantKnowledgeStore({ ...options(fake), collectionPrefix: first.collection.replace(/points$/, '') });
    await second.init();
    expect(fake.requests.map((r) => r.operation)).not.toContain('create_collection');
    expect(fake.requests.map((r) => r.operation)).not.toContain('create_field_index');
    expect(fake.requests.filter((r) => r.operation === 'upsert_points')).toEqual([]);
    expect((await second.storeStatus()).ready).toBe(true);
  });

  it('every read filters by tenant, every write is tagged with or filtered by it and waits; every filtered field is indexed', async () => {
    const store = await openStore(fake, { tenant: 'acme' });
    fake.clearRequests();
    await everyMethod(store);
    const reads = fake.requests.filter((r) => READS.has(r.operation));
    expect(reads.length).toBeGreaterThan(40);
    expect(fake.requests.filter((r) => r.operation === 'get_points')).toEqual([]); // a lookup by id cannot carry a filter
    expect(reads.filter((r) => r.operation === 'query_batch_points').length).toBe(3);
    for (const r of reads) {
      // A batch is several queries: each must carry the filter itself.
      const bodies = r.operation === 'query_batch_points' ? (bodyOf(r).searches as Record<string, unknown>[]) : [bodyOf(r)];
      for (const body of bodies) expect(requiresTenant(body.filter, 'acme'), `${r.operation} ${JSON.stringify(body.filter)}`).toBe(true);
      const body = bodyOf(r);
      for (const p of (body.prefetch as { filter?: unknown }[] | undefined) ?? []) expect(requiresTenant(p.filter, 'acme'), `prefetch of ${r.operation}`).toBe(true);
    }
    for (const r of fake.requests.filter((r) => WRITES.has(r.operation))) {
      expect(r.query.wait, r.operation).toBe('true');
      const body = bodyOf(r);
      if (r.operation === 'upsert_points') for (const p of body.points as { payload: { tenant: string } }[]) expect(p.payload.tenant).toBe('acme');
      else expect(requiresTenant(body.filter, 'acme'), `${r.operation} ${JSON.stringify(body.filter)}`).toBe(true);
    }
    const indexed = new Set(PAYLOAD_INDEXES.map((i) => i.field));
    const used = keysUsed(fake.requests.map((r) => r.body));
    expect([...used].filter((k) => !indexed.has(k))).toEqual([]);
    expect(used.has('tenant')).toBe(true);
  });

  it('tenants share a collection without seeing each other', async () => {
    const acme = await openStore(fake, { tenant: 'acme' });
    const globex = new QdrantKnowledgeStore({ ...options(fake, { tenant: 'globex' }), collectionPrefix: acme.collection.replace(/points$/, '') });
    await globex.init();
    const doc = newDocument({ hash: 'same-file', pages: [{ text: 'tenant secret okapiword', image: axis(2), chunks: [{ text: 'secret', vector: axis(3) }], identifiers: ['SEC-1'] }] });
    await acme.addDocument(doc);
    expect(await globex.getDocument(doc.document.id)).toBeNull();
    expect(await globex.findDocumentByHash('same-file')).toBeNull();
    expect(await globex.countPages()).toBe(0);
    expect((await globex.listDocuments({ first: 5 })).totalCount).toBe(0);
    expect(await globex.searchLexical('okapiword', 5)).toEqual([]);
    expect(await globex.searchChunks(axis(3), 5)).toEqual([]);
    expect(await globex.searchImages(axis(2), 5)).toEqual([]);
    expect(await globex.searchIdentifiers(['SEC-1'], 5)).toEqual([]);
    const hitRecords = await globex.getHitRecords([{ kind: 'page', documentId: doc.document.id, pageNumber: 1 }]);
    expect([hitRecords.documents.size, hitRecords.pages.size]).toEqual([0, 0]);
    expect((await acme.getHitRecords([{ kind: 'page', documentId: doc.document.id, pageNumber: 1 }])).documents.size).toBe(1);
    expect(await globex.isBlobReferenced(doc.document.blobKey)).toBe(false);
    // The same file is the other tenant's own to add.
    expect((await globex.addDocument(newDocument({ hash: 'same-file', pages: [{ text: 'their copy' }] }))).created).toBe(true);
    expect(await acme.countPages()).toBe(1);
    expect((await acme.getPages(doc.document.id))[0]!.text).toBe('tenant secret okapiword');
  });

  it('a search is one Query API call: a batch with one query per signal, each scoped to the tenant and to committed points', async () => {
    const store = await openStore(fake);
    const best = newDocument({ pages: [{ text: 'replace the impeller seal', image: axis(1), chunks: [{ text: 'impeller seal', vector: axis(2) }], identifiers: ['P-200'] }] });
    best.pages[0]!.imageHash = '00ff00ff00ff00ff';
    const weak = newDocument({ pages: [{ text: 'unrelated page', image: axis(1, 7, 2), chunks: [{ text: 'unrelated', vector: axis(2, 8, 2) }] }] });
    await store.addDocument(best);
    await store.addDocument(weak);
    fake.clearRequests();
    const found = await store.searchSignals(
      { text: { vector: axis(2), words: 'impeller', identifiers: ['p200'] }, image: { vector: axis(1), hash: '00ff00ff00ff00fe', maxHashDistance: 6 } },
      3,
    );
    expect(fake.requests).toHaveLength(1);
    const r = fake.requests[0]!;
    expect(r.operation).toBe('query_batch_points');
    const searches = bodyOf(r).searches as { using?: string; limit: number; filter: unknown }[];
    expect(searches.map((q) => q.using ?? 'filter')).toEqual(['text', 'image', 'bm25', 'filter', 'image', 'text', 'filter']);
    for (const q of searches) expect(requiresTenant(q.filter, 'default') && JSON.stringify(q.filter).includes('"committed"')).toBe(true);
    expect(searches[0]!.limit).toBe(12); // chunks: 4 × limit, best per page kept
    expect(JSON.stringify(searches[3]!.filter)).toContain('"identifiers"');
    expect(JSON.stringify(searches[6]!.filter)).toContain('"image_hash_bands"');
    const page = { kind: 'page', documentId: best.document.id, pageNumber: 1 };
    expect(found.identifiers.map((c) => c.target)).toEqual([page]);
    expect(found.lexical[0]!.target).toEqual(page);
    expect(found.imageHash).toEqual([{ target: page, score: 63, hashDistance: 1 }]);
    expect(found.textChunks[0]!.target).toEqual(page);
  });

  it('the records of a page of hits are one scroll request whatever the number of hits, scoped to the tenant and to committed points', async () => {
    const store = await openStore(fake, { tenant: 'acme' });
    const docs = Array.from({ length: 4 }, (_, i) => newDocument({ pages: pageSpecs(6, 1, `word${i}`) }));
    for (const d of docs) await store.addDocument(d);
    const photos = Array.from({ length: 3 }, (_, i) => newPhoto({ vector: axis(i + 1), caption: `photo ${i}` }));
    for (const p of photos) await store.addPhoto(p);
    const pages = docs.flatMap((d) => Array.from({ length: 6 }, (_, n) => ({ kind: 'page' as const, documentId: d.document.id, pageNumber: n + 1 })));
    const all = [...pages, ...photos.map((p) => ({ kind: 'photo' as const, photoId: p.photo.id }))];
    for (const targets of [all.slice(0, 1), all.slice(0, 5), all]) {
      fake.clearRequests();
      const records = await store.getHitRecords(targets);
      expect(fake.requests.map((r) => r.operation)).toEqual(['scroll_points']);
      const body = bodyOf(fake.requests[0]!);
      expect(requiresTenant(body.filter, 'acme') && JSON.stringify(body.filter).includes('"committed"')).toBe(true);
      expect(body.with_vector).toBe(false);
      const pageCount = targets.filter((t) => t.kind === 'page').length;
      expect(records.pages.size).toBe(pageCount);
      expect(records.documents.size).toBe(new Set(targets.flatMap((t) => (t.kind === 'page' ? [t.documentId] : []))).size);
      expect(records.photos.size).toBe(targets.length - pageCount);
    }
    expect(fake.requests).toHaveLength(1);
    fake.clearRequests();
    await store.getHitRecords([]);
    expect(fake.requests).toEqual([]);
  });

  it('single-signal searches are one request each with the right vector, and best-chunk-per-page grouping', async () => {
    const store = await openStore(fake);
    await store.addDocument(newDocument({ pages: pageSpecs(2, 3, 'pump') }));
    fake.clearRequests();
    await store.searchChunks(axis(1), 4);
    await store.searchImages(axis(1), 4);
    await store.searchLexical('pump', 4);
    const [chunks, images, lexical] = fake.requests.map(bodyOf);
    expect(fake.requests.map((r) => r.operation)).toEqual(['query_points_groups', 'query_points', 'query_points']);
    expect(chunks).toMatchObject({ using: 'text', group_by: 'target', group_size: 1, limit: 4 });
    expect(images).toMatchObject({ using: 'image', limit: 4 });
    expect(lexical).toMatchObject({ using: 'bm25', limit: 4 });
    expect(lexical!.query).toMatchObject({ indices: expect.any(Array), values: [1] });
  });

  it('upserts go in bounded batches, and a retried ingest overwrites the same point ids', async () => {
    const store = await openStore(fake, { upsertBatchSize: 10 });
    fake.clearRequests();
    const doc = newDocument({ pages: pageSpecs(3, 15, 'valve') });
    await store.addDocument(doc);
    const upserts = fake.requests.filter((r) => r.operation === 'upsert_points').map((r) => (bodyOf(r).points as unknown[]).length);
    for (const n of upserts) expect(n).toBeLessThanOrEqual(10);
    expect(upserts.reduce((a, b) => a + b, 0)).toBe(1 + 3 + 45); // the record, pages, chunks
    const points = fake.engine.allPoints(store.collection).filter((p) => p.payload.document_id === doc.document.id);
    expect(points).toHaveLength(49);
    expect(points.every((p) => p.payload.committed === true)).toBe(true);
    for (const p of points) expect(p.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('the fake rejects what Qdrant’s schema does not allow (so the checks above can fail)', async () => {
    const store = await openStore(fake);
    const put = await fetch(`${fake.url}/collections/${store.collection}/points?wait=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ points: [{ id: 'not-a-uuid', vector: {} }] }),
    });
    expect(put.status).toBe(400);
    expect(JSON.stringify(await put.json())).toContain('must be a UUID');
    const query = await fetch(`${fake.url}/collections/${store.collection}/points/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: [1], usin: 'text', filter: { must: [{ key: 'tenant', match: { valu: 'x' } }] } }),
    });
    expect(query.status).toBe(400);
    expect(JSON.stringify(await query.json())).toContain('unknown property \\"usin\\"');
    expect(fake.schemaErrors.length).toBeGreaterThanOrEqual(2);
    fake.schemaErrors.length = 0;
  });
});

describeWithQdrantSchema('Qdrant store: faults', () => {
  let fake: FakeQdrant;
  beforeEach(async () => {
    fake = await startFakeQdrant();
  });
  afterEach(async () => {
    expect(fake.schemaErrors).toEqual([]);
    await fake.close();
  });

  it('Qdrant unreachable at start: init fails with the URL, the operation and the reason; readiness is false; a later init succeeds', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const store = new QdrantKnowledgeStore({ ...options(fake), url, maxRetries: 2 });
    const error = await store.init().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'QDRANT_UNAVAILABLE', category: 'UNAVAILABLE' });
    expect((error as Error).message).toContain(url);
    expect((error as Error).message).toContain('collection_exists');
    expect((error as Error).message).toMatch(/connection failed/);
    expect((error as Error).message).toContain('3 attempts');
    expect((await store.storeStatus()).ready).toBe(false);
    await expect(store.getDocument('x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    // Qdrant comes up later (here: stops dropping connections): the same store starts.
    fake.inject({ times: 2, fault: { type: 'drop' } });
    const later = new QdrantKnowledgeStore({ ...options(fake), maxRetries: 0 });
    await expect(later.init()).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE' });
    await expect(later.init()).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE' });
    await later.init();
    expect((await later.storeStatus()).ready).toBe(true);
  });

  it('readiness follows Qdrant: false while it does not answer, true again when it does', async () => {
    const store = await openStore(fake, { probeTimeoutMs: 200 });
    expect((await store.storeStatus()).ready).toBe(true);
    fake.inject({ when: (r) => r.operation === 'collection_exists', fault: { type: 'hang' } });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await store.storeStatus()).ready).toBe(false);
    fake.clearFaults();
    await new Promise((r) => setTimeout(r, 1100));
    expect((await store.storeStatus()).ready).toBe(true);
  });

  it('a 429 with retry-after is waited for, then the write goes through', async () => {
    const waits: number[] = [];
    const store = await openStore(fake, { sleep: async (ms) => void waits.push(ms) });
    fake.inject({ when: (r) => r.operation === 'upsert_points', times: 1, fault: { type: 'status', status: 429, retryAfter: '2' } });
    const doc = newDocument({ pages: [{ text: 'rate limited', chunks: [{ text: 'c', vector: axis(1) }] }] });
    expect((await store.addDocument(doc)).created).toBe(true);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(2000);
    const limited = fake.requests.filter((r) => r.status === 429);
    expect(limited).toHaveLength(1);
    // The very same request was sent again.
    const same = fake.requests.filter((r) => r.operation === 'upsert_points' && JSON.stringify(r.body) === JSON.stringify(limited[0]!.body));
    expect(same.map((r) => r.status)).toEqual([429, 200]);
    expect(await store.countPages()).toBe(1);
  });

  it('really waits: a retry-after of 1 s delays the request by about a second', async () => {
    const store = await openStore(fake);
    fake.inject({ when: (r) => r.operation === 'count_points', times: 1, fault: { type: 'status', status: 429, retryAfter: '1' } });
    const started = Date.now();
    expect(await store.countPages()).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('a retry-after beyond what the store waits for fails at once, saying so', async () => {
    const store = await openStore(fake, { maxRetryAfterMs: 500 });
    fake.inject({ when: (r) => r.operation === 'count_points', fault: { type: 'status', status: 429, retryAfter: '3' } });
    const started = Date.now();
    await expect(store.countPages()).rejects.toThrow(/retry after 3 s/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('5xx answers and requests that hang are retried', async () => {
    const store = await openStore(fake, { timeoutMs: 300 });
    const doc = newDocument({ pages: [{ text: 'retry me', image: axis(3) }] });
    await store.addDocument(doc);
    fake.inject({ when: (r) => r.operation === 'query_points', times: 2, fault: { type: 'status', status: 503 } });
    expect((await store.searchImages(axis(3), 5)).map((c) => c.target)).toEqual([{ kind: 'page', documentId: doc.document.id, pageNumber: 1 }]);
    fake.inject({ when: (r) => r.operation === 'scroll_points', times: 1, fault: { type: 'hang' } });
    expect(await store.getDocument(doc.document.id)).toEqual(doc.document);
    expect(fake.requests.filter((r) => r.operation === 'scroll_points' && r.status === 0)).toHaveLength(1);
  });

  it('a hanging Qdrant fails a search after one retry, while 503s get every QDRANT_MAX_RETRIES retry', async () => {
    const store = await openStore(fake, { timeoutMs: 200, maxRetries: 4 });
    await store.addDocument(newDocument({ pages: [{ text: 'hanging', image: axis(3) }] }));
    fake.clearRequests();
    fake.inject({ when: (r) => r.operation === 'query_points', fault: { type: 'hang' } });
    const started = Date.now();
    const error = (await store.searchImages(axis(3), 5).catch((e: unknown) => e)) as Error & { code: string };
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ code: 'QDRANT_UNAVAILABLE', category: 'UNAVAILABLE', details: { operation: 'query_points', attempts: 2 } });
    expect(error.message).toMatch(/no answer within 200 ms.*retried only once.*gave up after 2 attempts/);
    expect(fake.requests.filter((r) => r.operation === 'query_points')).toHaveLength(2);
    // Two timeouts and one short backoff, not five timeouts.
    expect(elapsed).toBeLessThan(5 * 200);

    fake.clearFaults();
    fake.clearRequests();
    fake.inject({ when: (r) => r.operation === 'query_points', fault: { type: 'status', status: 503 } });
    await expect(store.searchImages(axis(3), 5)).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE', details: { operation: 'query_points', status: 503, attempts: 5 } });
    expect(fake.requests.filter((r) => r.operation === 'query_points').map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);

    // A timeout among other failures still counts once: 503, hang, 503, then the second hang ends it.
    fake.clearFaults();
    fake.clearRequests();
    let n = 0;
    fake.inject({ when: (r) => r.operation === 'query_points' && ++n % 2 === 1, fault: { type: 'status', status: 503 } });
    fake.inject({ when: (r) => r.operation === 'query_points', fault: { type: 'hang' } });
    await expect(store.searchImages(axis(3), 5)).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE', details: { attempts: 4 } });
    expect(fake.requests.filter((r) => r.operation === 'query_points').map((r) => r.status)).toEqual([503, 0, 503, 0]);
  });

  it('errors say what failed: operation, collection, URL and status', async () => {
    const store = await openStore(fake);
    fake.inject({ when: (r) => r.operation === 'count_points', times: 1, fault: { type: 'status', status: 400, message: 'Wrong input: something odd' } });
    const error = (await store.countPages().catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('QDRANT_REQUEST_REJECTED');
    expect(error.message).toContain('count_points');
    expect(error.message).toContain(store.collection);
    expect(error.message).toContain(fake.url);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('Wrong input: something odd');
    fake.inject({ when: (r) => r.operation === 'count_points', fault: { type: 'status', status: 500 } });
    await expect(store.countPages()).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE', details: { status: 500, operation: 'count_points', attempts: 5 } });
  });

  it('Qdrant going away in the middle of an add: the add fails, nothing is visible, and a rerun completes it', async () => {
    const store = await openStore(fake, { upsertBatchSize: 8, maxRetries: 1 });
    const doc = newDocument({ blobKey: 'blobs/big.pdf', pages: pageSpecs(5, 6, 'wombat') });
    let upserts = 0;
    fake.inject({ when: (r) => r.operation === 'upsert_points' && ++upserts > 3, fault: { type: 'drop' } });
    await expect(store.addDocument(doc)).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE', details: { operation: 'upsert_points' } });
    const leftovers = fake.engine.allPoints(store.collection).filter((p) => p.payload.document_id === doc.document.id);
    expect(leftovers.length).toBeGreaterThan(0); // it did fail half-way
    fake.clearFaults();

    expect(await store.getDocument(doc.document.id)).toBeNull();
    expect(await store.findDocumentByHash(doc.document.contentHash)).toBeNull();
    expect(await store.getPages(doc.document.id)).toEqual([]);
    expect(await store.countPages()).toBe(0);
    expect((await store.listDocuments({ first: 5 })).totalCount).toBe(0);
    expect(await store.searchLexical('wombat', 5)).toEqual([]);
    expect(await store.searchChunks(axis(1, 10, 0.1), 5)).toEqual([]);
    expect(await store.searchImages(axis(1), 5)).toEqual([]);
    expect(await store.searchIdentifiers(['ZX-100'], 5)).toEqual([]);
    expect(await store.searchSignals({ text: { vector: axis(1), words: 'wombat', identifiers: ['ZX-100'] }, image: { vector: axis(1), hash: '00ff00ff00ff00ff', maxHashDistance: 6 } }, 5)).toEqual(NO_SIGNALS);
    // Its blob is still referenced (by the unfinished add), so nothing deletes the file under it.
    expect(await store.isBlobReferenced('blobs/big.pdf')).toBe(true);

    // The rerun of the ingest comes with a new document id (ingest makes one per attempt).
    const rerun = newDocument({ blobKey: 'blobs/big.pdf', hash: doc.document.contentHash, pages: pageSpecs(5, 6, 'wombat') });
    expect((await store.addDocument(rerun)).created).toBe(true);
    expect(await store.getPages(rerun.document.id)).toHaveLength(5);
    expect((await store.searchLexical('wombat', 10)).length).toBe(5);
    const points = fake.engine.allPoints(store.collection).filter((p) => p.payload.tenant === 'default');
    expect(points).toHaveLength(1 + 5 + 30); // no leftovers of the first attempt
    expect(points.every((p) => p.payload.committed === true && p.payload.document_id === rerun.document.id)).toBe(true);
    expect(await store.findDocumentByHash(doc.document.contentHash)).toEqual(rerun.document);
  });

  it('a rerun with the same document id (a resumed migration) completes the add too', async () => {
    const store = await openStore(fake, { upsertBatchSize: 4, maxRetries: 0 });
    const doc = newDocument({ pages: pageSpecs(3, 3, 'quokka') });
    let upserts = 0;
    fake.inject({ when: (r) => r.operation === 'upsert_points' && ++upserts > 2, fault: { type: 'drop' } });
    await expect(store.addDocument(doc)).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE' });
    fake.clearFaults();
    expect(await store.getDocument(doc.document.id)).toBeNull();
    expect((await store.addDocument(doc)).created).toBe(true);
    expect(await store.countPages()).toBe(3);
    expect(fake.engine.allPoints(store.collection).filter((p) => p.payload.document_id === doc.document.id)).toHaveLength(1 + 3 + 9);
  });

  it('a commit whose answer is lost is sent again and the add succeeds (writes are idempotent)', async () => {
    const store = await openStore(fake);
    fake.inject({ when: (r) => r.operation === 'set_payload', times: 1, fault: { type: 'drop', applied: true } });
    const doc = newDocument({ pages: [{ text: 'lost answer', chunks: [{ text: 'c', vector: axis(4) }] }] });
    expect((await store.addDocument(doc)).created).toBe(true);
    expect(fake.requests.filter((r) => r.operation === 'set_payload')).toHaveLength(2);
    expect(await store.getDocument(doc.document.id)).toEqual(doc.document);
  });

  it('a delete interrupted half-way leaves the document invisible, and the file can be added again', async () => {
    const store = await openStore(fake, { maxRetries: 0 });
    const doc = newDocument({ pages: [{ text: 'to be deleted', image: axis(2) }] });
    await store.addDocument(doc);
    fake.inject({ when: (r) => r.operation === 'delete_points', times: 1, fault: { type: 'drop' } });
    await expect(store.deleteDocument(doc.document.id)).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE' });
    expect(await store.getDocument(doc.document.id)).toBeNull();
    expect(await store.searchImages(axis(2), 5)).toEqual([]);
    const again = newDocument({ hash: doc.document.contentHash, pages: [{ text: 'to be deleted', image: axis(2) }] });
    expect((await store.addDocument(again)).created).toBe(true);
    expect(fake.engine.allPoints(store.collection).filter((p) => p.payload.tenant === 'default')).toHaveLength(2);
  });

  it('two replicas adding the same file at once end with one document and no stray points', async () => {
    const a = await openStore(fake);
    const b = new QdrantKnowledgeStore({ ...options(fake), collectionPrefix: a.collection.replace(/points$/, '') });
    await b.init();
    const one = newDocument({ hash: 'shared-file', pages: pageSpecs(2, 2, 'race') });
    const two = newDocument({ hash: 'shared-file', pages: pageSpecs(2, 2, 'race') });
    const results = await Promise.allSettled([a.addDocument(one), b.addDocument(two)]);
    const created = results.filter((r) => r.status === 'fulfilled' && r.value.created);
    expect(created).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'UNAVAILABLE' });
    const listed = await a.listDocuments({ first: 5 });
    expect(listed.totalCount).toBe(1);
    const winner = listed.items[0]!.id;
    expect(await a.countPages()).toBe(2);
    const points = fake.engine.allPoints(a.collection).filter((p) => p.payload.tenant === 'default');
    expect(points.every((p) => p.payload.document_id === winner)).toBe(true);
  });

  it('a writer whose unfinished add is taken over withdraws its points and answers with the winner', async () => {
    const slow = await openStore(fake);
    const fast = new QdrantKnowledgeStore({ ...options(fake), collectionPrefix: slow.collection.replace(/points$/, '') });
    await fast.init();
    const first = newDocument({ hash: 'contended', pages: pageSpecs(2, 2, 'takeover') });
    const second = newDocument({ hash: 'contended', pages: pageSpecs(2, 2, 'takeover') });
    // The slow writer's page batch is held back while the fast writer adds the same file.
    fake.inject({ when: (r) => r.operation === 'upsert_points' && JSON.stringify(r.body).includes(`"document_id":"${first.document.id}","kind"`) && JSON.stringify(r.body).includes('"type":"page"'), times: 1, fault: { type: 'delay', ms: 300 } });
    const slowAdd = slow.addDocument(first);
    await new Promise((r) => setTimeout(r, 100));
    expect((await fast.addDocument(second)).created).toBe(true);
    expect(await slowAdd).toEqual({ document: second.document, created: false });
    expect(await slow.getDocument(first.document.id)).toBeNull();
    // It never made its pages visible: no commit was sent for it.
    expect(fake.requests.filter((r) => r.operation === 'set_payload' && JSON.stringify(r.body).includes(first.document.id))).toEqual([]);
    const points = fake.engine.allPoints(slow.collection).filter((p) => p.payload.tenant === 'default');
    expect(points).toHaveLength(1 + 2 + 4);
    expect(points.every((p) => p.payload.document_id === second.document.id && p.payload.committed === true)).toBe(true);
  });

  it('a collection created earlier with another vector size stops start-up, naming both sizes and the fix', async () => {
    const small = await openStore(fake, { dim: 16 });
    const prefix = small.collection.replace(/points$/, '');
    const error = (await new QdrantKnowledgeStore({ ...options(fake), collectionPrefix: prefix })
      .init()
      .catch((e: unknown) => e)) as Error & { code: string; category: string };
    expect(error).toMatchObject({ code: 'VECTOR_SIZE_MISMATCH', category: 'CONFIGURATION', details: { storedDim: 16, configuredDim: CONTRACT_DIM } });
    expect(error.message).toContain('16-dimensional');
    expect(error.message).toContain(`${CONTRACT_DIM}-dimensional`);
    expect(error.message).toContain('QDRANT_COLLECTION_PREFIX');
    expect(error.message).toContain(small.collection);
  });

  it('a collection built with another model of the same size stops start-up', async () => {
    const first = await openStore(fake, { modelId: 'clip-a' });
    await expect(new QdrantKnowledgeStore({ ...options(fake), collectionPrefix: first.collection.replace(/points$/, ''), modelId: 'clip-b' }).init()).rejects.toMatchObject({
      code: 'MODEL_MISMATCH',
      message: expect.stringContaining('"clip-a"'),
    });
  });

  it('a collection this program did not make is refused with what is wrong with it', async () => {
    fake.engine.createCollection('foreign_points', { vectors: { size: CONTRACT_DIM, distance: 'Cosine' } });
    await expect(new QdrantKnowledgeStore({ ...options(fake), collectionPrefix: 'foreign_' }).init()).rejects.toMatchObject({
      code: 'QDRANT_COLLECTION_MISMATCH',
      message: expect.stringContaining('single unnamed vector'),
    });
  });

  it('sends the API key, and a wrong key is a configuration error that names QDRANT_API_KEY', async () => {
    const secured = await startFakeQdrant({ apiKey: 's3cret' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const ok = new QdrantKnowledgeStore({ ...options(secured), apiKey: 's3cret' });
      await ok.init();
      expect(secured.requests.every((r) => r.headers['api-key'] === 's3cret')).toBe(true);
      // Not the client library's plain-text 'Api key is used with unsecure connection.' per client.
      expect(warn).not.toHaveBeenCalled();
      await expect(new QdrantKnowledgeStore({ ...options(secured), apiKey: 'wrong' }).init()).rejects.toMatchObject({
        code: 'QDRANT_UNAUTHORIZED',
        category: 'CONFIGURATION',
        message: expect.stringContaining('QDRANT_API_KEY'),
      });
    } finally {
      warn.mockRestore();
      await secured.close();
    }
  });
});

describe('Qdrant store: configuration checked without I/O', () => {
  it('refuses bad settings in the constructor', () => {
    const base = { url: 'http://127.0.0.1:6333', collectionPrefix: 'fs_', dim: 32, modelId: 'm' };
    expect(() => new QdrantKnowledgeStore({ ...base, url: 'qdrant:6333' })).toThrow(/QDRANT_URL/);
    expect(() => new QdrantKnowledgeStore({ ...base, url: 'http://user:pw@host:6333' })).toThrow(/credentials/);
    expect(() => new QdrantKnowledgeStore({ ...base, collectionPrefix: 'a/b' })).toThrow(/QDRANT_COLLECTION_PREFIX/);
    expect(() => new QdrantKnowledgeStore({ ...base, tenant: '_system' })).toThrow(/tenant/);
    expect(() => new QdrantKnowledgeStore({ ...base, dim: 0 })).toThrow(/embedding size/);
    expect(new QdrantKnowledgeStore(base).collection).toBe('fs_points');
  });
});
