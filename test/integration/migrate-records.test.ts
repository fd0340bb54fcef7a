/**
 * The record, audit and file steps of `fieldscope migrate` (src/migrate/) over the ports, with real
 * SQLite files and real folders on both sides: everything copied keeps its ids, numbers, times and
 * states; a rerun copies nothing and verifies everything; an interrupted run is resumed; a record
 * that differs in the target or a damaged file is reported, never hidden. (The same steps into
 * Postgres and S3 run in the CLI tests against real servers: migrate-to-postgres, migrate-to-scale.)
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewAuditEntry } from '../../src/audit/audit-store.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { DiskBlobStore } from '../../src/blob/blob-store.js';
import { UnavailableError } from '../../src/errors.js';
import type { FeedbackRecord, IdentificationRecord, IdentifyStore, ReviewItemRecord } from '../../src/identify/identify-store.js';
import { SqliteIdentifyStore } from '../../src/identify/sqlite-identify-store.js';
import { copyAuditLog } from '../../src/migrate/copy-audit.js';
import { copyBlobs } from '../../src/migrate/copy-blobs.js';
import { copyIdentifyRecords } from '../../src/migrate/copy-identify-records.js';
import { isVerified, MigrationStopped, type MigrationEvents, type Tally } from '../../src/migrate/tally.js';

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'fieldscope-migrate-records-'));
const toClose: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
});

async function identifyStore(): Promise<SqliteIdentifyStore> {
  const store = new SqliteIdentifyStore(path.join(dir(), 'identify.db'));
  await store.init();
  toClose.push(store);
  return store;
}

function events(): MigrationEvents & { lines: string[] } {
  const lines: string[] = [];
  return { lines, line: (text) => void lines.push(text) };
}

const byKind = (tallies: Tally[]) => Object.fromEntries(tallies.map((t) => [t.kind, { expected: t.expected, copied: t.copied, skipped: t.skipped, failed: t.failed, verified: t.verified }]));

const vector = (seed: number) => Float32Array.from({ length: 8 }, (_, i) => Math.sin(seed + i));
const identification = (n: number): IdentificationRecord => ({ id: `idf-${n}`, photoId: n % 2 ? `photo-${n}` : null, imageVector: vector(n), candidates: [{ label: 'pump seal', score: 0.61 }, { label: 'impeller', score: 0.2 }], confident: n % 2 === 0, createdAt: `2026-11-0${n}T10:00:00.000Z` });
const feedback = (n: number, undone: boolean): FeedbackRecord => ({ id: `fb-${n}`, label: 'pump seal', photoId: null, identificationId: `idf-${n}`, imageVector: vector(n), givenBy: 'tech-1', createdAt: `2026-11-0${n}T11:00:00.000Z`, undoneAt: undone ? '2026-11-09T00:00:00.000Z' : null });
const review = (n: number, status: ReviewItemRecord['status']): ReviewItemRecord => ({
  id: `rv-${n}`, kind: 'IDENTIFICATION', status, identificationId: `idf-${n}`, photoId: null, reason: 'low confidence', createdAt: `2026-11-0${n}T12:00:00.000Z`,
  claimedBy: status === 'OPEN' ? null : 'agent-1', claimedAt: status === 'OPEN' ? null : '2026-11-09T01:00:00.000Z',
  resolvedBy: status === 'RESOLVED' ? 'agent-1' : null, resolvedAt: status === 'RESOLVED' ? '2026-11-09T02:00:00.000Z' : null,
  resolutionLabel: status === 'RESOLVED' ? 'impeller' : null, resolutionNote: status === 'RESOLVED' ? 'checked the part number' : null, feedbackId: null,
});

async function filledSource(): Promise<SqliteIdentifyStore> {
  const source = await identifyStore();
  for (const n of [1, 2, 3, 4]) await source.addIdentification(identification(n));
  await source.addFeedback(feedback(1, false));
  await source.addFeedback(feedback(2, true));
  await source.addReviewItem(review(1, 'OPEN'));
  await source.addReviewItem(review(2, 'CLAIMED'));
  await source.addReviewItem(review(3, 'RESOLVED'));
  await source.putPhotoHash({ photoId: 'photo-1', hash: 'a5c3f00f3c5a9966', duplicateOf: null });
  await source.putPhotoHash({ photoId: 'photo-3', hash: 'a5c3f00f3c5a9967', duplicateOf: 'photo-1' });
  return source;
}

describe('identify records', () => {
  it('copies every kind with its ids, times and states, then a rerun copies nothing and verifies all', async () => {
    const source = await filledSource();
    const target = await identifyStore();
    const first = await copyIdentifyRecords(source, target, events());
    expect(byKind(first)).toEqual({
      identifications: { expected: 4, copied: 4, skipped: 0, failed: 0, verified: 4 },
      feedback: { expected: 2, copied: 2, skipped: 0, failed: 0, verified: 2 },
      'review items': { expected: 3, copied: 3, skipped: 0, failed: 0, verified: 3 },
      'photo hashes': { expected: 2, copied: 2, skipped: 0, failed: 0, verified: 2 },
    });
    // What the services read: the claimed and resolved items as they were, in the same order, and the active feedback only.
    expect(await target.getReviewItem('rv-3')).toEqual(review(3, 'RESOLVED'));
    expect((await target.listReviewItems({ first: 10 })).items.map((i) => [i.id, i.status])).toEqual([['rv-3', 'RESOLVED'], ['rv-2', 'CLAIMED'], ['rv-1', 'OPEN']]);
    expect((await target.activeFeedback()).map((f) => f.id)).toEqual(['fb-1']);
    expect(Array.from((await target.getIdentification('idf-3'))!.imageVector)).toEqual(Array.from(vector(3)));
    expect(await target.getPhotoHash('photo-3')).toEqual({ photoId: 'photo-3', hash: 'a5c3f00f3c5a9967', duplicateOf: 'photo-1' });

    const again = await copyIdentifyRecords(source, target, events());
    expect(again.every(isVerified)).toBe(true);
    expect(again.map((t) => t.copied)).toEqual([0, 0, 0, 0]);
    expect(again.map((t) => t.checksum)).toEqual(first.map((t) => t.checksum));
  });

  it('stops when the target stops answering, and the rerun completes what is missing', async () => {
    const source = await filledSource();
    const target = await identifyStore();
    let writes = 0;
    // The real store, except that it goes down after five writes (as Postgres would, mid-run).
    const failing = new Proxy(target, {
      get(store, name: keyof IdentifyStore) {
        const member = store[name];
        if (typeof member !== 'function') return member;
        return (...args: unknown[]) => {
          if (String(name).startsWith('add') || name === 'putPhotoHash') {
            if (++writes > 5) return Promise.reject(new UnavailableError('connection refused'));
          }
          return (member as (...a: unknown[]) => unknown).apply(store, args);
        };
      },
    });
    const log = events();
    await expect(copyIdentifyRecords(source, failing, log)).rejects.toBeInstanceOf(MigrationStopped);
    expect(log.lines).toEqual([expect.stringMatching(/^failed\s{3}feedback fb-2: UNAVAILABLE: connection refused/)]);
    const resumed = await copyIdentifyRecords(source, target, events());
    expect(byKind(resumed)).toMatchObject({
      identifications: { copied: 0, skipped: 4, verified: 4 },
      feedback: { copied: 1, skipped: 1, verified: 2 },
      'review items': { copied: 3, verified: 3 },
      'photo hashes': { copied: 2, verified: 2 },
    });
    expect(resumed.every(isVerified)).toBe(true);
  });

  it('reports a record changed in the target since, and leaves it as it is', async () => {
    const source = await filledSource();
    const target = await identifyStore();
    await copyIdentifyRecords(source, target, events());
    await target.updateReviewItem('rv-1', ['OPEN'], { status: 'CLAIMED', claimedBy: 'agent-2', claimedAt: '2026-11-10T00:00:00.000Z' });
    const log = events();
    const tallies = await copyIdentifyRecords(source, target, log);
    expect(byKind(tallies)['review items']).toEqual({ expected: 3, copied: 0, skipped: 3, failed: 1, verified: 2 });
    expect(log.lines).toEqual([expect.stringContaining('differs  review items rv-1')]);
    expect((await target.getReviewItem('rv-1'))?.claimedBy).toBe('agent-2');
  });
});

describe('audit log', () => {
  const entry = (tenant: string, operation: string, minute: number): NewAuditEntry => ({
    at: `2026-11-01T10:${String(minute).padStart(2, '0')}:00.000Z`, keyName: `${tenant}-admin`, tenant, role: 'admin', operation, operationName: null, outcome: 'ok', query: operation === 'search' ? 'seal kit' : null, documentIds: ['doc-1'], photoIds: [], durationMs: 12,
  });
  async function auditStore(): Promise<SqliteAuditStore> {
    const store = new SqliteAuditStore(path.join(dir(), 'audit.db'));
    await store.init();
    toClose.push(store);
    return store;
  }

  it("copies every tenant's entries with their numbers, resumes after the target's last one, and verifies each", async () => {
    const source = await auditStore();
    for (let i = 0; i < 7; i++) await source.append(entry(i % 3 === 0 ? 'globex' : 'acme', i % 2 ? 'search' : 'ask', i));
    const target = await auditStore();
    // As if a first run had stopped after two of acme's entries.
    for (const e of (await source.entriesAfter('acme', 0, 2))) await target.append((({ seq: _s, ...rest }) => rest)(e));
    const tallies = await copyAuditLog(source, target, events());
    expect(tallies.map((t) => [t.kind, t.expected, t.copied, t.skipped, t.verified, t.failed])).toEqual([
      ['audit entries of acme', 4, 2, 2, 4, 0],
      ['audit entries of globex', 3, 3, 0, 3, 0],
    ]);
    expect((await target.list({ tenant: 'acme', first: 10 })).items).toEqual((await source.list({ tenant: 'acme', first: 10 })).items);
    const again = await copyAuditLog(source, target, events());
    expect(again.every(isVerified)).toBe(true);
    expect(again.map((t) => t.copied)).toEqual([0, 0]);
  });

  it('says so when the target has entries of its own (the scale servers took traffic before the copy)', async () => {
    const source = await auditStore();
    for (let i = 0; i < 3; i++) await source.append(entry('acme', 'search', i));
    const target = await auditStore();
    await target.append(entry('acme', 'deleteDocument', 59));
    const log = events();
    const [tally] = await copyAuditLog(source, target, log);
    expect(isVerified(tally!)).toBe(false);
    expect(log.lines[0]).toContain('differs  audit entry #1 of acme');
  });
});

describe('files', () => {
  it('copies every blob (not temp files), verifies each by its sha256, and finds a damaged copy', async () => {
    const sourceDir = dir();
    const source = new DiskBlobStore(sourceDir);
    const keys = [await source.put(Buffer.from('%PDF-1.7 manual'), 'pdf'), await source.put(Buffer.from('thumbnail bytes'), 'webp'), await source.put(Buffer.from('photo bytes'), 'jpg')];
    // The leftover of a write interrupted by a crash.
    const [a, b] = [keys[0]!.slice(0, 2), keys[0]!.slice(2, 4)];
    writeFileSync(path.join(sourceDir, a, b, `${keys[0]}.0a1b2c.tmp`), 'half');
    const targetDir = dir();
    const target = new DiskBlobStore(targetDir);
    const first = await copyBlobs(source, target, events());
    expect(first).toMatchObject({ expected: 3, copied: 3, verified: 3, failed: 0 });
    for (const key of keys) expect(await target.has(key)).toBe(true);
    expect(readdirSync(path.join(targetDir, a, b))).toEqual([keys[0]]);

    const again = await copyBlobs(source, target, events());
    expect(again).toMatchObject({ copied: 0, skipped: 3, verified: 3, checksum: first.checksum });

    const photo = keys[2]!;
    writeFileSync(path.join(targetDir, photo.slice(0, 2), photo.slice(2, 4), photo), 'bit rot');
    const log = events();
    const checked = await copyBlobs(source, target, log);
    expect(checked).toMatchObject({ verified: 2, failed: 1 });
    expect(log.lines).toEqual([`failed   file ${photo}: the copy in the target does not match its checksum`]);
  });
});
