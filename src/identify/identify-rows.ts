/**
 * The rows of the identify records as both SQL stores hold them (SQLite and Postgres use the same
 * column names), and their mapping to the records of identify-store.ts. One place, so the two
 * implementations of the port cannot drift apart.
 */
import { InvalidInputError } from '../errors.js';
import { decodeSeqCursor, encodeSeqCursor } from '../store/record-cursor.js';
import type { FeedbackRecord, ReviewItemRecord, ReviewPage, ReviewStatus } from './identify-store.js';

export const vectorToBytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
export const vectorFromBytes = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export interface ReviewRow {
  id: string;
  kind: ReviewItemRecord['kind'];
  status: ReviewStatus;
  identification_id: string | null;
  photo_id: string | null;
  reason: string;
  created_at: string;
  claimed_by: string | null;
  claimed_at: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
  resolution_label: string | null;
  resolution_note: string | null;
  feedback_id: string | null;
}

export const reviewFromRow = (r: ReviewRow): ReviewItemRecord => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  identificationId: r.identification_id,
  photoId: r.photo_id,
  reason: r.reason,
  createdAt: r.created_at,
  claimedBy: r.claimed_by,
  claimedAt: r.claimed_at,
  resolvedBy: r.resolved_by,
  resolvedAt: r.resolved_at,
  resolutionLabel: r.resolution_label,
  resolutionNote: r.resolution_note,
  feedbackId: r.feedback_id,
});

/** Column of each record field; the only names that reach SQL text (values always go as parameters). */
export const COLUMN: Record<keyof ReviewItemRecord, string> = {
  id: 'id',
  kind: 'kind',
  status: 'status',
  identificationId: 'identification_id',
  photoId: 'photo_id',
  reason: 'reason',
  createdAt: 'created_at',
  claimedBy: 'claimed_by',
  claimedAt: 'claimed_at',
  resolvedBy: 'resolved_by',
  resolvedAt: 'resolved_at',
  resolutionLabel: 'resolution_label',
  resolutionNote: 'resolution_note',
  feedbackId: 'feedback_id',
};
export const REVIEW_FIELDS = Object.keys(COLUMN) as (keyof ReviewItemRecord)[];

export interface FeedbackRow {
  id: string;
  label: string;
  photo_id: string | null;
  identification_id: string | null;
  image_vector: Buffer;
  given_by: string;
  created_at: string;
  undone_at: string | null;
}

export const feedbackFromRow = (r: FeedbackRow): FeedbackRecord => ({
  id: r.id,
  label: r.label,
  photoId: r.photo_id,
  identificationId: r.identification_id,
  imageVector: vectorFromBytes(r.image_vector),
  givenBy: r.given_by,
  createdAt: r.created_at,
  undoneAt: r.undone_at,
});

/**
 * The seq that `after` stands for: a reviewQueue cursor's own, or (older clients pass the last
 * item's id) that item's, looked up with `seqOfId`. Anything else is INVALID_CURSOR, so a typo or
 * a stale id never ends a reviewer's paging silently.
 */
export async function reviewPosition(after: string, seqOfId: (id: string) => Promise<number | null>): Promise<number> {
  const seq = decodeSeqCursor('review', after) ?? (await seqOfId(after));
  if (seq !== null) return seq;
  throw new InvalidInputError(
    'INVALID_CURSOR',
    `after must be a cursor from reviewQueue's pageInfo.endCursor (or the id of an existing review item); got ${JSON.stringify(after.slice(0, 100))}.`,
  );
}

/** A page from rows read newest first with one extra row (which only says whether more follow). */
export function reviewPage(rows: (ReviewRow & { seq: number | string })[], first: number, totalCount: number): ReviewPage {
  const page = rows.slice(0, first);
  const cursors = page.map((r) => encodeSeqCursor('review', Number(r.seq)));
  return { items: page.map(reviewFromRow), cursors, endCursor: cursors.at(-1) ?? null, totalCount, hasNextPage: rows.length > first };
}
