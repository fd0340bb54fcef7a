/**
 * Retention of query artefacts, and a polyglot upload (a valid JPEG that is also valid HTML).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteIdentifyStore } from '../../src/identify/sqlite-identify-store.js';
import { jpeg } from '../helpers/images.js';
import { gqlUpload, startTestServer } from '../helpers/server.js';

describe('retention', () => {
  it('deletes old identifications unless feedback or an open review item still needs them', async () => {
    const store = new SqliteIdentifyStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'retention-')), 'identify.db'));
    await store.init();
    const old = '2020-01-01T00:00:00.000Z';
    const base = { photoId: null, imageVector: new Float32Array([1, 0]), candidates: [], confident: false };
    for (const id of ['plain', 'confirmed', 'in-review', 'recent']) await store.addIdentification({ ...base, id, createdAt: id === 'recent' ? new Date().toISOString() : old });
    await store.addFeedback({ id: 'f1', label: 'valve', photoId: null, identificationId: 'confirmed', imageVector: new Float32Array([1, 0]), givenBy: 'anna', createdAt: old, undoneAt: null });
    await store.addReviewItem({ id: 'r1', kind: 'IDENTIFICATION', status: 'OPEN', identificationId: 'in-review', photoId: null, reason: 'unsure', createdAt: old, claimedBy: null, claimedAt: null, resolvedBy: null, resolvedAt: null, resolutionLabel: null, resolutionNote: null, feedbackId: null });
    expect(await store.deleteIdentificationsBefore(new Date(Date.now() - 86_400_000).toISOString())).toBe(1);
    expect(await store.getIdentification('plain')).toBeNull();
    for (const id of ['confirmed', 'in-review', 'recent']) expect(await store.getIdentification(id)).not.toBeNull();
    await store.close();
  });
});

describe('a polyglot upload (valid JPEG and valid HTML)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let polyglot: Buffer;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false' });
    polyglot = Buffer.concat([await jpeg(120, 90), Buffer.from('<html><body><script>alert(document.cookie)</script></body></html>')]);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is stored and served as an image only, never as a page that could run script', async () => {
    const res = await gqlUpload<{ ingestPhoto: { url: string } }>(server.url, 'mutation($file: Upload!) { ingestPhoto(file: $file) { url } }', { file: { bytes: polyglot, name: 'x.html', type: 'text/html' } });
    expect(res.errors).toBeUndefined();
    const file = await fetch(`${server.url}${res.data!.ingestPhoto.url}`);
    expect(file.headers.get('content-type')).toBe('image/jpeg');
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(file.headers.get('content-security-policy')).toContain('sandbox');
  });

  it('as a document it is read by its bytes (an image of a page), not by its name or declared type', async () => {
    const res = await gqlUpload<{ ingestDocument: { kind: string } }>(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { kind } }', { file: { bytes: polyglot, name: 'page.html', type: 'text/html' } });
    expect(res.data!.ingestDocument.kind).toBe('IMAGE');
  });
});
