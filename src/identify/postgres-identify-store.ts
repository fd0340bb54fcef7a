/**
 * IdentifyStore on Postgres (DATABASE_URL): the records replicas must share, so that a review
 * item claimed on one replica is claimed on all of them. One PostgresDatabase (pool) serves every
 * tenant; `forTenant` hands out views that read and write only that tenant's rows.
 *
 * A claim is one `UPDATE … WHERE status = ANY(expected)`: under READ COMMITTED a second
 * concurrent UPDATE of the row waits for the first to commit, then re-checks the WHERE clause on
 * the new row and matches nothing, so of any number of concurrent claims exactly one wins.
 */
import type { PostgresDatabase, Queryable } from '../postgres/postgres-database.js';
import type { FeedbackRecord, IdentificationRecord, IdentifyStore, PhotoHashRecord, RecordWriteOptions, ReviewItemRecord, ReviewPage, ReviewStatus } from './identify-store.js';
import { COLUMN, feedbackFromRow, REVIEW_FIELDS, reviewFromRow, reviewPage, reviewPosition, vectorFromBytes, vectorToBytes, type FeedbackRow, type ReviewRow } from './identify-rows.js';


const REVIEW_SELECT = `SELECT ${REVIEW_FIELDS.map((k) => COLUMN[k]).join(', ')} FROM review_items`;
/** With the position (seq, a bigint: read back as text) that the queue's cursors encode. */
const REVIEW_SELECT_WITH_SEQ = `SELECT seq, ${REVIEW_FIELDS.map((k) => COLUMN[k]).join(', ')} FROM review_items`;

const INSERT_REVIEW_ITEM = `INSERT INTO review_items (tenant, ${REVIEW_FIELDS.map((k) => COLUMN[k]).join(', ')}) VALUES ($1, ${REVIEW_FIELDS.map((_, i) => `$${i + 2}`).join(', ')})`;
const reviewItemValues = (tenant: string, r: ReviewItemRecord): unknown[] => [tenant, ...REVIEW_FIELDS.map((k) => r[k])];

async function insertFeedback(db: Queryable, tenant: string, r: FeedbackRecord): Promise<void> {
  await db.query(
    'INSERT INTO feedback (tenant, id, label, photo_id, identification_id, image_vector, given_by, created_at, undone_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [tenant, r.id, r.label, r.photoId, r.identificationId, vectorToBytes(r.imageVector), r.givenBy, r.createdAt, r.undoneAt],
  );
}

