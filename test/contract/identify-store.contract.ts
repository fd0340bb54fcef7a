/**
 * The behaviour every IdentifyStore owes its users (identifications, feedback, the review queue
 * with its claims, photo hashes), as one suite run against each implementation: SQLite (a file
 * per tenant) and Postgres (one database, tenants as rows). Nothing here depends on how a store
 * keeps its data.
 *
 * The factory opens stores on one shared backing: `open(tenant)` a tenant's store, and
 * `openOther(tenant)` the same tenant's records through an independent connection (a second
 * SQLite handle on the file, a second Postgres pool), which is what a second replica or process
 * sees. Claims are raced across both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FeedbackRecord, IdentificationRecord, IdentifyStore, ReviewItemRecord } from '../../src/identify/identify-store.js';

export interface IdentifyContractBacking {
  open(tenant: string): Promise<IdentifyStore>;
  openOther(tenant: string): Promise<IdentifyStore>;
  /** Deletes a review item behind the store's back (no store operation deletes one today; an operator, a purge or a tenant deletion may). */
  deleteReviewItem(tenant: string, id: string): Promise<void>;
  cleanup(): Promise<void>;
}

let serial = 0;
const nextId = (prefix: string) => `${prefix}-${++serial}-${Math.random().toString(36).slice(2, 8)}`;

export function identification(fields: Partial<IdentificationRecord> = {}): IdentificationRecord {
  return {
    id: nextId('ident'),
    photoId: null,
    imageVector: new Float32Array([0.25, -1.5, 3, 1e-7]),
    candidates: [
      { label: 'gate valve', score: 0.31 },
      { label: 'ball valve', score: 0.29 },
    ],
    confident: false,
    createdAt: '2026-03-01T10:00:00.000Z',
    ...fields,
  };
}

export function feedback(fields: Partial<FeedbackRecord> = {}): FeedbackRecord {
  return {
    id: nextId('fb'),
    label: 'gate valve',
    photoId: null,
    identificationId: null,
    imageVector: new Float32Array([1, 0, -0.5]),
    givenBy: 'anna',
    createdAt: '2026-03-01T10:00:00.000Z',
    undoneAt: null,
    ...fields,
  };
}

export function reviewItem(fields: Partial<ReviewItemRecord> = {}): ReviewItemRecord {
  return {
    id: nextId('review'),
    kind: 'IDENTIFICATION',
    status: 'OPEN',
    identificationId: null,
    photoId: null,
    reason: 'Unconfident identification',
    createdAt: '2026-03-01T10:00:00.000Z',
    claimedBy: null,
    claimedAt: null,
    resolvedBy: null,
    resolvedAt: null,
    resolutionLabel: null,
    resolutionNote: null,
    feedbackId: null,
    ...fields,
  };
}

