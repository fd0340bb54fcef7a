/**
 * Read-only export of an embedded (SQLite) knowledge base, record by record with its vectors,
 * in the shapes `KnowledgeStore.addDocument`/`addPhoto` take: what `fieldscope migrate` copies
 * into Qdrant. It opens the file read-only and never changes it, so the server may keep running
 * on it; each record is read in its own read transaction (a consistent snapshot of that record).
 */
import Database from 'better-sqlite3';
import { ConfigError } from '../../errors.js';
import type { ChunkInput, NewDocument, NewPage, NewPhoto, TextSource } from '../knowledge-store.js';
import type { ImageLayout } from '../../identify/page-layout.js';
import { LATEST_SCHEMA_VERSION } from './migrations.js';
import { toDocument, toPhoto, type DocumentRow, type PhotoRow } from './rows.js';

export interface SqliteExportCounts {
  documents: number;
  pages: number;
  chunks: number;
  photos: number;
}

function vectorOf(blob: Buffer, dim: number): Float32Array {
  // Copy: SQLite's buffers need not be 4-byte aligned.
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(blob.subarray(0, dim * 4));
  return out;
}

export class SqliteKnowledgeExport {
  readonly dim: number;
  readonly modelId: string;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    const get = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    const dim = get.get('vector_dim');
    const model = get.get('model_id');
    if (typeof dim !== 'number' || typeof model !== 'string') throw new ConfigError(`The knowledge base at ${file} has no vector size or model recorded; it was never opened by the server.`);
    this.dim = dim;
    this.modelId = model;
  }

  static open(file: string): SqliteKnowledgeExport {
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw new ConfigError(`Cannot open the knowledge base at ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== LATEST_SCHEMA_VERSION) {
        throw new ConfigError(
          version > LATEST_SCHEMA_VERSION
            ? `The knowledge base at ${file} has schema version ${version}, newer than this program reads (${LATEST_SCHEMA_VERSION}); upgrade the program.`
            : `The knowledge base at ${file} has schema version ${version}; start the server on it once to upgrade it to ${LATEST_SCHEMA_VERSION}, then migrate.`,
        );
      }
      return new SqliteKnowledgeExport(db, file);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    this.db.close();
  }

  counts(): SqliteExportCounts {
    const count = (sql: string) => this.db.prepare(sql).pluck().get() as number;
    return {
      documents: count('SELECT count(*) FROM documents'),
      pages: count('SELECT count(*) FROM targets WHERE document_seq IS NOT NULL'),
      chunks: count('SELECT count(*) FROM chunks'),
      photos: count('SELECT count(*) FROM photos'),
    };
  }

  /** Documents, oldest first, each with its pages, chunks, vectors and identifiers. */
  *documents(): Generator<NewDocument> {
    // Ids first: better-sqlite3 runs nothing else on a connection while a statement iterates.
    const seqs = this.db.prepare('SELECT seq FROM documents ORDER BY seq').pluck().all() as number[];
    const read = this.db.transaction((seq: number) => this.readDocument(seq));
    for (const seq of seqs) {
      const doc = read(seq);
      if (doc) yield doc;
    }
  }

  /** Photos, oldest first, with image vector, caption chunks and identifiers. */
  *photos(): Generator<NewPhoto> {
    const seqs = this.db.prepare('SELECT seq FROM photos ORDER BY seq').pluck().all() as number[];
    const read = this.db.transaction((seq: number) => this.readPhoto(seq));
    for (const seq of seqs) {
      const photo = read(seq);
      if (photo) yield photo;
    }
  }

  private chunks(targetId: number): ChunkInput[] {
    const rows = this.db
      .prepare('SELECT c.text, v.vector FROM chunks c JOIN chunk_vectors v ON v.chunk_id = c.id WHERE c.target_id = ? ORDER BY c.ordinal, c.id')
      .raw()
      .all(targetId) as [string, Buffer][];
    return rows.map(([text, vector]) => ({ text, vector: vectorOf(vector, this.dim) }));
  }

  private imageVector(targetId: number): Float32Array | null {
    const blob = this.db.prepare('SELECT vector FROM image_vectors WHERE target_id = ?').pluck().get(targetId) as Buffer | undefined;
    return blob ? vectorOf(blob, this.dim) : null;
  }

  private identifiers(targetId: number): string[] {
    return this.db.prepare('SELECT display FROM identifiers WHERE target_id = ? ORDER BY key').pluck().all(targetId) as string[];
  }

  private imageHash(targetId: number): string | null {
    return (this.db.prepare('SELECT hash FROM image_hashes WHERE target_id = ?').pluck().get(targetId) as string | undefined) ?? null;
  }

  private imageLayout(targetId: number): ImageLayout | null {
    const row = this.db.prepare('SELECT key, signature FROM image_layouts WHERE target_id = ?').get(targetId) as { key: string; signature: Buffer } | undefined;
    return row ? { key: row.key, signature: new Uint8Array(row.signature) } : null;
  }

  private readDocument(seq: number): NewDocument | null {
    const row = this.db.prepare('SELECT * FROM documents WHERE seq = ?').get(seq) as DocumentRow | undefined;
    if (!row) return null; // deleted since the id list was read
    const targets = this.db.prepare('SELECT id, page_number, text, thumbnail_key, text_source FROM targets WHERE document_seq = ? ORDER BY page_number').raw().all(seq) as [number, number, string, string | null, TextSource][];
    const pages: NewPage[] = targets.map(([targetId, number, text, thumbnailKey, textSource]) => ({
      number,
      text,
      thumbnailKey,
      textSource,
      imageVector: this.imageVector(targetId),
      chunks: this.chunks(targetId),
      identifiers: this.identifiers(targetId),
      imageHash: this.imageHash(targetId),
      imageLayout: this.imageLayout(targetId),
    }));
    return {
      document: toDocument(row),
      pages,
    };
  }

  private readPhoto(seq: number): NewPhoto | null {
    const row = this.db.prepare('SELECT * FROM photos WHERE seq = ?').get(seq) as PhotoRow | undefined;
    if (!row) return null;
    const targetId = this.db.prepare('SELECT id FROM targets WHERE photo_seq = ?').pluck().get(seq) as number | undefined;
    const imageVector = targetId === undefined ? null : this.imageVector(targetId);
    if (targetId === undefined || !imageVector) return null; // cannot happen: a photo is stored with its vector
    return {
      photo: toPhoto(row),
      imageVector,
      chunks: this.chunks(targetId),
      identifiers: this.identifiers(targetId),
      imageHash: this.imageHash(targetId),
      imageLayout: this.imageLayout(targetId),
    };
  }
}
