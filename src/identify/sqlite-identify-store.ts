/**
 * IdentifyStore in its own SQLite file (DATA_DIR/identify.db), beside the knowledge base: its
 * records are few and written by people, and keeping them apart keeps the knowledge store's
 * schema and contract unchanged.
 */
import type Database from 'better-sqlite3';
import { openSideDatabase } from '../store/sqlite/open-database.js';
import type { FeedbackRecord, IdentificationRecord, IdentifyStore, PhotoHashRecord, RecordWriteOptions, ReviewItemRecord, ReviewPage, ReviewStatus } from './identify-store.js';
import { COLUMN, feedbackFromRow, reviewFromRow, reviewPage, reviewPosition, vectorFromBytes, vectorToBytes, type FeedbackRow, type ReviewRow } from './identify-rows.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS identifications (
  id TEXT PRIMARY KEY, photo_id TEXT, image_vector BLOB NOT NULL, candidates TEXT NOT NULL, confident INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
  id TEXT PRIMARY KEY, label TEXT NOT NULL, photo_id TEXT, identification_id TEXT, image_vector BLOB NOT NULL,
  given_by TEXT NOT NULL, created_at TEXT NOT NULL, undone_at TEXT
);
CREATE INDEX IF NOT EXISTS feedback_active ON feedback (undone_at, created_at);
CREATE TABLE IF NOT EXISTS review_items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, status TEXT NOT NULL,
  identification_id TEXT, photo_id TEXT, reason TEXT NOT NULL, created_at TEXT NOT NULL,
  claimed_by TEXT, claimed_at TEXT, resolved_by TEXT, resolved_at TEXT, resolution_label TEXT, resolution_note TEXT, feedback_id TEXT
);
CREATE INDEX IF NOT EXISTS review_items_status ON review_items (status, seq);
CREATE TABLE IF NOT EXISTS photo_hashes (photo_id TEXT PRIMARY KEY, hash TEXT NOT NULL, duplicate_of TEXT);
`;


export class SqliteIdentifyStore implements IdentifyStore {
  private db: Database.Database | null = null;

  constructor(private readonly file: string) {}

  private get conn(): Database.Database {
    if (!this.db) throw new Error('SqliteIdentifyStore used before init()');
    return this.db;
  }

  async init(): Promise<void> {
    this.db = openSideDatabase(this.file, SCHEMA);
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  async addIdentification(r: IdentificationRecord, reviewItem: ReviewItemRecord | null = null, options: RecordWriteOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const db = this.conn;
    db.transaction(() => {
      db.prepare('INSERT INTO identifications (id, photo_id, image_vector, candidates, confident, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        r.id,
        r.photoId,
        vectorToBytes(r.imageVector),
        JSON.stringify(r.candidates),
        r.confident ? 1 : 0,
        r.createdAt,
      );
      if (reviewItem) this.insertReviewItem(reviewItem);
    }).immediate();
  }

  async getIdentification(id: string): Promise<IdentificationRecord | null> {
    const row = this.conn.prepare('SELECT * FROM identifications WHERE id = ?').get(id) as
      | { id: string; photo_id: string | null; image_vector: Buffer; candidates: string; confident: number; created_at: string }
      | undefined;
    if (!row) return null;
    return {
      id: row.id,
      photoId: row.photo_id,
      imageVector: vectorFromBytes(row.image_vector),
      candidates: JSON.parse(row.candidates) as IdentificationRecord['candidates'],
      confident: row.confident === 1,
      createdAt: row.created_at,
    };
  }

  async addFeedback(r: FeedbackRecord): Promise<void> {
    this.insertFeedback(r);
  }

  private insertFeedback(r: FeedbackRecord): void {
    this.conn
      .prepare('INSERT INTO feedback (id, label, photo_id, identification_id, image_vector, given_by, created_at, undone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.id, r.label, r.photoId, r.identificationId, vectorToBytes(r.imageVector), r.givenBy, r.createdAt, r.undoneAt);
  }

  async getFeedback(id: string): Promise<FeedbackRecord | null> {
    const row = this.conn.prepare('SELECT * FROM feedback WHERE id = ?').get(id) as FeedbackRow | undefined;
    return row ? feedbackFromRow(row) : null;
  }

  async undoFeedback(id: string, at: string): Promise<boolean> {
    return this.conn.prepare('UPDATE feedback SET undone_at = ? WHERE id = ? AND undone_at IS NULL').run(at, id).changes === 1;
  }

  async activeFeedback(): Promise<FeedbackRecord[]> {
    return (this.conn.prepare('SELECT * FROM feedback WHERE undone_at IS NULL ORDER BY created_at, id').all() as FeedbackRow[]).map(feedbackFromRow);
  }

  async addReviewItem(r: ReviewItemRecord, options: RecordWriteOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.insertReviewItem(r);
  }

  private insertReviewItem(r: ReviewItemRecord): void {
    const cols = Object.keys(COLUMN) as (keyof ReviewItemRecord)[];
    this.conn.prepare(`INSERT INTO review_items (${cols.map((c) => COLUMN[c]).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => r[c]));
  }

  async getReviewItem(id: string): Promise<ReviewItemRecord | null> {
    const row = this.conn.prepare('SELECT * FROM review_items WHERE id = ?').get(id) as ReviewRow | undefined;
    return row ? reviewFromRow(row) : null;
  }

  async listReviewItems(options: { first: number; after?: string | null; status?: ReviewStatus | null }): Promise<ReviewPage> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (options.status) {
      where.push('status = ?');
      params.push(options.status);
    }
    const totalCount = (this.conn.prepare(`SELECT COUNT(*) AS n FROM review_items ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`).get(...params) as { n: number }).n;
    if (options.after) {
      const seqOfId = async (id: string) => (this.conn.prepare('SELECT seq FROM review_items WHERE id = ?').get(id) as { seq: number } | undefined)?.seq ?? null;
      where.push('seq < ?');
      params.push(await reviewPosition(options.after, seqOfId));
    }
    const rows = this.conn
      .prepare(`SELECT * FROM review_items ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`)
      .all(...params, options.first + 1) as (ReviewRow & { seq: number })[];
    return reviewPage(rows, options.first, totalCount);
  }

  async updateReviewItem(id: string, expected: ReviewStatus[], patch: Partial<ReviewItemRecord>, feedback: FeedbackRecord | null = null): Promise<ReviewItemRecord | null> {
    const keys = (Object.keys(patch) as (keyof ReviewItemRecord)[]).filter((k) => k !== 'id');
    const sets = keys.map((k) => `${COLUMN[k]} = ?`).join(', ');
    const db = this.conn;
    // Immediate: the write lock is taken first, so two processes on one file serialize here.
    const changed = db.transaction(() => {
      const result = db
        .prepare(`UPDATE review_items SET ${sets} WHERE id = ? AND status IN (${expected.map(() => '?').join(', ')})`)
        .run(...keys.map((k) => patch[k] ?? null), id, ...expected);
      if (result.changes !== 1) return false;
      if (feedback) this.insertFeedback(feedback);
      return true;
    }).immediate();
    return changed ? this.getReviewItem(id) : null;
  }

  async deleteIdentificationsBefore(cutoff: string): Promise<number> {
    return this.conn
      .prepare(
        `DELETE FROM identifications WHERE created_at < ?
           AND id NOT IN (SELECT identification_id FROM feedback WHERE identification_id IS NOT NULL AND undone_at IS NULL)
           AND id NOT IN (SELECT identification_id FROM review_items WHERE identification_id IS NOT NULL AND status != 'RESOLVED')`,
      )
      .run(cutoff).changes;
  }

  async putPhotoHash(r: PhotoHashRecord, options: RecordWriteOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.conn.prepare('INSERT OR REPLACE INTO photo_hashes (photo_id, hash, duplicate_of) VALUES (?, ?, ?)').run(r.photoId, r.hash, r.duplicateOf);
  }

  async getPhotoHash(photoId: string): Promise<PhotoHashRecord | null> {
    const row = this.conn.prepare('SELECT photo_id, hash, duplicate_of FROM photo_hashes WHERE photo_id = ?').get(photoId) as { photo_id: string; hash: string; duplicate_of: string | null } | undefined;
    return row ? { photoId: row.photo_id, hash: row.hash, duplicateOf: row.duplicate_of } : null;
  }

  async deletePhotoHash(photoId: string): Promise<void> {
    this.conn.prepare('DELETE FROM photo_hashes WHERE photo_id = ?').run(photoId);
  }

  /** The ids of every record, oldest first (for `fieldscope migrate`, which reads each with the getters above). */
  async exportIds(): Promise<{ identifications: string[]; feedback: string[]; reviewItems: string[]; photoHashes: string[] }> {
    const ids = (sql: string) => (this.conn.prepare(sql).all() as { id: string }[]).map((r) => r.id);
    return {
      identifications: ids('SELECT id FROM identifications ORDER BY created_at, id'),
      feedback: ids('SELECT id FROM feedback ORDER BY created_at, id'),
      reviewItems: ids('SELECT id FROM review_items ORDER BY seq'),
      photoHashes: ids('SELECT photo_id AS id FROM photo_hashes ORDER BY photo_id'),
    };
  }
}