export function defineIdentifyStoreContract(name: string, makeBacking: () => Promise<IdentifyContractBacking>): void {
  describe(`IdentifyStore contract: ${name}`, () => {
    let backing: IdentifyContractBacking;
    let store: IdentifyStore;
    beforeEach(async () => {
      backing = await makeBacking();
      store = await backing.open('acme');
    });
    afterEach(async () => {
      await backing.cleanup();
    });

    it('stores an identification and gives it back exactly (vector bits, candidates, flags)', async () => {
      const record = identification({ photoId: 'photo-1', confident: true });
      await store.addIdentification(record);
      expect(await store.getIdentification(record.id)).toEqual(record);
      expect(await store.getIdentification('missing')).toBeNull();
    });

    it('adds an identification and its review item together', async () => {
      const record = identification();
      const item = reviewItem({ identificationId: record.id });
      await store.addIdentification(record, item);
      expect(await store.getIdentification(record.id)).toEqual(record);
      expect(await store.getReviewItem(item.id)).toEqual(item);
    });

    it('a review item that cannot be written takes its identification with it (both or neither)', async () => {
      const taken = reviewItem();
      await store.addReviewItem(taken);
      const record = identification();
      // Same id as an existing item: the second insert fails, so the first must not stay.
      await expect(store.addIdentification(record, reviewItem({ id: taken.id, identificationId: record.id }))).rejects.toThrow();
      expect(await store.getIdentification(record.id)).toBeNull();
      expect(await store.getReviewItem(taken.id)).toEqual(taken);
    });

    it('feedback: stored, undone once, and active feedback is oldest first without the undone', async () => {
      const first = feedback({ createdAt: '2026-03-01T10:00:00.000Z', label: 'pump' });
      const second = feedback({ createdAt: '2026-03-02T10:00:00.000Z', label: 'valve', photoId: 'p9', identificationId: 'i9' });
      const third = feedback({ createdAt: '2026-03-03T10:00:00.000Z', label: 'gauge' });
      for (const f of [third, first, second]) await store.addFeedback(f);
      expect(await store.getFeedback(second.id)).toEqual(second);
      expect((await store.activeFeedback()).map((f) => f.label)).toEqual(['pump', 'valve', 'gauge']);
      expect(await store.undoFeedback(second.id, '2026-03-04T00:00:00.000Z')).toBe(true);
      expect(await store.undoFeedback(second.id, '2026-03-05T00:00:00.000Z')).toBe(false);
      expect(await store.undoFeedback('missing', '2026-03-05T00:00:00.000Z')).toBe(false);
      expect((await store.getFeedback(second.id))?.undoneAt).toBe('2026-03-04T00:00:00.000Z');
      expect((await store.activeFeedback()).map((f) => f.label)).toEqual(['pump', 'gauge']);
      expect(await store.getFeedback('missing')).toBeNull();
    });

    it('lists review items newest first, pages by cursor, filters by status, counts them', async () => {
      const items = Array.from({ length: 5 }, (_, i) => reviewItem({ reason: `r${i}`, status: i % 2 === 0 ? 'OPEN' : 'RESOLVED' }));
      for (const item of items) await store.addReviewItem(item);
      const first = await store.listReviewItems({ first: 2 });
      expect(first.items.map((i) => i.reason)).toEqual(['r4', 'r3']);
      expect(first).toMatchObject({ totalCount: 5, hasNextPage: true });
      expect(first.cursors).toHaveLength(2);
      expect(first.endCursor).toBe(first.cursors[1]);
      const second = await store.listReviewItems({ first: 2, after: first.endCursor });
      expect(second.items.map((i) => i.reason)).toEqual(['r2', 'r1']);
      const last = await store.listReviewItems({ first: 2, after: second.endCursor });
      expect(last.items.map((i) => i.reason)).toEqual(['r0']);
      expect(last.hasNextPage).toBe(false);
      // Any item's cursor continues after that item.
      expect((await store.listReviewItems({ first: 10, after: first.cursors[0] })).items.map((i) => i.reason)).toEqual(['r3', 'r2', 'r1', 'r0']);
      const open = await store.listReviewItems({ first: 10, status: 'OPEN' });
      expect(open.items.map((i) => i.reason)).toEqual(['r4', 'r2', 'r0']);
      expect(open.totalCount).toBe(3);
      expect(await store.getReviewItem(items[3]!.id)).toEqual(items[3]);
      expect(await store.getReviewItem('missing')).toBeNull();
    });

    it('review queue: the id of an existing item still works as a cursor (older clients), as on the old API', async () => {
      const items = Array.from({ length: 4 }, (_, i) => reviewItem({ reason: `r${i}` }));
      for (const item of items) await store.addReviewItem(item);
      const page = await store.listReviewItems({ first: 10, after: items[2]!.id });
      expect(page.items.map((i) => i.reason)).toEqual(['r1', 'r0']);
      // …and its page's endCursor is a real cursor.
      expect((await store.listReviewItems({ first: 10, after: (await store.listReviewItems({ first: 1, after: items[2]!.id })).endCursor })).items.map((i) => i.reason)).toEqual(['r0']);
    });

    it('review queue: an unknown id, a typo or another list\'s cursor is INVALID_CURSOR, never a silently empty page', async () => {
      const items = Array.from({ length: 3 }, (_, i) => reviewItem({ reason: `r${i}` }));
      for (const item of items) await store.addReviewItem(item);
      const { endCursor } = await store.listReviewItems({ first: 1 });
      const documentsCursor = Buffer.from(JSON.stringify([1767225600000, 'doc-1'])).toString('base64url');
      const auditCursor = Buffer.from(JSON.stringify(['audit', 3])).toString('base64url');
      for (const after of ['no-such-item', `${endCursor!}x`, endCursor!.slice(0, -1), documentsCursor, auditCursor, '3']) {
        await expect(store.listReviewItems({ first: 10, after }), after).rejects.toMatchObject({ code: 'INVALID_CURSOR', message: expect.stringContaining('reviewQueue') });
      }
      // Another tenant's item id is unknown here too.
      const globex = await backing.open('globex');
      const theirs = reviewItem();
      await globex.addReviewItem(theirs);
      await expect(store.listReviewItems({ first: 10, after: theirs.id })).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
    });

    it('review queue: deleting the item a cursor points at does not end paging early', async () => {
      const items = Array.from({ length: 5 }, (_, i) => reviewItem({ reason: `r${i}` }));
      for (const item of items) await store.addReviewItem(item);
      const first = await store.listReviewItems({ first: 2 });
      expect(first.items.map((i) => i.reason)).toEqual(['r4', 'r3']);
      await backing.deleteReviewItem('acme', items[3]!.id);
      const next = await store.listReviewItems({ first: 10, after: first.endCursor });
      expect(next.items.map((i) => i.reason)).toEqual(['r2', 'r1', 'r0']);
      expect(next.hasNextPage).toBe(false);
    });

    it('review queue: a cursor keeps its place across a status filter and a status change of the item it points at', async () => {
      const items = Array.from({ length: 4 }, (_, i) => reviewItem({ reason: `r${i}` }));
      for (const item of items) await store.addReviewItem(item);
      const first = await store.listReviewItems({ first: 2, status: 'OPEN' });
      expect(first.items.map((i) => i.reason)).toEqual(['r3', 'r2']);
      expect(await store.updateReviewItem(items[2]!.id, ['OPEN'], { status: 'CLAIMED', claimedBy: 'anna', claimedAt: '2026-03-01T11:00:00.000Z' })).not.toBeNull();
      expect((await store.listReviewItems({ first: 10, after: first.endCursor, status: 'OPEN' })).items.map((i) => i.reason)).toEqual(['r1', 'r0']);
    });

    it('updates a review item only from an expected status (compare-and-set)', async () => {
      const item = reviewItem();
      await store.addReviewItem(item);
      const claimed = await store.updateReviewItem(item.id, ['OPEN'], { status: 'CLAIMED', claimedBy: 'bo', claimedAt: '2026-03-01T11:00:00.000Z' });
      expect(claimed).toEqual({ ...item, status: 'CLAIMED', claimedBy: 'bo', claimedAt: '2026-03-01T11:00:00.000Z' });
      expect(await store.updateReviewItem(item.id, ['OPEN'], { status: 'CLAIMED', claimedBy: 'cy' })).toBeNull();
      expect((await store.getReviewItem(item.id))?.claimedBy).toBe('bo');
      expect(await store.updateReviewItem('missing', ['OPEN'], { status: 'CLAIMED' })).toBeNull();
      const resolved = await store.updateReviewItem(item.id, ['OPEN', 'CLAIMED'], { status: 'RESOLVED', resolvedBy: 'bo', resolutionNote: null });
      expect(resolved).toMatchObject({ status: 'RESOLVED', resolvedBy: 'bo', claimedBy: 'bo' });
    });

    it('a resolution and its feedback are written together, and neither when the item is no longer open', async () => {
      const item = reviewItem();
      await store.addReviewItem(item);
      const label = feedback({ label: 'check valve' });
      const resolved = await store.updateReviewItem(item.id, ['OPEN', 'CLAIMED'], { status: 'RESOLVED', resolvedBy: 'bo', resolutionLabel: 'check valve', feedbackId: label.id }, label);
      expect(resolved).toMatchObject({ status: 'RESOLVED', feedbackId: label.id });
      expect(await store.getFeedback(label.id)).toEqual(label);
      const late = feedback({ label: 'too late' });
      expect(await store.updateReviewItem(item.id, ['OPEN', 'CLAIMED'], { status: 'RESOLVED', resolvedBy: 'cy', feedbackId: late.id }, late)).toBeNull();
      expect(await store.getFeedback(late.id)).toBeNull();
      expect((await store.activeFeedback()).map((f) => f.label)).toEqual(['check valve']);
    });

    it('20 concurrent claims on one item over two connections: exactly one wins', async () => {
      const other = await backing.openOther('acme');
      const item = reviewItem();
      await store.addReviewItem(item);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? store : other).updateReviewItem(item.id, ['OPEN'], { status: 'CLAIMED', claimedBy: `reviewer-${i}`, claimedAt: '2026-03-01T12:00:00.000Z' }),
        ),
      );
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      const final = await other.getReviewItem(item.id);
      expect(final?.claimedBy).toBe(winners[0]!.claimedBy);
      expect(final?.status).toBe('CLAIMED');
    });

    it('a write through one connection is read through the other', async () => {
      const other = await backing.openOther('acme');
      const record = identification();
      await store.addIdentification(record);
      expect(await other.getIdentification(record.id)).toEqual(record);
      await other.putPhotoHash({ photoId: 'p1', hash: '0123456789abcdef', duplicateOf: null });
      expect(await store.getPhotoHash('p1')).toEqual({ photoId: 'p1', hash: '0123456789abcdef', duplicateOf: null });
    });

    it('retention deletes old identifications unless feedback in force or an unresolved review item needs them', async () => {
      const old = '2020-01-01T00:00:00.000Z';
      const ids = ['plain', 'confirmed', 'undone', 'in-review', 'reviewed', 'recent'].map((k) => [k, identification({ id: nextId(k), createdAt: k === 'recent' ? '2026-03-01T00:00:00.000Z' : old })] as const);
      const by = Object.fromEntries(ids);
      for (const [, r] of ids) await store.addIdentification(r);
      await store.addFeedback(feedback({ identificationId: by.confirmed!.id }));
      const undone = feedback({ identificationId: by.undone!.id });
      await store.addFeedback(undone);
      await store.undoFeedback(undone.id, old);
      await store.addReviewItem(reviewItem({ identificationId: by['in-review']!.id, status: 'CLAIMED' }));
      await store.addReviewItem(reviewItem({ identificationId: by.reviewed!.id, status: 'RESOLVED' }));
      expect(await store.deleteIdentificationsBefore('2025-01-01T00:00:00.000Z')).toBe(3);
      for (const gone of ['plain', 'undone', 'reviewed']) expect(await store.getIdentification(by[gone]!.id), gone).toBeNull();
      for (const kept of ['confirmed', 'in-review', 'recent']) expect(await store.getIdentification(by[kept]!.id), kept).not.toBeNull();
    });

    it('photo hashes: put replaces, get, delete', async () => {
      await store.putPhotoHash({ photoId: 'p1', hash: 'ffffffffffffffff', duplicateOf: null });
      await store.putPhotoHash({ photoId: 'p1', hash: '0000000000000001', duplicateOf: 'p0' });
      expect(await store.getPhotoHash('p1')).toEqual({ photoId: 'p1', hash: '0000000000000001', duplicateOf: 'p0' });
      await store.deletePhotoHash('p1');
      expect(await store.getPhotoHash('p1')).toBeNull();
      await store.deletePhotoHash('p1');
    });

    it("keeps tenants apart: one tenant never reads, lists, claims, counts or deletes another's records", async () => {
      const globex = await backing.open('globex');
      const record = identification({ createdAt: '2020-01-01T00:00:00.000Z' });
      const item = reviewItem({ identificationId: record.id });
      await store.addIdentification(record, item);
      const fb = feedback();
      await store.addFeedback(fb);
      await store.putPhotoHash({ photoId: 'shared-photo-id', hash: 'aaaaaaaaaaaaaaaa', duplicateOf: null });

      expect(await globex.getIdentification(record.id)).toBeNull();
      expect(await globex.getReviewItem(item.id)).toBeNull();
      expect(await globex.getFeedback(fb.id)).toBeNull();
      expect(await globex.activeFeedback()).toEqual([]);
      expect(await globex.listReviewItems({ first: 10 })).toEqual({ items: [], cursors: [], endCursor: null, totalCount: 0, hasNextPage: false });
      expect(await globex.updateReviewItem(item.id, ['OPEN'], { status: 'CLAIMED', claimedBy: 'intruder' })).toBeNull();
      expect(await globex.undoFeedback(fb.id, '2026-01-01T00:00:00.000Z')).toBe(false);
      expect(await globex.getPhotoHash('shared-photo-id')).toBeNull();
      await globex.deletePhotoHash('shared-photo-id');
      // Same ids in the other tenant are its own records, not collisions.
      await globex.addIdentification({ ...record, candidates: [{ label: 'globex', score: 1 }] });
      await globex.putPhotoHash({ photoId: 'shared-photo-id', hash: 'bbbbbbbbbbbbbbbb', duplicateOf: null });
      expect(await globex.deleteIdentificationsBefore('2030-01-01T00:00:00.000Z')).toBe(1);

      expect(await store.getIdentification(record.id)).toEqual(record);
      expect((await store.getReviewItem(item.id))?.status).toBe('OPEN');
      expect((await store.getFeedback(fb.id))?.undoneAt).toBeNull();
      expect((await store.getPhotoHash('shared-photo-id'))?.hash).toBe('aaaaaaaaaaaaaaaa');
      expect((await store.listReviewItems({ first: 10 })).totalCount).toBe(1);
    });
  });
}
