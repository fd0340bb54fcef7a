/**
 * The embedded knowledge store: one SQLite file (better-sqlite3, WAL) with sqlite-vec for
 * cosine distances and FTS5 for BM25. Schema: migrations.ts. Vector search: vector-space.ts
 * (exact scans while small; an in-memory 1-bit index with exact rescoring at scale).
 *
 * Several processes may open one file (the server and a CLI ingest): writes take the write
 * lock up front (BEGIN IMMEDIATE) and wait up to `busyTimeoutMs` for it; the in-memory index
 * notices other processes' commits through `PRAGMA data_version` before every search.
 */
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { ConfigError, InvalidInputError, UnavailableError } from '../../errors.js';
import { normalizeIdentifier } from '../../search/identifiers.js';
import type {
  Candidate,
  ChunkInput,
  DocumentDetails,
  DocumentRecord,
  HitRecords,
  HitTarget,
  ImageKeys,
  JsonObject,
  KnowledgeStore,
  NewDocument,
  NewPhoto,
  Page,
  PageRecord,
  PhotoDetails,
  PhotoRecord,
  RemoteCallOptions,
  SearchFilter,
  SignalQuery,
  SignalResults,
  StoreStatus,
  TextSource,
  UnfinishedAdd,
} from '../knowledge-store.js';
import { defaultTextSource, hitRecordsOneByOne, photoSearchText, searchSignalsOneByOne } from '../knowledge-store.js';
import { EmbeddingModelMismatchError, InvalidVectorError, VectorSizeMismatchError } from '../store-errors.js';
import { KIND_CODES } from './binary-index.js';
import { checkImageLayout, isLayoutCopy, LAYOUT_KEY_MAX_DISTANCE, layoutCorrelation, type ImageLayout } from '../../identify/page-layout.js';
import { checkHashQuery, hammingDistance, hashBands, isDifferenceHash } from '../../identify/perceptual-hash.js';
import { contentTerms, termCoverage } from '../../search/snippet.js';
import { excerptAround, lexicalPhrases, phraseWords } from './lexical-query.js';
import { lexicalRowCount } from './lexical-top-k.js';
import { LexicalRanker, type LexicalRow } from './lexical-ranker.js';
import { LexicalThread } from './lexical-thread.js';
import { runMigrations } from './migrations.js';
import { quickCheck, unreadableDatabase } from './open-database.js';
import { compileFilter } from './search-filter.js';
import { CHUNK_SPACE, IMAGE_SPACE, VectorSpace, type CandidateCounts, type ScoredRow, type SearchStages } from './vector-space.js';
import { createdMs, decodeCursor, encodeCursor } from '../record-cursor.js';
import { toDocument, toPhoto, type DocumentRow, type PhotoRow } from './rows.js';

export interface SqliteKnowledgeStoreOptions {
  /** The database file, e.g. `DATA_DIR/fieldscope.db`; created with its folder's permissions. */
  file: string;
  /** Embedding size of the model; checked against the size the store was built with. */
  dim: number;
  /** Embedding model id; checked against the model the store was built with. */
  modelId: string;
  /**
   * Vector count of a space (chunks, images) up to which searches scan every vector exactly;
   * above it, the quantized index with exact rescoring is used. Default 10 000 (an exact scan
   * of 10k × 512 takes ~6 ms).
   */
  exactSearchThreshold?: number;
  /** 'auto' (default) as above; 'exact' always scans every vector (baselines, debugging). */
  vectorSearch?: 'auto' | 'exact';
  /**
   * How many candidates an indexed search keeps: `coarse` after the Hamming pass, `rescore`
   * after the refine pass (read and scored exactly). Default: `candidateCounts` in
   * vector-space.ts. For benchmarks that trade recall against latency.
   */
  vectorCandidates?: CandidateCounts;
  /**
   * A cap on the work of one unfiltered lexical query: the pages FTS5 may rank (~1.5 µs each),
   * counted over the query's terms, rarest first (default 100 000; a pasted paragraph of 30
   * terms would otherwise rank every page several times over). Terms beyond it are left out of
   * the lexical signal; they are the commonest, with the smallest BM25 weight, and the dense
   * signals still see them. The rarest term is always kept, and one-term and filtered queries
   * are never cut. Terms on more than half the pages are always left out when another term
   * remains (their BM25 weight is zero). `Infinity` = no cap.
   * 'auto' (default): the exact BM25 top k by a plan of conjunctions (lexical-top-k.ts) that
   * ranks only the pages that can reach it. 'exact': one FTS5 OR over every term, ranking every
   * matching page (baselines, debugging; ~1 s a query at 1M pages).
   */
  lexicalSearch?: 'auto' | 'exact';
  /**
   * Conjunction queries one lexical search may run before it returns the best found without
   * the proof that it is exact (default 64; a 3-term query needs ~3).
   */
  lexicalPlanBudget?: number;
  /**
   * Only for queries of more weighted terms than the plan takes (over 8, e.g. a pasted
   * paragraph): a cap on the pages FTS5 may rank (~1.5 µs each), counted over the query's
   * terms, rarest first (default 100 000). Terms beyond it are left out of the lexical signal;
   * they are the commonest, with the smallest BM25 weight, and the dense signals still see them.
   * The rarest term is always kept, and filtered queries are never cut. Terms on more than half
   * the pages are always left out when another term remains (their BM25 weight is ~0).
   * `Infinity` = no cap.
   */
  lexicalRankBudget?: number;
  /** How long a write waits for another process's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * Rows in the full-text index from which the lexical signal is ranked in the lexical worker
   * (lexical-thread.ts), beside the vector searches, instead of on the calling thread. Default
   * DEFAULT_LEXICAL_WORKER_MIN_ROWS; 0: always (a file store); Infinity: never. `:memory:` never.
   */
  lexicalWorkerMinRows?: number;
}

