/**
 * Durable records of part identification: identifications made, feedback given (confirmed
 * labels with the image embedding they apply to, who and when, undoable), the review queue,
 * and photo perceptual hashes / duplicate links.
 *
 * One store per tenant: SqliteIdentifyStore (a file in the tenant's folder, the embedded default)
 * or a tenant's view of PostgresIdentifyStore (replicas share it). Both pass
 * test/contract/identify-store.contract.ts. Writes that belong together take one call, so that a
 * failure (a database gone mid-request) leaves all or nothing of them.
 */

export interface IdentificationRecord {
  id: string;
  /** The photo this identification was about, when it was a stored photo. */
  photoId: string | null;
  imageVector: Float32Array;
  /** Candidates as scored at the time, best first. */
  candidates: { label: string; score: number }[];
  confident: boolean;
  createdAt: string;
}

export interface FeedbackRecord {
  id: string;
  label: string;
  photoId: string | null;
  identificationId: string | null;
  imageVector: Float32Array;
  givenBy: string;
  createdAt: string;
  /** When it was undone, or null while in force. */
  undoneAt: string | null;
}

export type ReviewStatus = 'OPEN' | 'CLAIMED' | 'RESOLVED';
export type ReviewKind = 'IDENTIFICATION' | 'UPLOAD';

export interface ReviewItemRecord {
  id: string;
  kind: ReviewKind;
  status: ReviewStatus;
  identificationId: string | null;
  photoId: string | null;
  reason: string;
  createdAt: string;
  claimedBy: string | null;
  claimedAt: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  resolutionLabel: string | null;
  resolutionNote: string | null;
  feedbackId: string | null;
}

export interface PhotoHashRecord {
  photoId: string;
  /** 64-bit difference hash as 16 hex characters. */
  hash: string;
  duplicateOf: string | null;
}

/**
 * The operation a write belongs to. On Postgres its signal firing cancels the statement and rolls
 * the write back (postgres-database.ts); SQLite writes are synchronous and refuse only to start.
 */
export interface RecordWriteOptions {
  signal?: AbortSignal | undefined;
}

/** A page of the review queue; `cursors[i]` is the cursor of `items[i]`, `endCursor` the last one's. */
export interface ReviewPage {
  items: ReviewItemRecord[];
  cursors: string[];
  endCursor: string | null;
  totalCount: number;
  hasNextPage: boolean;
}

export interface IdentifyStore {
  init(): Promise<void>;
  close(): Promise<void>;

  /** Adds an identification and, when given, the review item opened for it: both or neither. */
  addIdentification(record: IdentificationRecord, reviewItem?: ReviewItemRecord | null, options?: RecordWriteOptions): Promise<void>;
  getIdentification(id: string): Promise<IdentificationRecord | null>;

  addFeedback(record: FeedbackRecord): Promise<void>;
  getFeedback(id: string): Promise<FeedbackRecord | null>;
  /** Marks feedback undone; false if there is no such feedback or it was already undone. */
  undoFeedback(id: string, at: string): Promise<boolean>;
  /** Feedback in force (not undone), oldest first: the few-shot cache. */
  activeFeedback(): Promise<FeedbackRecord[]>;

  addReviewItem(record: ReviewItemRecord, options?: RecordWriteOptions): Promise<void>;
  getReviewItem(id: string): Promise<ReviewItemRecord | null>;
  /**
   * Newest first. `after` is a cursor this list returned (`endCursor`, or an item's `cursors`
   * entry), which encodes the position itself: the next page is right even when that item has
   * since been deleted. For older clients, the id of an existing item is accepted too. Anything
   * else is INVALID_CURSOR.
   */
  listReviewItems(options: { first: number; after?: string | null; status?: ReviewStatus | null }): Promise<ReviewPage>;
  /**
   * Atomic compare-and-set of a review item (status transitions): of many concurrent calls
   * expecting the same status, on any replica, exactly one succeeds. Returns the updated item, or
   * null when `expected` no longer holds. With `feedback`, that feedback is added in the same
   * transaction, and only if the update happens (a resolution and its label: both or neither).
   */
  updateReviewItem(id: string, expected: ReviewStatus[], patch: Partial<ReviewItemRecord>, feedback?: FeedbackRecord | null): Promise<ReviewItemRecord | null>;

  /**
   * Retention: deletes identifications (query artefacts: the embedding of a photo someone asked
   * about) created before `cutoff`, except those that feedback or an unresolved review item still
   * refer to. Returns how many were deleted.
   */
  deleteIdentificationsBefore(cutoff: string): Promise<number>;

  putPhotoHash(record: PhotoHashRecord, options?: RecordWriteOptions): Promise<void>;
  getPhotoHash(photoId: string): Promise<PhotoHashRecord | null>;
  deletePhotoHash(photoId: string): Promise<void>;
}
