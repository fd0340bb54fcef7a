/**
 * One vector space of the SQLite store — text chunks, or images (page renders and photos) —
 * and its search:
 *
 * - storage: L2-normalised float32 vectors (`*_vectors`), and 1-bit codes relative to the
 *   space's centre (`*_codes`, written once a centre exists);
 * - small spaces (≤ `exactThreshold` vectors, or a store built with `vectorSearch: 'exact'`): an exact scan in SQLite
 *   (sqlite-vec's `vec_distance_cosine`), filters in the WHERE clause;
 * - larger spaces: the in-memory BinaryCodeIndex proposes `rescore` candidates (filter applied
 *   inside its scan), which are rescored exactly from the float vectors (one random page read
 *   each). `candidateCounts` says how many, and the recall measured for them at 1M pages.
 *
 * Where the time goes at 1M pages (4M chunk vectors; docs/search.md, "Vector search in the
 * embedded store"): the Hamming pass reads every code (256 MB) and is ~3/4 of a chunk search;
 * the rescoring reads are most of the rest. Reading fewer codes is the next step, but lists of
 * the codes themselves (k-modes IVF) lose too much recall (bench/probes/ivf-codes.ts); a
 * partition on the float vectors or a graph index are the candidates.
 *
 * The centre is the mean vector of the space when it first outgrows `exactThreshold` (CLIP
 * embeddings of one modality share a large common component, and bits relative to the mean
 * carry far more information than raw sign bits). It never changes afterwards, so stored codes
 * stay valid; the mean of the first ten thousand vectors is a stable estimate.
 */
import type Database from 'better-sqlite3';
import type { SourceKind } from '../knowledge-store.js';
import { BinaryCodeIndex, KIND_CODES, quantize, type PassTimes, type RowFilter } from './binary-index.js';

export interface VectorSpaceSpec {
  name: 'chunk' | 'image';
  /** Table of float vectors, keyed by `idColumn`. */
  vectorTable: string;
  codeTable: string;
  idColumn: string;
}

export const CHUNK_SPACE: VectorSpaceSpec = { name: 'chunk', vectorTable: 'chunk_vectors', codeTable: 'chunk_codes', idColumn: 'chunk_id' };
export const IMAGE_SPACE: VectorSpaceSpec = { name: 'image', vectorTable: 'image_vectors', codeTable: 'image_codes', idColumn: 'target_id' };

export interface ScoredRow {
  rowId: number;
  targetId: number;
  /** Cosine distance (1 − cosine similarity). */
  distance: number;
}

export interface SpaceFilter {
  sql: string;
  params: unknown[];
  rowFilter(): RowFilter;
}

export interface CandidateCounts {
  /** Kept by the Hamming pass. */
  coarse: number;
  /** Kept by the refine pass, then read and scored exactly. */
  rescore: number;
}

/**
 * How many candidates the passes keep, for a request of `limit` targets. Measured at 1M pages
 * (4M chunk vectors, 50 queries against the exact baseline; bench/README.md): rescoring 1000
 * gave recall@10 1.000 / 1.000 / 0.982 (text→chunks, image→images, image→chunks), 400 gave
 * 1.000 / 1.000 / 0.976, 250 gave 0.996 / 1.000 / 0.958; each rescored vector is a random
 * page read, the cost that grows when the file outgrows the page cache.
 */
export function candidateCounts(limit: number, override?: CandidateCounts): CandidateCounts {
  if (override) return override;
  const rescore = Math.max(400, limit * 12);
  return { coarse: rescore * 4, rescore };
}

/** Where the last indexed search of a space spent its time (for benchmarks and probes). */
export interface SearchStages extends PassTimes {
  /** Reading and scoring the survivors' float vectors (SQLite). */
  rescoreMs: number;
  /** Codes scanned, and vectors rescored exactly. */
  scanned: number;
  rescored: number;
}

function vectorBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function blobVector(b: Buffer, dim: number): Float32Array {
  // Copy: SQLite's buffers need not be 4-byte aligned.
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(b.subarray(0, dim * 4));
  return out;
}

function ownerOf(documentSeq: number | null, photoSeq: number | null): number {
  return documentSeq !== null ? documentSeq : -(photoSeq ?? 0);
}

