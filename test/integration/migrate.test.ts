/**
 * `fieldscope migrate --to qdrant`: a real SQLite knowledge base copied into the fake Qdrant
 * (every request schema-checked), then read back through the Qdrant store and compared with the
 * SQLite store; interrupted and resumed; rerun when complete; refused when it cannot run.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { runMigrateCommand } from '../../src/cli/migrate.js';
import { sqliteFile } from '../../src/store/create-store.js';
import { QdrantKnowledgeStore } from '../../src/store/qdrant/qdrant-knowledge-store.js';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import { axis, CONTRACT_DIM, CONTRACT_MODEL_ID, newDocument, newPhoto, type PageSpec } from '../contract/knowledge-store.contract.js';
import { describeWithQdrantSchema, startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { capture } from '../helpers/capture.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

describeWithQdrantSchema('fieldscope migrate --to qdrant', () => {
  let fake: FakeQdrant;
  let dataDir: string;
  let sqlite: SqliteKnowledgeStore;
  const documentIds: string[] = [];
  const photoIds: string[] = [];

  beforeEach(async () => {
    fake = await startFakeQdrant();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-migrate-'));
    tempDirs.push(dataDir);
    sqlite = new SqliteKnowledgeStore({ file: sqliteFile(dataDir), dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID });
    await sqlite.init();
    documentIds.length = 0;
    photoIds.length = 0;
    for (let d = 0; d < 6; d++) {
      const pages: PageSpec[] = Array.from({ length: 3 }, (_, p) => ({
        text: `Document ${d} page ${p}: replace the seal kit ${d}${p}-B on pump P-${d}00${p === 2 ? ' with the wombatword tool' : ''}.`,
        image: p === 1 ? null : axis(d * 3 + p, d + 1, 0.3),
        thumbnailKey: p === 1 ? null : undefined,
        // A scanned page read by OCR keeps saying so in Qdrant.
        ...(p === 1 ? { textSource: 'ocr' as const } : {}),
        chunks: [
          { text: `seal kit ${d}${p}`, vector: axis(d * 3 + p + 1, d, 0.2) },
          { text: `pump P-${d}00`, vector: axis(d * 3 + p + 2, d + 2, 0.4) },
        ],
        identifiers: [`P-${d}00`, `${d}${p}-B`],
      }));
      const doc = newDocument({ kind: d % 2 === 0 ? 'pdf' : 'markdown', metadata: { site: d % 2 === 0 ? 'north' : 'south', line: d, nested: { a: [d] } }, createdAt: new Date(Date.UTC(2024, 0, 1 + d)).toISOString(), pages });
      await sqlite.addDocument(doc);
      documentIds.push(doc.document.id);
    }
    for (let i = 0; i < 3; i++) {
      const photo = newPhoto({ caption: i === 1 ? null : `corroded flange ${i} okapiword`, vector: axis(20 + i), chunks: i === 1 ? [] : [{ text: `corroded flange ${i}`, vector: axis(25 + i) }], identifiers: [`FL-${i}`], metadata: { site: 'north' },
        // What was read on a photo travels with it.
        readText: i === 2 ? { text: 'FLANGE FL-2', identifiers: ['FL-2'], regions: [{ text: 'FLANGE FL-2', confidence: 0.97, box: [0.1, 0.2, 0.5, 0.1] }], codes: [{ format: 'QR_CODE', value: 'FL-2' }] } : null });
      await sqlite.addPhoto(photo);
      photoIds.push(photo.photo.id);
    }
  });
  afterEach(async () => {
    await sqlite.close();
    expect(fake.schemaErrors).toEqual([]);
    expect(fake.responseErrors).toEqual([]);
    await fake.close();
  });

  /** Payloads of the points the fake holds (the `_system` meta point excepted). */
  function storedPayloads(): Record<string, unknown>[] {
    return [...fake.engine.collections.values()].flatMap((c) => [...c.points.values()].map((p) => p.payload)).filter((p) => p.tenant !== '_system');
  }

  async function migrate(extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = capture();
    const stderr = capture();
    const code = await runMigrateCommand(['--to', 'qdrant', '--qdrant-url', fake.url, '--collection-prefix', 'mig_', ...extra], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      env: { DATA_DIR: dataDir, QDRANT_TIMEOUT_MS: '2000' },
    });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  async function qdrantStore(): Promise<QdrantKnowledgeStore> {
    const store = new QdrantKnowledgeStore({ url: fake.url, collectionPrefix: 'mig_', dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID });
    await store.init();
    return store;
  }

  it('copies every document, page, chunk and photo, verifies the counts, and Qdrant then answers like SQLite', async () => {
    const run = await migrate();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Copying 6 documents (18 pages, 38 chunks) and 3 photos');
    expect(run.stdout.match(/^copied {3}document /gm)).toHaveLength(6);
    expect(run.stdout.match(/^copied {3}photo /gm)).toHaveLength(3);
    expect(run.stdout).toContain('9 copied, 0 already in Qdrant, 0 failed');
    expect(run.stdout).toContain('Verified: Qdrant holds the same documents 6, pages 18, chunks 38, photos 3 as the SQLite store.');

    const qdrant = await qdrantStore();
    expect(await qdrant.listDocuments({ first: 10 })).toEqual(await sqlite.listDocuments({ first: 10 }));
    for (const id of documentIds) {
      expect(await qdrant.getDocument(id)).toEqual(await sqlite.getDocument(id));
      expect(await qdrant.getPages(id)).toEqual(await sqlite.getPages(id));
    }
    for (const id of photoIds) expect(await qdrant.getPhoto(id)).toEqual(await sqlite.getPhoto(id));
    expect((await qdrant.getPhoto(photoIds[2]!))?.readText?.identifiers).toEqual(['FL-2']);
    expect((await qdrant.getPages(documentIds[0]!)).map((p) => p.textSource)).toEqual(['file', 'ocr', 'file']);
    expect(await qdrant.isBlobReferenced(`thumbs/${documentIds[0]}/1.png`)).toBe(true);

    // Same answers per signal: every target with its score (whole lists, so ties cannot reorder a cut-off).
    const targets = (hits: { target: unknown }[]) => hits.map((h) => JSON.stringify(h.target));
    const scored = (hits: { target: unknown; score: number }[]) => hits.map((h) => `${h.score.toFixed(4)} ${JSON.stringify(h.target)}`).sort();
    for (let i = 0; i < 24; i += 3) {
      const q = axis(i, i + 3, 0.25);
      expect(scored(await qdrant.searchChunks(q, 50))).toEqual(scored(await sqlite.searchChunks(q, 50)));
      expect(scored(await qdrant.searchImages(q, 50))).toEqual(scored(await sqlite.searchImages(q, 50)));
    }
    const [best] = await qdrant.searchChunks(axis(4, 1, 0.2), 1);
    const [expected] = await sqlite.searchChunks(axis(4, 1, 0.2), 1);
    expect(best).toMatchObject({ target: expected!.target, matchedText: expected!.matchedText });
    expect(best!.score).toBeCloseTo(expected!.score, 5);
    expect(targets(await qdrant.searchIdentifiers(['p300', '31-b'], 3)).slice(0, 1)).toEqual(targets(await sqlite.searchIdentifiers(['p300', '31-b'], 3)).slice(0, 1));
    expect(targets(await qdrant.searchLexical('wombatword', 10)).sort()).toEqual(targets(await sqlite.searchLexical('wombatword', 10)).sort());
    expect(targets(await qdrant.searchLexical('okapiword', 10)).sort()).toEqual(targets(await sqlite.searchLexical('okapiword', 10)).sort());
    expect(targets(await qdrant.searchChunks(axis(1), 20, { metadata: { site: 'south' } })).sort()).toEqual(targets(await sqlite.searchChunks(axis(1), 20, { metadata: { site: 'south' } })).sort());
  });

  it('an interrupted run stops with how to resume; the next run copies the rest and skips what is there', async () => {
    let upserts = 0;
    fake.inject({ when: (r) => r.operation === 'upsert_points' && r.collection === 'mig_points' && ++upserts > 8, fault: { type: 'drop' } });
    const first = await migrate();
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('Qdrant stopped answering');
    expect(first.stderr).toContain('again to resume');
    expect(first.stdout).toMatch(/^failed {3}document .*QDRANT_UNAVAILABLE/m);
    const copiedBefore = (first.stdout.match(/^copied /gm) ?? []).length;
    expect(copiedBefore).toBeGreaterThan(0);
    expect(copiedBefore).toBeLessThan(9);

    fake.clearFaults();
    const second = await migrate();
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`${9 - copiedBefore} copied, ${copiedBefore} already in Qdrant, 0 failed`);
    expect(second.stdout).toContain('Verified');

    const third = await migrate();
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('0 copied, 9 already in Qdrant, 0 failed');
    const qdrant = await qdrantStore();
    expect(await qdrant.stats()).toEqual({ documents: 6, pages: 18, chunks: 38, photos: 3 });
  });

  it('--tenant acme copies DATA_DIR/tenants/acme, and only it, into Qdrant under the tenant "acme"', async () => {
    const acmeDir = path.join(dataDir, 'tenants', 'acme');
    mkdirSync(acmeDir, { recursive: true });
    const acmeSqlite = new SqliteKnowledgeStore({ file: sqliteFile(acmeDir), dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID });
    await acmeSqlite.init();
    const doc = newDocument({ title: 'Acme compressor guide', pages: [{ text: 'Acme separator element 8812-X', image: axis(40), chunks: [{ text: 'separator element 8812-X', vector: axis(41) }], identifiers: ['8812-X'] }] });
    const photo = newPhoto({ caption: 'acme skid', vector: axis(42), chunks: [{ text: 'acme skid', vector: axis(43) }] });
    try {
      await acmeSqlite.addDocument(doc);
      await acmeSqlite.addPhoto(photo);
    } finally {
      await acmeSqlite.close();
    }

    const run = await migrate(['--tenant', 'acme']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Copying 1 documents (1 pages, 2 chunks) and 1 photos');
    expect(run.stdout).toContain('tenant acme');
    expect(run.stdout).toContain('2 copied, 0 already in Qdrant, 0 failed');

    // Every point is acme's: the document's record, page and chunk, the photo and its caption chunk.
    const payloads = storedPayloads();
    const ofDoc = payloads.filter((p) => p.document_id === doc.document.id);
    const ofPhoto = payloads.filter((p) => p.photo_id === photo.photo.id);
    expect(new Set(ofDoc.map((p) => p.type))).toEqual(new Set(['document', 'page', 'chunk']));
    expect(new Set(ofPhoto.map((p) => p.type))).toEqual(new Set(['photo', 'chunk']));
    expect(ofDoc.length + ofPhoto.length).toBe(payloads.length);
    expect(new Set(payloads.map((p) => p.tenant))).toEqual(new Set(['acme']));
    // None of the default tenant's records (the root DATA_DIR database) came along.
    for (const id of documentIds) expect(payloads.some((p) => p.document_id === id)).toBe(false);

    // Read back as the server would: acme's view has them, the default tenant's does not.
    const acme = (await qdrantStore()).forTenant('acme');
    expect(await acme.getDocument(doc.document.id)).toMatchObject({ id: doc.document.id, title: 'Acme compressor guide' });
    expect(await acme.getPhoto(photo.photo.id)).toMatchObject({ id: photo.photo.id, caption: 'acme skid' });
    expect(await acme.stats()).toEqual({ documents: 1, pages: 1, chunks: 2, photos: 1 });
    expect(await (await qdrantStore()).getDocument(doc.document.id)).toBeNull();
  });

  it('creates the collection with the QDRANT_* settings the server reads (QDRANT_QUANTIZATION, QDRANT_MAX_RETRIES)', async () => {
    // Migrating first creates the collection, and QDRANT_QUANTIZATION only acts at creation: the
    // migration must honour it, or the servers started afterwards with int8 silently get none.
    const stderr = capture();
    const env = { DATA_DIR: dataDir, VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, QDRANT_COLLECTION_PREFIX: 'quant_', QDRANT_QUANTIZATION: 'int8', QDRANT_MAX_RETRIES: '1', QDRANT_TIMEOUT_MS: '2000' };
    expect(await runMigrateCommand(['--to', 'qdrant'], { stdout: capture().stream, stderr: stderr.stream, env })).toBe(0);
    expect(stderr.text()).toBe('');
    expect((fake.engine.collections.get('quant_points')!.config.raw as { quantization_config?: unknown }).quantization_config).toEqual({ scalar: { type: 'int8', always_ram: true } });

    fake.inject({ when: (r) => r.operation === 'scroll_points', fault: { type: 'status', status: 503 } });
    fake.clearRequests();
    const down = capture();
    expect(await runMigrateCommand(['--to', 'qdrant'], { stdout: capture().stream, stderr: down.stream, env })).toBe(1);
    fake.clearFaults();
    expect(down.text()).toContain('gave up after 2 attempts');
  });

  it('refuses to run without a target, a Qdrant, or a matching collection', async () => {
    const noTarget = capture();
    expect(await runMigrateCommand([], { stdout: capture().stream, stderr: noTarget.stream, env: { DATA_DIR: dataDir } })).toBe(2);
    expect(noTarget.text()).toContain('--to qdrant');
    expect(await runMigrateCommand(['--to', 'elastic'], { stdout: capture().stream, stderr: capture().stream, env: { DATA_DIR: dataDir } })).toBe(2);
    const noUrl = capture();
    expect(await runMigrateCommand(['--to', 'qdrant'], { stdout: capture().stream, stderr: noUrl.stream, env: { DATA_DIR: dataDir } })).toBe(2);
    expect(noUrl.text()).toContain('QDRANT_URL');
    const emptyDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-migrate-empty-'));
    tempDirs.push(emptyDir);
    const missing = capture();
    expect(await runMigrateCommand(['--to', 'qdrant', '--qdrant-url', fake.url], { stdout: capture().stream, stderr: missing.stream, env: { DATA_DIR: emptyDir } })).toBe(1);
    expect(missing.text()).toContain('fieldscope.db');

    // A collection built with another model.
    const other = new QdrantKnowledgeStore({ url: fake.url, collectionPrefix: 'mig_', dim: CONTRACT_DIM, modelId: 'another-model' });
    await other.init();
    const mismatch = await migrate();
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('MODEL_MISMATCH');
  });
});