const DOCUMENT_KINDS = new Set<string>(Object.keys(KIND_CODES).filter((k) => k !== 'photo'));
const DEFAULT_EXACT_THRESHOLD = 10_000;
const DEFAULT_LEXICAL_BUDGET = 100_000;
const DEFAULT_LEXICAL_PLAN_BUDGET = 64;
/**
 * Below this many indexed pages BM25 costs less than the hop to the lexical worker and back
 * (bench/README.md, "Signals side by side"), so it runs on the calling thread.
 */
export const DEFAULT_LEXICAL_WORKER_MIN_ROWS = 5_000;
const PAGE_SIZE = 8192;

function metadataJson(metadata: JsonObject): string {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new InvalidInputError('INVALID_RECORD', 'metadata must be a JSON object.');
  return JSON.stringify(metadata);
}

function checkImageHash(hash: string | null | undefined, what: string): void {
  if (hash !== undefined && hash !== null && !isDifferenceHash(hash)) throw new InvalidInputError('INVALID_RECORD', `The image hash of ${what} must be 16 lower-case hex digits.`);
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidInputError('INVALID_LIMIT', `limit must be a non-negative integer; got ${limit}.`);
}

export class SqliteKnowledgeStore implements KnowledgeStore {
  private db: Database.Database | null = null;
  private chunkSpace: VectorSpace | null = null;
  private imageSpace: VectorSpace | null = null;
  private dataVersion = -1;
  private readonly exactThreshold: number;
  private readonly exactOnly: boolean;
  private readonly lexicalBudget: number;
  /** Candidate counts of indexed searches (undefined: the default); see the option. */
  vectorCandidates: CandidateCounts | undefined;
  private readonly lexicalExact: boolean;
  private readonly lexicalPlanBudget: number;
  private lexicalRanker: LexicalRanker | null = null;
  /** Null for `:memory:` (no file for a second connection to open). */
  private lexicalThread: LexicalThread | null = null;
  /** Indexed pages from which the lexical signal runs in the lexical worker (see the option); settable for benchmarks' A/B runs. */
  lexicalWorkerMinRows: number;
  /** Set by checkIntegrity when the file is damaged: the store is then not ready. */
  private damage: string | null = null;

  constructor(private readonly options: SqliteKnowledgeStoreOptions) {
    if (!Number.isInteger(options.dim) || options.dim < 1) throw new ConfigError(`The embedding size must be a positive integer; got ${options.dim}.`);
    this.exactThreshold = options.exactSearchThreshold ?? DEFAULT_EXACT_THRESHOLD;
    this.exactOnly = options.vectorSearch === 'exact';
    this.lexicalBudget = options.lexicalRankBudget ?? DEFAULT_LEXICAL_BUDGET;
    this.vectorCandidates = options.vectorCandidates;
    this.lexicalExact = options.lexicalSearch === 'exact';
    this.lexicalPlanBudget = Math.max(1, Math.floor(options.lexicalPlanBudget ?? DEFAULT_LEXICAL_PLAN_BUDGET));
    this.lexicalWorkerMinRows = options.lexicalWorkerMinRows ?? DEFAULT_LEXICAL_WORKER_MIN_ROWS;
  }

  get dim(): number {
    return this.options.dim;
  }

