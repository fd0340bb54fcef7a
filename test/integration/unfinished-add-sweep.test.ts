/**
 * An add on Qdrant that died half-way (a replica SIGKILLed mid-ingest) and is never repeated:
 * its records stay uncommitted (invisible) and keep its files "referenced". The blob sweep
 * (sweepOrphanBlobs, which `fieldscope blobs sweep` and BLOB_SWEEP_INTERVAL_MS run) removes such
 * adds once they were claimed more than INGEST_TIMEOUT_MS + the grace period ago, then their files
 * unless something committed refers to them. A younger unfinished add and committed documents are
 * untouched, and search never returns the unfinished pages.
 *
 * The half-written state is made the way the existing Qdrant tests make it: the connection drops
 * in the middle of the add (maxRetries 0), so the writer stops with its claim and some pages
 * written and nothing cleans up — what a killed process leaves. Real disk blob store; the Qdrant
 * double checks every request against Qdrant's OpenAPI schema. The sweep's clock is moved
 * forward instead of waiting a day.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/blob/blob-store.js';
import { sweepOrphanBlobs, type SweepItem } from '../../src/blob/orphan-sweep.js';
import { QdrantKnowledgeStore } from '../../src/store/qdrant/qdrant-knowledge-store.js';
import { axis, CONTRACT_DIM, CONTRACT_MODEL_ID, newDocument, newPhoto, type PageSpec } from '../contract/knowledge-store.contract.js';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';

const INGEST_TIMEOUT_MS = 1000;
const GRACE_MS = 1000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function pageSpecs(pages: number, word: string, thumbnailKeys: string[]): PageSpec[] {
  return Array.from({ length: pages }, (_, p) => ({
    text: `page ${p} about the ${word} impeller`,
    image: axis(p + 1),
    thumbnailKey: thumbnailKeys[p]!,
    chunks: [{ text: `the ${word} chunk of page ${p}`, vector: axis(p + 1, 10, 0.1) }],
  }));
}

describe('the blob sweep removes unfinished adds nobody repeats (Qdrant)', () => {
  let fake: FakeQdrant;
  let store: QdrantKnowledgeStore;
  let dir: string;
  let blobs: DiskBlobStore;

  beforeAll(async () => {
    fake = await startFakeQdrant();
    store = new QdrantKnowledgeStore({ url: fake.url, collectionPrefix: 'unfinished_', dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, timeoutMs: 2000, maxRetries: 0, upsertBatchSize: 2 });
    await store.init();
    dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-unfinished-'));
    blobs = new DiskBlobStore(path.join(dir, 'blobs'));
  });
  afterAll(async () => {
    expect(fake.schemaErrors).toEqual([]);
    await store?.close();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** An add whose connection drops after `upserts` successful upsert requests: it stops half-way, uncommitted. */
  async function diesHalfWay<T>(upserts: number, add: () => Promise<T>): Promise<void> {
    let seen = 0;
    fake.inject({ when: (r) => r.operation === 'upsert_points' && ++seen > upserts, fault: { type: 'drop' } });
    try {
      await expect(add()).rejects.toMatchObject({ code: 'QDRANT_UNAVAILABLE' });
    } finally {
      fake.clearFaults();
    }
  }

  const pointsOf = (field: 'document_id' | 'photo_id', id: string) => fake.engine.allPoints(store.collection).filter((p) => p.payload[field] === id);

  it('removes the old one (records, then its files) and keeps a young one, committed documents and shared files', async () => {
    // A committed document, whose page thumbnail the abandoned add shares (same bytes, same key).
    const shared = await blobs.put(Buffer.from('a page image both documents have'), 'png');
    const committed = newDocument({ blobKey: await blobs.put(Buffer.from('the committed manual'), 'pdf'), pages: pageSpecs(1, 'gearbox', [shared]) });
    expect((await store.addDocument(committed)).created).toBe(true);

    // Abandoned: claim and the first pages written, then the writer is gone.
    const oldFile = await blobs.put(Buffer.from('the abandoned manual'), 'pdf');
    const oldThumb = await blobs.put(Buffer.from('a page image of the abandoned manual only'), 'png');
    const abandoned = newDocument({ blobKey: oldFile, pages: pageSpecs(4, 'wombat', [shared, oldThumb, oldThumb, oldThumb]) });
    await diesHalfWay(2, () => store.addDocument(abandoned));
    const oldPhotoFile = await blobs.put(Buffer.from('an abandoned photo'), 'jpg');
    const abandonedPhoto = newPhoto({ blobKey: oldPhotoFile, caption: 'wombat seal', vector: axis(5), chunks: [{ text: 'wombat seal', vector: axis(6) }] });
    await diesHalfWay(1, () => store.addPhoto(abandonedPhoto));
    const cutoff = Date.now();
    await sleep(20);
    // Young: claimed after the cutoff, so within INGEST_TIMEOUT_MS + grace of the sweep's clock.
    const youngFile = await blobs.put(Buffer.from('a manual still being added'), 'pdf');
    const young = newDocument({ blobKey: youngFile, pages: pageSpecs(3, 'quokka', [shared, shared, shared]) });
    await diesHalfWay(2, () => store.addDocument(young));

    expect(pointsOf('document_id', abandoned.document.id).length).toBeGreaterThan(1); // it did die half-way
    expect(pointsOf('photo_id', abandonedPhoto.photo.id).length).toBeGreaterThan(0);
    // Never visible, and its files count as referenced until the sweep.
    expect(await store.searchLexical('wombat', 10)).toEqual([]);
    expect(await store.searchLexical('quokka', 10)).toEqual([]);
    for (const query of [axis(1, 10, 0.1), axis(2, 10, 0.1)]) {
      expect((await store.searchChunks(query, 10)).map((c) => c.target)).toEqual([{ kind: 'page', documentId: committed.document.id, pageNumber: 1 }]);
    }
    expect(await store.getDocument(abandoned.document.id)).toBeNull();
    expect(await store.isBlobReferenced(oldFile)).toBe(true);

    // The sweep's clock: INGEST_TIMEOUT_MS + grace after the cutoff (every file is past its grace too).
    const clock = cutoff + INGEST_TIMEOUT_MS + GRACE_MS;
    const run = (dryRun: boolean) => {
      const items: SweepItem[] = [];
      const summary = sweepOrphanBlobs({
        blobs,
        isReferenced: (key) => store.isBlobReferenced(key),
        graceMs: GRACE_MS,
        ingestTimeoutMs: INGEST_TIMEOUT_MS,
        removeUnfinished: (o) => store.removeUnfinishedAdds({ ...o, now: clock }),
        dryRun,
        now: () => clock,
        onItem: (item) => items.push(item),
      });
      return summary.then((s) => ({ summary: s, items }));
    };

    // --dry-run lists the two old adds and removes nothing.
    const dry = await run(true);
    expect(dry.items.filter((i) => i.outcome === 'would-remove-unfinished').map((i) => i.key).sort()).toEqual([`document ${abandoned.document.id}`, `photo ${abandonedPhoto.photo.id}`].sort());
    expect(dry.summary.unfinished).toBe(2);
    expect(pointsOf('document_id', abandoned.document.id).length).toBeGreaterThan(1);
    for (const key of [oldFile, oldThumb, oldPhotoFile]) expect(await blobs.has(key)).toBe(true);

    const done = await run(false);
    expect(done.summary).toMatchObject({ unfinished: 2, orphans: 3, failed: 0 });
    expect(done.items.filter((i) => i.outcome === 'deleted').map((i) => i.key).sort()).toEqual([oldFile, oldThumb, oldPhotoFile].sort());
    // The old adds' records are gone, then their files; the file a committed page shares stays.
    expect(pointsOf('document_id', abandoned.document.id)).toEqual([]);
    expect(pointsOf('photo_id', abandonedPhoto.photo.id)).toEqual([]);
    for (const key of [oldFile, oldThumb, oldPhotoFile]) expect(await blobs.has(key)).toBe(false);
    expect(await blobs.has(shared)).toBe(true);
    // The young add is untouched (records and file), and a rerun of its file still takes it over.
    expect(pointsOf('document_id', young.document.id).length).toBeGreaterThan(1);
    expect(await blobs.has(youngFile)).toBe(true);
    // The committed document is untouched.
    expect(await store.getDocument(committed.document.id)).toEqual(committed.document);
    expect(await store.getPages(committed.document.id)).toHaveLength(1);
    expect(await blobs.has(committed.document.blobKey)).toBe(true);
    expect((await store.searchLexical('gearbox', 10)).map((c) => c.target)).toEqual([{ kind: 'page', documentId: committed.document.id, pageNumber: 1 }]);
    expect(await store.searchLexical('wombat', 10)).toEqual([]);

    const rerun = newDocument({ blobKey: youngFile, hash: young.document.contentHash, pages: pageSpecs(3, 'quokka', [shared, shared, shared]) });
    expect((await store.addDocument(rerun)).created).toBe(true);
    expect(pointsOf('document_id', young.document.id)).toEqual([]);
    expect(await store.getPages(rerun.document.id)).toHaveLength(3);
  }, 60_000);

  it('an unfinished add written before claims were dated is dated by the first sweep and removed by a later one', async () => {
    const file = await blobs.put(Buffer.from('left by an older version'), 'pdf');
    const legacy = newDocument({ blobKey: file, pages: pageSpecs(3, 'platypus', [file, file, file]) });
    await diesHalfWay(2, () => store.addDocument(legacy));
    // The claim as an older version wrote it: the same point without `claimed_ms`.
    const claim = pointsOf('document_id', legacy.document.id).find((p) => p.payload.type === 'document')!;
    expect(typeof claim.payload.claimed_ms).toBe('number');
    const { claimed_ms: _dated, ...payload } = claim.payload;
    await new QdrantClient({ url: fake.url, checkCompatibility: false }).upsert(store.collection, { wait: true, points: [{ id: claim.id, vector: {}, payload }] });

    const first = Date.now() + 10 * (INGEST_TIMEOUT_MS + GRACE_MS);
    expect(await store.removeUnfinishedAdds({ olderThanMs: INGEST_TIMEOUT_MS + GRACE_MS, now: first })).toEqual([]);
    expect(pointsOf('document_id', legacy.document.id).length).toBeGreaterThan(1);
    const later = first + INGEST_TIMEOUT_MS + GRACE_MS + 1;
    expect(await store.removeUnfinishedAdds({ olderThanMs: INGEST_TIMEOUT_MS + GRACE_MS, now: later })).toEqual([
      { type: 'document', id: legacy.document.id, claimedAt: new Date(first).toISOString(), blobKeys: [file] },
    ]);
    expect(pointsOf('document_id', legacy.document.id)).toEqual([]);
  }, 60_000);
});