export class VectorSpace {
  readonly index: BinaryCodeIndex;
  /** Stages of the last search that went through the index (null: none yet). */
  lastStages: SearchStages | null = null;
  private center: Float32Array | null = null;
  private readonly centerKey: string;
  private readonly insertVector: Database.Statement;
  private readonly insertCodeStatement: Database.Statement;
  private readonly rescoreStatement: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    readonly spec: VectorSpaceSpec,
    readonly dim: number,
  ) {
    this.index = new BinaryCodeIndex(dim);
    this.centerKey = `center:${spec.name}`;
    const { vectorTable, codeTable, idColumn } = spec;
    this.insertVector = db.prepare(`INSERT INTO ${vectorTable} (${idColumn}, vector) VALUES (?, ?)`);
    this.insertCodeStatement =
      spec.name === 'chunk'
        ? db.prepare(`INSERT INTO ${codeTable} (${idColumn}, code, target_id) VALUES (?, ?, ?)`)
        : db.prepare(`INSERT INTO ${codeTable} (${idColumn}, code) VALUES (?, ?)`);
    this.rescoreStatement = db
      .prepare(`SELECT ${idColumn}, vec_distance_cosine(vector, ?) FROM ${vectorTable} WHERE ${idColumn} IN (SELECT value FROM json_each(?))`)
      .raw();
  }

  /** Writes a (normalised, validated) vector and, when the space has a centre, its code. */
  insert(rowId: number, targetId: number, vector: Float32Array): void {
    this.insertVector.run(rowId, vectorBlob(vector));
    if (this.center) this.insertCode(rowId, targetId, quantize(vector, this.center));
  }

  private insertCode(rowId: number, targetId: number, code: Uint8Array): void {
    if (this.spec.name === 'chunk') this.insertCodeStatement.run(rowId, Buffer.from(code), targetId);
    else this.insertCodeStatement.run(rowId, Buffer.from(code));
  }

  /**
   * Inside a write transaction, before writing vectors: another process may have fixed the
   * centre since this one last looked, and every vector stored after that needs its code.
   */
  refreshCenter(): void {
    if (this.center) return;
    const blob = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(this.centerKey) as Buffer | undefined;
    if (blob) this.center = blobVector(blob, this.dim);
  }

  /**
   * Inside a write transaction: once the space outgrows `threshold` vectors, fixes its centre and
   * writes the codes of every vector stored so far. Returns true when it did (the in-memory
   * index must then be reloaded after commit).
   */
  ensureCenter(threshold: number): boolean {
    if (this.center) return false;
    // A cheap upper bound of the vector count first (rows here are small, unlike the vector
    // tables); the exact count comes with the sum.
    const estimate = this.db.prepare(this.spec.name === 'chunk' ? 'SELECT count(*) FROM chunks' : 'SELECT count(*) FROM targets').pluck().get() as number;
    if (estimate <= threshold) return false;
    const { vectorTable, idColumn } = this.spec;
    const sum = new Float64Array(this.dim);
    let n = 0;
    for (const blob of this.db.prepare(`SELECT vector FROM ${vectorTable}`).pluck().iterate() as IterableIterator<Buffer>) {
      const v = blobVector(blob, this.dim);
      for (let i = 0; i < this.dim; i++) sum[i]! += v[i]!;
      n++;
    }
    if (n === 0 || n <= threshold) return false;
    const center = new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) center[i] = sum[i]! / n;
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(this.centerKey, vectorBlob(center));
    this.center = center;
    const rows =
      this.spec.name === 'chunk'
        ? this.db.prepare(`SELECT v.chunk_id, c.target_id, v.vector FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id ORDER BY v.chunk_id`).raw()
        : this.db.prepare(`SELECT ${idColumn}, ${idColumn}, vector FROM ${vectorTable} ORDER BY ${idColumn}`).raw();
    const pending: [number, number, Uint8Array][] = [];
    for (const [rowId, targetId, blob] of rows.iterate() as IterableIterator<[number, number, Buffer]>) {
      pending.push([rowId, targetId, quantize(blobVector(blob, this.dim), center)]);
    }
    for (const [rowId, targetId, code] of pending) this.insertCode(rowId, targetId, code);
    return true;
  }

  /** Re-reads the centre (another process may have fixed it) and reloads every code. */
  reload(): void {
    const blob = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(this.centerKey) as Buffer | undefined;
    this.center = blob ? blobVector(blob, this.dim) : null;
    this.index.clear();
    if (this.center) this.loadNew();
  }

  /** Loads codes written since the last load (rows are only ever appended with larger ids). */
  loadNew(): void {
    if (!this.center) return;
    const { codeTable, idColumn } = this.spec;
    const targetColumn = this.spec.name === 'chunk' ? 'q.target_id' : `q.${idColumn}`;
    const rows = this.db
      .prepare(
        `SELECT q.${idColumn}, ${targetColumn}, t.document_seq, t.photo_seq, t.source_kind, q.code
         FROM ${codeTable} q JOIN targets t ON t.id = ${targetColumn}
         WHERE q.${idColumn} > ? ORDER BY q.${idColumn}`,
      )
      .raw();
    for (const [rowId, targetId, documentSeq, photoSeq, kind, code] of rows.iterate(this.index.maxRowId) as IterableIterator<
      [number, number, number | null, number | null, SourceKind, Buffer]
    >) {
      this.index.add({ rowId, targetId, owner: ownerOf(documentSeq, photoSeq), kind: KIND_CODES[kind], code });
    }
  }

  /** After another process wrote: pick up its appends, and reload fully if it also deleted. */
  sync(): void {
    if (!this.center) {
      this.reload();
      return;
    }
    this.loadNew();
    // Every vector has a code once the centre exists; count the table with the smaller index.
    const stored = this.db.prepare(this.spec.name === 'chunk' ? 'SELECT count(*) FROM chunks' : 'SELECT count(*) FROM image_codes').pluck().get() as number;
    if (stored !== this.index.size) this.reload();
  }

  /** Whether search goes through the coarse index (else: an exact scan). */
  useIndex(threshold: number): boolean {
    return this.center !== null && this.index.size > threshold;
  }

  /** Nearest rows to the normalised `query`, best row per target, `limit` targets. */
  search(query: Float32Array, limit: number, filter: SpaceFilter | null, useIndex: boolean, counts?: CandidateCounts): ScoredRow[] {
    if (useIndex && this.center) {
      const centered = new Float32Array(this.dim);
      for (let i = 0; i < this.dim; i++) centered[i] = query[i]! - this.center[i]!;
      const { coarse, rescore } = candidateCounts(limit, counts);
      const found = this.index.candidates(centered, filter ? filter.rowFilter() : null, coarse, rescore);
      const t = performance.now();
      const rows = this.rescore(query, found.rowIds, found.targetIds, limit);
      this.lastStages = { ...found.times, rescoreMs: performance.now() - t, scanned: this.index.size, rescored: found.rowIds.length };
      return rows;
    }
    return this.exactScan(query, limit, filter);
  }

  private rescore(query: Float32Array, rowIds: number[], targetIds: number[], limit: number): ScoredRow[] {
    if (rowIds.length === 0) return [];
    const targetOf = new Map<number, number>();
    for (let i = 0; i < rowIds.length; i++) targetOf.set(rowIds[i]!, targetIds[i]!);
    const rows = this.rescoreStatement.all(vectorBlob(query), JSON.stringify(rowIds)) as [number, number][];
    const best = new Map<number, ScoredRow>();
    for (const [rowId, distance] of rows) {
      const targetId = targetOf.get(rowId)!;
      const current = best.get(targetId);
      if (!current || distance < current.distance || (distance === current.distance && rowId < current.rowId)) best.set(targetId, { rowId, targetId, distance });
    }
    return [...best.values()].sort((a, b) => a.distance - b.distance || a.targetId - b.targetId).slice(0, limit);
  }

  private exactScan(query: Float32Array, limit: number, filter: SpaceFilter | null): ScoredRow[] {
    const where = filter ? `WHERE ${filter.sql}` : '';
    const params = filter ? filter.params : [];
    const sql =
      this.spec.name === 'chunk'
        ? `SELECT c.id, c.target_id, MIN(vec_distance_cosine(v.vector, ?)) AS distance
           FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id ${filter ? 'JOIN targets t ON t.id = c.target_id' : ''}
           ${where} GROUP BY c.target_id ORDER BY distance, c.target_id LIMIT ?`
        : `SELECT v.target_id, v.target_id, vec_distance_cosine(v.vector, ?) AS distance
           FROM image_vectors v ${filter ? 'JOIN targets t ON t.id = v.target_id' : ''}
           ${where} ORDER BY distance, v.target_id LIMIT ?`;
    const rows = this.db.prepare(sql).raw().all(vectorBlob(query), ...params, limit) as [number, number, number][];
    return rows.map(([rowId, targetId, distance]) => ({ rowId, targetId, distance }));
  }
}