  async init(): Promise<void> {
    if (this.db) return;
    let db: Database.Database;
    try {
      db = new Database(this.options.file);
    } catch (error) {
      throw unreadableDatabase(this.options.file, error) ?? error;
    }
    try {
      // Only a new, empty file takes this (an existing one keeps its page size). A 512-dim
      // float32 vector row is ~2,060 bytes, so a 4 KiB page holds one and half of it is empty:
      // vectors took 20 of 23 GB at 1M pages. 8 KiB pages hold three (75 % full), and a
      // rescoring read is still one page (bench/README.md, "Search at scale").
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.options.busyTimeoutMs ?? 5000))}`);
      // Rescoring reads scattered 2 KB vectors; mapping the file saves a copy per page.
      db.pragma('mmap_size = 1073741824');
      db.pragma('cache_size = -65536');
      sqliteVec.load(db);
      // A file that is not a database fails on its first read, here: say which file and what to do.
      db.pragma('schema_version');
      runMigrations(db, this.options.file);
      this.checkVectorSpace(db);
      this.chunkSpace = new VectorSpace(db, CHUNK_SPACE, this.options.dim);
      this.imageSpace = new VectorSpace(db, IMAGE_SPACE, this.options.dim);
      this.db = db;
      const rankOptions = { exact: this.lexicalExact, planBudget: this.lexicalPlanBudget, rankBudget: this.lexicalBudget };
      this.lexicalRanker = new LexicalRanker(db, rankOptions);
      const inMemory = this.options.file === ':memory:' || this.options.file === '' || this.options.file.startsWith('file::memory:');
      this.lexicalThread = inMemory ? null : new LexicalThread({ file: this.options.file, ...rankOptions });
      // Not started here: the first large search starts it (lexical-thread.ts says why).
      // An exact-only store never reads the coarse index: skip loading it.
      if (!this.exactOnly) this.syncIndexes(true);
    } catch (error) {
      this.db = null;
      db.close();
      throw unreadableDatabase(this.options.file, error) ?? error;
    }
  }

  /**
   * Reads every page once (`PRAGMA quick_check`) and keeps what is wrong, so a damaged page in
   * the middle of the file makes the store not ready (/ready 503, with the cause) from the start,
   * instead of a search failing on it later. Returns the problems (empty: sound).
   */
  checkIntegrity(): string[] {
    const { db } = this.open();
    let problems: string[];
    try {
      problems = quickCheck(db);
    } catch (error) {
      problems = [error instanceof Error ? error.message : String(error)];
    }
    this.damage = problems.length > 0 ? `the database file is damaged (${problems[0]}${problems.length > 1 ? ', …' : ''})` : null;
    return problems;
  }

  /** First init records the vector size and model; every later one must match them. */
  private checkVectorSpace(db: Database.Database): void {
    db.transaction(() => {
      const get = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
      const storedDim = get.get('vector_dim') as number | undefined;
      const storedModel = get.get('model_id') as string | undefined;
      if (storedDim === undefined) {
        const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        put.run('vector_dim', this.options.dim);
        put.run('model_id', this.options.modelId);
        put.run('created_at', new Date().toISOString());
        return;
      }
      if (storedDim !== this.options.dim) throw new VectorSizeMismatchError(this.options.file, storedDim, this.options.dim);
      if (storedModel !== this.options.modelId) throw new EmbeddingModelMismatchError(this.options.file, storedModel ?? '(unknown)', this.options.modelId);
    }).immediate();
  }

  /** Where the last indexed search of each space spent its time (benchmarks). */
  lastSearchStages(): { chunk: SearchStages | null; image: SearchStages | null } {
    return { chunk: this.chunkSpace?.lastStages ?? null, image: this.imageSpace?.lastStages ?? null };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    // Drop the coarse indexes with their memory; init() builds them again.
    this.chunkSpace = null;
    this.imageSpace = null;
    this.lexicalRanker = null;
    const thread = this.lexicalThread;
    this.lexicalThread = null;
    await thread?.close();
    db?.close();
  }

  async storeStatus(): Promise<StoreStatus> {
    let ready = false;
    if (this.db && !this.damage) {
      try {
        ready = this.db.prepare('SELECT 1').pluck().get() === 1;
      } catch {
        ready = false;
      }
    }
    return { kind: 'sqlite', ready, location: this.options.file, ...(this.damage ? { problem: this.damage } : {}) };
  }

  private open(): { db: Database.Database; chunks: VectorSpace; images: VectorSpace } {
    if (!this.db || !this.chunkSpace || !this.imageSpace) throw new UnavailableError('The knowledge store is not open.');
    return { db: this.db, chunks: this.chunkSpace, images: this.imageSpace };
  }

  /** Brings the in-memory indexes up to date with commits of other connections. */
  private syncIndexes(force = false): void {
    const { db, chunks, images } = this.open();
    const version = db.pragma('data_version', { simple: true }) as number;
    if (!force && version === this.dataVersion) return;
    this.dataVersion = version;
    if (force) {
      chunks.reload();
      images.reload();
    } else {
      chunks.sync();
      images.sync();
    }
  }

  /** Validated, L2-normalised copy of an embedding. */
  private unitVector(vector: Float32Array, what: string): Float32Array {
    if (!(vector instanceof Float32Array) || vector.length !== this.options.dim) {
      throw new InvalidVectorError(`${what} has ${vector?.length ?? 'no'} dimensions; the store holds ${this.options.dim}-dimensional vectors.`);
    }
    let sum = 0;
    for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
    if (!Number.isFinite(sum)) throw new InvalidVectorError(`${what} contains NaN or infinite values.`);
    if (sum === 0) throw new InvalidVectorError(`${what} is all zeros.`);
    const norm = Math.sqrt(sum);
    const out = new Float32Array(vector.length);
    for (let i = 0; i < vector.length; i++) out[i] = vector[i]! / norm;
    return out;
  }

  private insertChunks(db: Database.Database, chunks: VectorSpace, targetId: number, items: ChunkInput[], where: string): void {
    const insert = db.prepare('INSERT INTO chunks (target_id, ordinal, text) VALUES (?, ?, ?)');
    items.forEach((chunk, ordinal) => {
      const vector = this.unitVector(chunk.vector, `The vector of chunk ${ordinal + 1} of ${where}`);
      const chunkId = Number(insert.run(targetId, ordinal, chunk.text).lastInsertRowid);
      chunks.insert(chunkId, targetId, vector);
    });
  }

  private insertIdentifiers(db: Database.Database, targetId: number, identifiers: string[]): void {
    const insert = db.prepare('INSERT OR IGNORE INTO identifiers (key, target_id, display) VALUES (?, ?, ?)');
    for (const identifier of identifiers) {
      const key = normalizeIdentifier(identifier);
      if (key.length > 0) insert.run(key, targetId, identifier);
    }
  }

  /** After a commit: fix centres that were just created, and load new codes. */
  private afterWrite(centersCreated: boolean): void {
    if (this.exactOnly) return;
    const { chunks, images } = this.open();
    if (centersCreated) {
      chunks.reload();
      images.reload();
    } else {
      chunks.loadNew();
      images.loadNew();
    }
  }

  private ensureCenters(chunks: VectorSpace, images: VectorSpace): boolean {
    if (this.exactOnly) return false;
    const a = chunks.ensureCenter(this.exactThreshold);
    const b = images.ensureCenter(this.exactThreshold);
    return a || b;
  }

  async addDocument(input: NewDocument): Promise<{ document: DocumentRecord; created: boolean }> {
    const { db, chunks, images } = this.open();
    const doc = input.document;
    if (!DOCUMENT_KINDS.has(doc.kind)) throw new InvalidInputError('INVALID_RECORD', `Unknown document kind ${JSON.stringify(doc.kind)}.`);
    const ms = createdMs(doc.createdAt);
    const metadata = metadataJson(doc.metadata);
    const numbers = new Set<number>();
    for (const page of input.pages) {
      if (!Number.isInteger(page.number) || page.number < 1) throw new InvalidInputError('INVALID_RECORD', `Page numbers start at 1; got ${page.number}.`);
      if (numbers.has(page.number)) throw new InvalidInputError('INVALID_RECORD', `Page ${page.number} appears twice.`);
      numbers.add(page.number);
      checkImageHash(page.imageHash, `page ${page.number}`);
      if (page.imageLayout) checkImageLayout(page.imageLayout, 'INVALID_RECORD', `page ${page.number}`);
    }

    const write = db.transaction((): { document: DocumentRecord; created: boolean; centers: boolean } => {
      chunks.refreshCenter();
      images.refreshCenter();
      const existing = db.prepare('SELECT * FROM documents WHERE content_hash = ?').get(doc.contentHash) as DocumentRow | undefined;
      if (existing) return { document: toDocument(existing), created: false, centers: false };
      if (db.prepare('SELECT 1 FROM documents WHERE id = ?').get(doc.id)) throw new InvalidInputError('DUPLICATE_ID', `A document with id ${doc.id} already exists.`);
      const seq = Number(
        db
          .prepare(
            `INSERT INTO documents (id, title, kind, mime_type, content_hash, byte_size, page_count, metadata, blob_key, created_at, created_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(doc.id, doc.title, doc.kind, doc.mimeType, doc.contentHash, doc.byteSize, doc.pageCount, metadata, doc.blobKey, doc.createdAt, ms).lastInsertRowid,
      );
      const insertTarget = db.prepare('INSERT INTO targets (document_seq, page_number, source_kind, text, thumbnail_key, text_source) VALUES (?, ?, ?, ?, ?, ?)');
      for (const page of input.pages) {
        const targetId = Number(insertTarget.run(seq, page.number, doc.kind, page.text, page.thumbnailKey, page.textSource ?? defaultTextSource(page.text)).lastInsertRowid);
        if (page.imageVector) images.insert(targetId, targetId, this.unitVector(page.imageVector, `The image vector of page ${page.number}`));
        this.insertChunks(db, chunks, targetId, page.chunks, `page ${page.number}`);
        this.insertIdentifiers(db, targetId, page.identifiers);
        if (page.imageHash) this.insertImageHash(db, targetId, page.imageHash);
        if (page.imageLayout) this.insertImageLayout(db, targetId, page.imageLayout);
      }
      const centers = this.ensureCenters(chunks, images);
      return { document: { ...doc, metadata: JSON.parse(metadata) as JsonObject }, created: true, centers };
    });
    const result = write.immediate();
    if (result.created) this.afterWrite(result.centers);
    return { document: result.document, created: result.created };
  }

  async addPhoto(input: NewPhoto): Promise<{ photo: PhotoRecord; created: boolean }> {
    const { db, chunks, images } = this.open();
    const photo = input.photo;
    createdMs(photo.createdAt);
    checkImageHash(input.imageHash, 'the photo');
    if (input.imageLayout) checkImageLayout(input.imageLayout, 'INVALID_RECORD', 'the photo');
    const metadata = metadataJson(photo.metadata);
    const readText = photo.readText ? JSON.stringify(photo.readText) : null;
    const write = db.transaction((): { photo: PhotoRecord; created: boolean; centers: boolean } => {
      chunks.refreshCenter();
      images.refreshCenter();
      const existing = db.prepare('SELECT * FROM photos WHERE content_hash = ?').get(photo.contentHash) as PhotoRow | undefined;
      if (existing) return { photo: toPhoto(existing), created: false, centers: false };
      if (db.prepare('SELECT 1 FROM photos WHERE id = ?').get(photo.id)) throw new InvalidInputError('DUPLICATE_ID', `A photo with id ${photo.id} already exists.`);
      const seq = Number(
        db
          .prepare(
            `INSERT INTO photos (id, caption, metadata, content_hash, mime_type, width, height, blob_key, created_at, read_text)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(photo.id, photo.caption, metadata, photo.contentHash, photo.mimeType, photo.width, photo.height, photo.blobKey, photo.createdAt, readText).lastInsertRowid,
      );
      const targetId = Number(
        db.prepare(`INSERT INTO targets (photo_seq, source_kind, text, thumbnail_key) VALUES (?, 'photo', ?, NULL)`).run(seq, photoSearchText(photo.caption, photo.readText)).lastInsertRowid,
      );
      images.insert(targetId, targetId, this.unitVector(input.imageVector, 'The photo vector'));
      this.insertChunks(db, chunks, targetId, input.chunks, 'the caption');
      this.insertIdentifiers(db, targetId, input.identifiers);
      if (input.imageHash) this.insertImageHash(db, targetId, input.imageHash);
      if (input.imageLayout) this.insertImageLayout(db, targetId, input.imageLayout);
      const centers = this.ensureCenters(chunks, images);
      return { photo: { ...photo, metadata: JSON.parse(metadata) as JsonObject, readText: readText === null ? null : (JSON.parse(readText) as PhotoRecord['readText']) }, created: true, centers };
    });
    const result = write.immediate();
    if (result.created) this.afterWrite(result.centers);
    return { photo: result.photo, created: result.created };
  }

  async updateDocumentDetails(id: string, details: DocumentDetails): Promise<DocumentRecord | null> {
    const { db } = this.open();
    const metadata = metadataJson(details.metadata);
    return db
      .transaction((): DocumentRecord | null => {
        const row = db.prepare('SELECT seq FROM documents WHERE id = ?').get(id) as { seq: number } | undefined;
        if (!row) return null;
        db.prepare('UPDATE documents SET title = ?, metadata = ? WHERE seq = ?').run(details.title, metadata, row.seq);
        const target = db.prepare('SELECT id FROM targets WHERE document_seq = ? AND page_number = ?').pluck().get(row.seq, details.page.number) as number | undefined;
        if (target !== undefined) {
          db.prepare('DELETE FROM identifiers WHERE target_id = ?').run(target);
          this.insertIdentifiers(db, target, details.page.identifiers);
        }
        return toDocument(db.prepare('SELECT * FROM documents WHERE seq = ?').get(row.seq) as DocumentRow);
      })
      .immediate();
  }

  async updatePhotoDetails(id: string, details: PhotoDetails): Promise<PhotoRecord | null> {
    const { db, chunks, images } = this.open();
    const metadata = metadataJson(details.metadata);
    const result = db
      .transaction((): { photo: PhotoRecord; oldChunkIds: number[]; centers: boolean } | null => {
        chunks.refreshCenter();
        images.refreshCenter();
        const row = db.prepare('SELECT seq FROM photos WHERE id = ?').get(id) as { seq: number } | undefined;
        if (!row) return null;
        db.prepare('UPDATE photos SET caption = ?, metadata = ? WHERE seq = ?').run(details.caption, metadata, row.seq);
        const updated = toPhoto(db.prepare('SELECT * FROM photos WHERE seq = ?').get(row.seq) as PhotoRow);
        const target = db.prepare('SELECT id FROM targets WHERE photo_seq = ?').pluck().get(row.seq) as number;
        // The lexical index follows targets.text through its trigger; what was read on the photo stays in it.
        db.prepare('UPDATE targets SET text = ? WHERE id = ?').run(photoSearchText(details.caption, updated.readText), target);
        const oldChunkIds = db.prepare('SELECT id FROM chunks WHERE target_id = ?').pluck().all(target) as number[];
        db.prepare('DELETE FROM chunks WHERE target_id = ?').run(target);
        this.insertChunks(db, chunks, target, details.chunks, 'the caption');
        db.prepare('DELETE FROM identifiers WHERE target_id = ?').run(target);
        this.insertIdentifiers(db, target, details.identifiers);
        const centers = this.ensureCenters(chunks, images);
        return { photo: updated, oldChunkIds, centers };
      })
      .immediate();
    if (!result) return null;
    chunks.index.remove(result.oldChunkIds);
    this.afterWrite(result.centers);
    return result.photo;
  }

  async findDocumentByHash(contentHash: string): Promise<DocumentRecord | null> {
    const row = this.open().db.prepare('SELECT * FROM documents WHERE content_hash = ?').get(contentHash) as DocumentRow | undefined;
    return row ? toDocument(row) : null;
  }

  async findPhotoByHash(contentHash: string): Promise<PhotoRecord | null> {
    const row = this.open().db.prepare('SELECT * FROM photos WHERE content_hash = ?').get(contentHash) as PhotoRow | undefined;
    return row ? toPhoto(row) : null;
  }

  async getDocument(id: string): Promise<DocumentRecord | null> {
    const row = this.open().db.prepare('SELECT * FROM documents WHERE id = ?').get(id) as DocumentRow | undefined;
    return row ? toDocument(row) : null;
  }

  async listDocuments(options: { first: number; after?: string | null }): Promise<Page<DocumentRecord>> {
    const { db } = this.open();
    const first = options.first;
    if (!Number.isInteger(first) || first < 0) throw new InvalidInputError('INVALID_LIMIT', `first must be a non-negative integer; got ${first}.`);
    const totalCount = db.prepare('SELECT count(*) FROM documents').pluck().get() as number;
    let rows: DocumentRow[];
    if (options.after) {
      const [ms, id] = decodeCursor(options.after);
      rows = db
        .prepare('SELECT * FROM documents WHERE created_ms < ? OR (created_ms = ? AND id < ?) ORDER BY created_ms DESC, id DESC LIMIT ?')
        .all(ms, ms, id, first + 1) as DocumentRow[];
    } else {
      rows = db.prepare('SELECT * FROM documents ORDER BY created_ms DESC, id DESC LIMIT ?').all(first + 1) as DocumentRow[];
    }
    const hasNextPage = rows.length > first;
    const page = rows.slice(0, first);
    const cursors = page.map((row) => encodeCursor(row.created_ms, row.id));
    return { items: page.map(toDocument), totalCount, cursors, endCursor: cursors.at(-1) ?? null, hasNextPage };
  }

  async getPages(documentId: string): Promise<PageRecord[]> {
    const rows = this.open()
      .db.prepare(
        `SELECT t.page_number AS number, t.text, t.thumbnail_key AS thumbnailKey, t.text_source AS textSource
         FROM targets t JOIN documents d ON d.seq = t.document_seq WHERE d.id = ? ORDER BY t.page_number`,
      )
      .all(documentId) as { number: number; text: string; thumbnailKey: string | null; textSource: TextSource }[];
    return rows.map((r) => ({ documentId, ...r }));
  }

  async getPage(documentId: string, pageNumber: number): Promise<PageRecord | null> {
    const row = this.open()
      .db.prepare(
        `SELECT t.page_number AS number, t.text, t.thumbnail_key AS thumbnailKey, t.text_source AS textSource
         FROM targets t JOIN documents d ON d.seq = t.document_seq WHERE d.id = ? AND t.page_number = ?`,
      )
      .get(documentId, pageNumber) as { number: number; text: string; thumbnailKey: string | null; textSource: TextSource } | undefined;
    return row ? { documentId, ...row } : null;
  }

  async getPhoto(id: string): Promise<PhotoRecord | null> {
    const row = this.open().db.prepare('SELECT * FROM photos WHERE id = ?').get(id) as PhotoRow | undefined;
    return row ? toPhoto(row) : null;
  }

  async countPages(): Promise<number> {
    return this.open().db.prepare('SELECT count(*) FROM targets WHERE document_seq IS NOT NULL').pluck().get() as number;
  }

  async deleteDocument(id: string): Promise<{ blobKeys: string[] } | null> {
    const { db, chunks, images } = this.open();
    const removed = db
      .transaction(() => {
        const row = db.prepare('SELECT seq, blob_key FROM documents WHERE id = ?').get(id) as { seq: number; blob_key: string } | undefined;
        if (!row) return null;
        const thumbnails = db.prepare('SELECT DISTINCT thumbnail_key FROM targets WHERE document_seq = ? AND thumbnail_key IS NOT NULL').pluck().all(row.seq) as string[];
        const targetIds = db.prepare('SELECT id FROM targets WHERE document_seq = ?').pluck().all(row.seq) as number[];
        const chunkIds = db.prepare('SELECT c.id FROM chunks c JOIN targets t ON t.id = c.target_id WHERE t.document_seq = ?').pluck().all(row.seq) as number[];
        db.prepare('DELETE FROM documents WHERE seq = ?').run(row.seq);
        return { blobKeys: [...new Set([row.blob_key, ...thumbnails])], targetIds, chunkIds };
      })
      .immediate();
    if (!removed) return null;
    chunks.index.remove(removed.chunkIds);
    images.index.remove(removed.targetIds);
    return { blobKeys: removed.blobKeys };
  }

  async deletePhoto(id: string): Promise<{ blobKeys: string[] } | null> {
    const { db, chunks, images } = this.open();
    const removed = db
      .transaction(() => {
        const row = db.prepare('SELECT seq, blob_key FROM photos WHERE id = ?').get(id) as { seq: number; blob_key: string } | undefined;
        if (!row) return null;
        const targetIds = db.prepare('SELECT id FROM targets WHERE photo_seq = ?').pluck().all(row.seq) as number[];
        const chunkIds = db.prepare('SELECT c.id FROM chunks c JOIN targets t ON t.id = c.target_id WHERE t.photo_seq = ?').pluck().all(row.seq) as number[];
        db.prepare('DELETE FROM photos WHERE seq = ?').run(row.seq);
        return { blobKeys: [row.blob_key], targetIds, chunkIds };
      })
      .immediate();
    if (!removed) return null;
    chunks.index.remove(removed.chunkIds);
    images.index.remove(removed.targetIds);
    return { blobKeys: removed.blobKeys };
  }

  /** An add here is one SQLite transaction: a writer killed half-way leaves no record (only files, for the blob sweep). */
  async removeUnfinishedAdds(): Promise<UnfinishedAdd[]> {
    this.open();
    return [];
  }

  async isBlobReferenced(blobKey: string): Promise<boolean> {
    const row = this.open()
      .db.prepare(
        `SELECT EXISTS (SELECT 1 FROM documents WHERE blob_key = @key)
             OR EXISTS (SELECT 1 FROM photos WHERE blob_key = @key)
             OR EXISTS (SELECT 1 FROM targets WHERE thumbnail_key = @key)`,
      )
      .pluck()
      .get({ key: blobKey });
    return row === 1;
  }

  // ---- search ----

  /** HitTargets of target ids. */
  private describeTargets(db: Database.Database, targetIds: number[]): Map<number, HitTarget> {
    const rows = db
      .prepare(
        `SELECT t.id, d.id, t.page_number, p.id FROM targets t
         LEFT JOIN documents d ON d.seq = t.document_seq LEFT JOIN photos p ON p.seq = t.photo_seq
         WHERE t.id IN (SELECT value FROM json_each(?))`,
      )
      .raw()
      .all(JSON.stringify(targetIds)) as [number, string | null, number | null, string | null][];
    const out = new Map<number, HitTarget>();
    for (const [id, documentId, pageNumber, photoId] of rows) {
      if (documentId !== null && pageNumber !== null) out.set(id, { kind: 'page', documentId, pageNumber });
      else if (photoId !== null) out.set(id, { kind: 'photo', photoId });
    }
    return out;
  }

  private vectorSearch(space: VectorSpace, vector: Float32Array, limit: number, filter: SearchFilter | undefined): ScoredRow[] {
    checkLimit(limit);
    const query = this.unitVector(vector, 'The query vector');
    if (limit === 0) return [];
    const { db } = this.open();
    const compiled = compileFilter(db, filter);
    if (!this.exactOnly) this.syncIndexes();
    const useIndex = !this.exactOnly && space.useIndex(this.exactThreshold);
    return space.search(query, limit, compiled, useIndex, this.vectorCandidates);
  }

  async searchChunks(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    const { db, chunks } = this.open();
    const rows = this.vectorSearch(chunks, vector, limit, filter);
    if (rows.length === 0) return [];
    const targets = this.describeTargets(
      db,
      rows.map((r) => r.targetId),
    );
    const texts = new Map(
      db
        .prepare('SELECT id, text FROM chunks WHERE id IN (SELECT value FROM json_each(?))')
        .raw()
        .all(JSON.stringify(rows.map((r) => r.rowId))) as [number, string][],
    );
    return rows.flatMap((r) => {
      const target = targets.get(r.targetId);
      return target ? [{ target, score: 1 - r.distance, matchedText: texts.get(r.rowId) ?? '' }] : [];
    });
  }

  async searchImages(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    const { db, images } = this.open();
    const rows = this.vectorSearch(images, vector, limit, filter);
    if (rows.length === 0) return [];
    const targets = this.describeTargets(
      db,
      rows.map((r) => r.targetId),
    );
    return rows.flatMap((r) => {
      const target = targets.get(r.targetId);
      return target ? [{ target, score: 1 - r.distance }] : [];
    });
  }

  /** Whether the lexical signal is ranked in the lexical worker now (a file store with enough indexed pages). */
  private useLexicalThread(): boolean {
    if (!this.lexicalThread || !this.db) return false;
    return this.lexicalWorkerMinRows <= 0 || lexicalRowCount(this.db) >= this.lexicalWorkerMinRows;
  }

  /** The lexical worker, for tests of its crash handling; null for `:memory:`. */
  lexicalThreadForTests(): LexicalThread | null {
    return this.lexicalThread;
  }

  /**
   * BM25 over page text and photo captions (lexical-ranker.ts). On a large file store the ranking
   * runs in the lexical worker and this method awaits it (searchSignals starts it first and runs
   * the vector searches meanwhile); `signal` ends that wait. The excerpts are read here.
   */
  async searchLexical(query: string, limit: number, filter?: SearchFilter, signal?: AbortSignal): Promise<Candidate[]> {
    checkLimit(limit);
    signal?.throwIfAborted();
    const { db } = this.open();
    const phrases = lexicalPhrases(query);
    if (phrases.length === 0 || limit === 0) return [];
    let rows: LexicalRow[];
    // The worker only once it is ready: the searches while it starts rank here, as small stores do.
    if (this.useLexicalThread() && this.lexicalThread!.readyElseStart()) {
      // Checked here too, so a bad filter fails with its own error before any hop.
      compileFilter(db, filter);
      rows = await this.lexicalThread!.rank(query, limit, filter, signal);
    } else {
      rows = this.lexicalRanker!.rank(query, limit, filter);
    }
    if (rows.length === 0) return [];
    return this.lexicalCandidates(rows, query, phrases);
  }

  /** The ranked rows as candidates: target, score, an excerpt around the query's words, coverage. */
  private lexicalCandidates(rows: LexicalRow[], query: string, phrases: string[]): Candidate[] {
    // Open again: the store may have been closed while the worker ranked.
    const { db } = this.open();
    const ids = rows.map(([id]) => id);
    const targets = this.describeTargets(db, ids);
    const texts = new Map(db.prepare('SELECT id, text FROM targets WHERE id IN (SELECT value FROM json_each(?))').raw().all(JSON.stringify(ids)) as [number, string][]);
    const words = phraseWords(phrases);
    const terms = contentTerms(query);
    return rows.flatMap(([id, score]) => {
      const target = targets.get(id);
      const text = texts.get(id) ?? '';
      return target ? [{ target, score, matchedText: excerptAround(text, words), coverage: termCoverage(terms, text) }] : [];
    });
  }

  async searchIdentifiers(identifiers: string[], limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    checkLimit(limit);
    const { db } = this.open();
    const keys = [...new Set(identifiers.map(normalizeIdentifier).filter((k) => k.length > 0))];
    if (keys.length === 0 || limit === 0) return [];
    const compiled = compileFilter(db, filter);
    const rows = db
      .prepare(
        `SELECT i.target_id, count(*) AS matched, group_concat(i.display, ', ') FROM identifiers i
         ${compiled ? 'JOIN targets t ON t.id = i.target_id' : ''}
         WHERE i.key IN (SELECT value FROM json_each(?)) ${compiled ? `AND ${compiled.sql}` : ''}
         GROUP BY i.target_id ORDER BY matched DESC, i.target_id LIMIT ?`,
      )
      .raw()
      .all(JSON.stringify(keys), ...(compiled?.params ?? []), limit) as [number, number, string][];
    if (rows.length === 0) return [];
    const targets = this.describeTargets(
      db,
      rows.map(([id]) => id),
    );
    return rows.flatMap(([id, matched, found]) => {
      const target = targets.get(id);
      return target ? [{ target, score: matched, matchedText: found }] : [];
    });
  }

  private insertImageHash(db: Database.Database, targetId: number, hash: string): void {
    db.prepare('INSERT INTO image_hashes (target_id, hash, b0, b1, b2, b3, b4, b5, b6, b7) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(targetId, hash, ...hashBands(hash));
  }

  async searchImageHash(hash: string, maxDistance: number, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    checkHashQuery(hash, maxDistance);
    checkLimit(limit);
    const { db } = this.open();
    if (limit === 0) return [];
    const compiled = compileFilter(db, filter);
    const bands = hashBands(hash);
    // One OR of indexed equalities: SQLite answers it with a union of index lookups (multi-index OR).
    const rows = db
      .prepare(
        `SELECT h.target_id, h.hash FROM image_hashes h ${compiled ? 'JOIN targets t ON t.id = h.target_id' : ''}
         WHERE (${bands.map((_, i) => `h.b${i} = ?`).join(' OR ')}) ${compiled ? `AND ${compiled.sql}` : ''}`,
      )
      .raw()
      .all(...bands, ...(compiled?.params ?? [])) as [number, string][];
    const close = rows
      .map(([id, stored]) => ({ id, distance: hammingDistance(hash, stored) }))
      .filter((r) => r.distance <= maxDistance)
      .sort((a, b) => a.distance - b.distance || a.id - b.id)
      .slice(0, limit);
    if (close.length === 0) return [];
    const targets = this.describeTargets(
      db,
      close.map((r) => r.id),
    );
    return close.flatMap((r) => {
      const target = targets.get(r.id);
      return target ? [{ target, score: 64 - r.distance, hashDistance: r.distance }] : [];
    });
  }

  private insertImageLayout(db: Database.Database, targetId: number, layout: ImageLayout): void {
    db.prepare('INSERT INTO image_layouts (target_id, key, signature, b0, b1, b2, b3, b4, b5, b6, b7) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      targetId,
      layout.key,
      Buffer.from(layout.signature),
      ...hashBands(layout.key),
    );
  }

  async searchImageLayout(layout: ImageLayout, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    checkImageLayout(layout, 'INVALID_INPUT', 'the query');
    checkLimit(limit);
    const { db } = this.open();
    if (limit === 0) return [];
    const compiled = compileFilter(db, filter);
    const bands = hashBands(layout.key);
    // Keys first (any band equal: an index lookup), signatures only for keys close enough to matter.
    const keyed = db
      .prepare(
        `SELECT l.target_id, l.key FROM image_layouts l ${compiled ? 'JOIN targets t ON t.id = l.target_id' : ''}
         WHERE (${bands.map((_, i) => `l.b${i} = ?`).join(' OR ')}) ${compiled ? `AND ${compiled.sql}` : ''}`,
      )
      .raw()
      .all(...bands, ...(compiled?.params ?? [])) as [number, string][];
    const near = keyed.filter(([, key]) => hammingDistance(layout.key, key) <= LAYOUT_KEY_MAX_DISTANCE).map(([id]) => id);
    if (near.length === 0) return [];
    const signatures = db
      .prepare('SELECT target_id, signature FROM image_layouts WHERE target_id IN (SELECT value FROM json_each(?))')
      .raw()
      .all(JSON.stringify(near)) as [number, Buffer][];
    const copies = signatures
      .map(([id, signature]) => ({ id, correlation: layoutCorrelation(layout.signature, new Uint8Array(signature)) }))
      .filter((r) => isLayoutCopy(r.correlation))
      .sort((a, b) => b.correlation - a.correlation || a.id - b.id)
      .slice(0, limit);
    if (copies.length === 0) return [];
    const targets = this.describeTargets(
      db,
      copies.map((r) => r.id),
    );
    return copies.flatMap((r) => {
      const target = targets.get(r.id);
      return target ? [{ target, score: r.correlation, layoutCorrelation: r.correlation }] : [];
    });
  }

  async listTargetsWithoutImageKeys(limit: number, after?: string | null): Promise<{ targets: HitTarget[]; next: string | null }> {
    checkLimit(limit);
    const { db } = this.open();
    const from = after === undefined || after === null ? 0 : Number(after);
    if (!Number.isSafeInteger(from) || from < 0) throw new InvalidInputError('INVALID_CURSOR', 'The cursor was not made by listTargetsWithoutImageKeys.');
    if (limit === 0) return { targets: [], next: null };
    const ids = (
      db
        .prepare(
          `SELECT t.id FROM targets t
           WHERE t.id > ? AND t.source_kind IN ('pdf', 'image', 'photo')
             AND NOT EXISTS (SELECT 1 FROM image_hashes h WHERE h.target_id = t.id)
             AND NOT EXISTS (SELECT 1 FROM image_layouts l WHERE l.target_id = t.id)
           ORDER BY t.id LIMIT ?`,
        )
        .raw()
        .all(from, limit) as [number][]
    ).map(([id]) => id);
    const described = this.describeTargets(db, ids);
    const targets = ids.flatMap((id) => {
      const target = described.get(id);
      return target ? [target] : [];
    });
    return { targets, next: ids.length === limit ? String(ids[ids.length - 1]) : null };
  }

  async setImageKeys(target: HitTarget, keys: ImageKeys): Promise<boolean> {
    checkImageHash(keys.hash, 'the target');
    if (keys.layout) checkImageLayout(keys.layout, 'INVALID_RECORD', 'the target');
    const { db } = this.open();
    const row = (
      target.kind === 'page'
        ? db.prepare('SELECT t.id FROM targets t JOIN documents d ON d.seq = t.document_seq WHERE d.id = ? AND t.page_number = ?').get(target.documentId, target.pageNumber)
        : db.prepare('SELECT t.id FROM targets t JOIN photos p ON p.seq = t.photo_seq WHERE p.id = ?').get(target.photoId)
    ) as { id: number } | undefined;
    if (!row) return false;
    db.transaction(() => {
      db.prepare('DELETE FROM image_hashes WHERE target_id = ?').run(row.id);
      db.prepare('DELETE FROM image_layouts WHERE target_id = ?').run(row.id);
      if (keys.hash) this.insertImageHash(db, row.id, keys.hash);
      if (keys.layout) this.insertImageLayout(db, row.id, keys.layout);
    }).immediate();
    return true;
  }

  /**
   * The lexical searches first: on a large store they go to the lexical worker and run there
   * while this thread does the vector, identifier and near-copy searches; on a small one they run
   * here first, as before. Each list is what its single-signal method returns.
   *
   * Snapshots: every commit made before this call is in every list. The lists need not see one
   * snapshot, though: the lexical ones read the file as of when the worker begins them (its read
   * transaction), the others as of this call; a commit between those moments (another process's,
   * or a write another request makes here while this search waits for the worker) may be in one
   * list and not another. Fusion takes each list on its own, so the cost is at most a page that
   * one signal sees a few milliseconds before the others.
   */
  async searchSignals(query: SignalQuery, limit: number, filter?: SearchFilter, options?: RemoteCallOptions): Promise<SignalResults> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const { text, image, read } = query;
    const none = Promise.resolve([] as Candidate[]);
    const lexical = text ? this.searchLexical(text.words, limit, filter, signal) : none;
    const readLexical = read?.words.trim() ? this.searchLexical(read.words, limit, filter, signal) : none;
    // Every other signal, here, while the worker ranks (no words: the lexical lists are above).
    const [others, lexicalFound, readLexicalFound] = await Promise.all([
      searchSignalsOneByOne(this, { text: text ? { ...text, words: '' } : null, image, read: read ? { ...read, words: '' } : null }, limit, filter),
      lexical,
      readLexical,
    ]);
    signal?.throwIfAborted();
    return { ...others, lexical: lexicalFound, readLexical: readLexicalFound };
  }

  getHitRecords(targets: HitTarget[]): Promise<HitRecords> {
    return hitRecordsOneByOne(this, targets);
  }
}