/** One tenant's records. The database (pool and schema) belongs to the composition root, which opens and closes it. */
export class PostgresIdentifyStore implements IdentifyStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly tenant: string,
  ) {}

  /** Nothing to open per tenant: the schema is the database's (PostgresDatabase.init). */
  async init(): Promise<void> {}

  /** The pool is shared by every tenant's view; the root closes it. */
  async close(): Promise<void> {}

  async addIdentification(r: IdentificationRecord, reviewItem: ReviewItemRecord | null = null, options: RecordWriteOptions = {}): Promise<void> {
    await this.db.transaction(async (client) => {
      await client.query('INSERT INTO identifications (tenant, id, photo_id, image_vector, candidates, confident, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        this.tenant,
        r.id,
        r.photoId,
        vectorToBytes(r.imageVector),
        JSON.stringify(r.candidates),
        r.confident,
        r.createdAt,
      ]);
      if (reviewItem) await client.query(INSERT_REVIEW_ITEM, reviewItemValues(this.tenant, reviewItem));
    }, options);
  }

  async getIdentification(id: string): Promise<IdentificationRecord | null> {
    const { rows } = await this.db.query<{ id: string; photo_id: string | null; image_vector: Buffer; candidates: IdentificationRecord['candidates']; confident: boolean; created_at: string }>(
      'SELECT id, photo_id, image_vector, candidates, confident, created_at FROM identifications WHERE tenant = $1 AND id = $2',
      [this.tenant, id],
    );
    const row = rows[0];
    if (!row) return null;
    return { id: row.id, photoId: row.photo_id, imageVector: vectorFromBytes(row.image_vector), candidates: row.candidates, confident: row.confident, createdAt: row.created_at };
  }

  async addFeedback(r: FeedbackRecord): Promise<void> {
    await insertFeedback(this.db, this.tenant, r);
  }

  async getFeedback(id: string): Promise<FeedbackRecord | null> {
    const { rows } = await this.db.query<FeedbackRow>('SELECT * FROM feedback WHERE tenant = $1 AND id = $2', [this.tenant, id]);
    return rows[0] ? feedbackFromRow(rows[0]) : null;
  }

  async undoFeedback(id: string, at: string): Promise<boolean> {
    const { rowCount } = await this.db.query('UPDATE feedback SET undone_at = $3 WHERE tenant = $1 AND id = $2 AND undone_at IS NULL', [this.tenant, id, at]);
    return rowCount === 1;
  }

  async activeFeedback(): Promise<FeedbackRecord[]> {
    const { rows } = await this.db.query<FeedbackRow>('SELECT * FROM feedback WHERE tenant = $1 AND undone_at IS NULL ORDER BY created_at, id', [this.tenant]);
    return rows.map(feedbackFromRow);
  }

  async addReviewItem(r: ReviewItemRecord, options: RecordWriteOptions = {}): Promise<void> {
    await this.db.query(INSERT_REVIEW_ITEM, reviewItemValues(this.tenant, r), options);
  }

  async getReviewItem(id: string): Promise<ReviewItemRecord | null> {
    const { rows } = await this.db.query<ReviewRow>(`${REVIEW_SELECT} WHERE tenant = $1 AND id = $2`, [this.tenant, id]);
    return rows[0] ? reviewFromRow(rows[0]) : null;
  }

  async listReviewItems(options: { first: number; after?: string | null; status?: ReviewStatus | null }): Promise<ReviewPage> {
    const where = ['tenant = $1'];
    const params: unknown[] = [this.tenant];
    if (options.status) {
      params.push(options.status);
      where.push(`status = $${params.length}`);
    }
    const total = await this.db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM review_items WHERE ${where.join(' AND ')}`, params);
    if (options.after) {
      const seqOfId = async (id: string) => {
        const { rows } = await this.db.query<{ seq: string }>('SELECT seq FROM review_items WHERE tenant = $1 AND id = $2', [this.tenant, id]);
        return rows[0] ? Number(rows[0].seq) : null;
      };
      params.push(await reviewPosition(options.after, seqOfId));
      where.push(`seq < $${params.length}`);
    }
    params.push(options.first + 1);
    const { rows } = await this.db.query<ReviewRow & { seq: string }>(
      `${REVIEW_SELECT_WITH_SEQ} WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return reviewPage(rows, options.first, Number(total.rows[0]?.n ?? 0));
  }

  async updateReviewItem(id: string, expected: ReviewStatus[], patch: Partial<ReviewItemRecord>, feedback: FeedbackRecord | null = null): Promise<ReviewItemRecord | null> {
    const keys = (Object.keys(patch) as (keyof ReviewItemRecord)[]).filter((k) => k !== 'id' && k in COLUMN);
    const params: unknown[] = [this.tenant, id, expected];
    const sets = keys.map((k) => {
      params.push(patch[k] ?? null);
      return `${COLUMN[k]} = $${params.length}`;
    });
    const update = `UPDATE review_items SET ${sets.join(', ')} WHERE tenant = $1 AND id = $2 AND status = ANY($3::text[]) RETURNING ${REVIEW_FIELDS.map((k) => COLUMN[k]).join(', ')}`;
    if (!feedback) {
      const { rows } = await this.db.query<ReviewRow>(update, params);
      return rows[0] ? reviewFromRow(rows[0]) : null;
    }
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<ReviewRow>(update, params);
      if (!rows[0]) return null;
      await insertFeedback(client, this.tenant, feedback);
      return reviewFromRow(rows[0]);
    });
  }

  async deleteIdentificationsBefore(cutoff: string): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM identifications i WHERE i.tenant = $1 AND i.created_at < $2
         AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.tenant = i.tenant AND f.identification_id = i.id AND f.undone_at IS NULL)
         AND NOT EXISTS (SELECT 1 FROM review_items r WHERE r.tenant = i.tenant AND r.identification_id = i.id AND r.status <> 'RESOLVED')`,
      [this.tenant, cutoff],
    );
    return rowCount ?? 0;
  }

  async putPhotoHash(r: PhotoHashRecord, options: RecordWriteOptions = {}): Promise<void> {
    await this.db.query(
      'INSERT INTO photo_hashes (tenant, photo_id, hash, duplicate_of) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, photo_id) DO UPDATE SET hash = EXCLUDED.hash, duplicate_of = EXCLUDED.duplicate_of',
      [this.tenant, r.photoId, r.hash, r.duplicateOf],
      options,
    );
  }

  async getPhotoHash(photoId: string): Promise<PhotoHashRecord | null> {
    const { rows } = await this.db.query<{ photo_id: string; hash: string; duplicate_of: string | null }>('SELECT photo_id, hash, duplicate_of FROM photo_hashes WHERE tenant = $1 AND photo_id = $2', [
      this.tenant,
      photoId,
    ]);
    return rows[0] ? { photoId: rows[0].photo_id, hash: rows[0].hash, duplicateOf: rows[0].duplicate_of } : null;
  }

  async deletePhotoHash(photoId: string): Promise<void> {
    await this.db.query('DELETE FROM photo_hashes WHERE tenant = $1 AND photo_id = $2', [this.tenant, photoId]);
  }
}
