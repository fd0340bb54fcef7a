/**
 * The in-memory coarse index of one vector space: one bit per dimension (is the component above
 * the space's centre?) for every stored vector, plus who owns it, so that filters apply inside
 * the scan instead of after it.
 *
 * Search is three passes, each over fewer rows:
 *   1. Hamming distance from the query's bits to every code (WebAssembly SIMD; ~2 ms per 400k
 *      codes of 512 bits), keeping the `coarseK` nearest allowed rows (their positions picked by a
 *      second WebAssembly kernel, select-kernel.ts);
 *   2. an asymmetric estimate of the dot product (the float query against ±1 codes, through a
 *      256-entry table per code byte), keeping the `refineK` best;
 *   3. exact cosine from the stored float vectors — done by the caller, in SQLite.
 * Why centred bits: CLIP embeddings of one modality share a large common component, so raw
 * sign bits are nearly identical for every vector; bits relative to the mean carry the
 * differences. Pure: no I/O; the SQLite side loads and persists the codes (vector-space.ts).
 */
import type { SourceKind } from '../knowledge-store.js';
import { createJsHammingScan, createSimdHammingScan, createWasmMemory, type HammingScan } from './hamming-kernel.js';
import { createExclude, createJsSelect, createSimdSelect, REMOVED_KIND, type ExcludeScan, type SelectScan } from './select-kernel.js';

/** Kind codes stored per row, so a `kinds` filter is a bit mask. */
export const KIND_CODES: Readonly<Record<SourceKind, number>> = { pdf: 0, markdown: 1, html: 2, text: 3, image: 4, photo: 5 };
export const ALL_KINDS_MASK = Object.values(KIND_CODES).reduce((mask, code) => mask | (1 << code), 0);

/**
 * Which rows a search may return. `kindMask` has bit `KIND_CODES[kind]` set for allowed kinds;
 * `documents`/`photos` are bitmaps indexed by the owner's internal sequence number, or null
 * when every owner of that sort is allowed.
 */
export interface RowFilter {
  kindMask: number;
  documents: Uint8Array | null;
  photos: Uint8Array | null;
}

export interface IndexRow {
  rowId: number;
  targetId: number;
  /** Internal sequence number of the owning document (> 0) or, negated, of the photo (< 0). */
  owner: number;
  kind: number;
  code: Uint8Array;
}

/** Where one search's time went, per pass (ms of wall time on the calling thread). */
export interface PassTimes {
  /** Pass 1a: Hamming distances of every code (WebAssembly). */
  hammingMs: number;
  /** Pass 1b: the filter test (when there is one) and picking the `coarseK` nearest from the distances (WebAssembly, select-kernel.ts). */
  selectMs: number;
  /** Pass 2: the asymmetric estimate over the `coarseK`. */
  refineMs: number;
}

export interface IndexCandidates {
  times: PassTimes;
  rowIds: number[];
  targetIds: number[];
  /** True when every allowed row is among the candidates (the caller's rescoring is then exact). */
  complete: boolean;
}

/** Bits of `vector - center`, least significant bit first, `ceil(dim / 8)` bytes. */
export function quantize(vector: Float32Array, center: Float32Array | null): Uint8Array {
  const code = new Uint8Array(Math.ceil(vector.length / 8));
  for (let i = 0; i < vector.length; i++) {
    if (vector[i]! - (center ? center[i]! : 0) > 0) code[i >>> 3]! |= 1 << (i & 7);
  }
  return code;
}

const PAGE = 65536;
const EXCLUDED = 0xffff;
const MIN_CAPACITY = 1024;

export class BinaryCodeIndex {
  readonly codeBytes: number;
  /** 128-bit lanes per stored code (codes are zero-padded to whole lanes). */
  readonly lanes: number;
  private readonly stride: number;
  private readonly codesOffset: number;
  private readonly memory = createWasmMemory(1);
  private readonly scan: HammingScan;
  private readonly select: SelectScan;
  /** The filter test in WebAssembly (null: the JS loop, `excludeFiltered`). */
  private readonly exclude: ExcludeScan | null;
  /** Bumped by every change of the rows, so the metadata snapshot the exclusion kernel reads is refreshed. */
  private version = 0;
  private snapshot = { version: -1, offset: -1 };
  readonly usesSimd: boolean;

  private count = 0;
  private dead = 0;
  /** Positions of the removed rows not yet compacted away (`dead` of them). */
  private deadPositions: number[] = [];
  private capacity = 0;
  private rowIds = new Float64Array(0);
  private targetIds = new Float64Array(0);
  private owners = new Int32Array(0);
  private kinds = new Uint8Array(0);
  private alive = new Uint8Array(0);

  constructor(
    readonly dim: number,
    options: { simd?: boolean } = {},
  ) {
    this.codeBytes = Math.ceil(dim / 8);
    this.lanes = Math.ceil(this.codeBytes / 16);
    this.stride = this.lanes * 16;
    this.codesOffset = this.stride;
    const simd = options.simd === false ? null : createSimdHammingScan(this.memory, this.lanes);
    this.usesSimd = simd !== null;
    this.scan = simd ?? createJsHammingScan(this.memory);
    this.select = (options.simd === false ? null : createSimdSelect(this.memory)) ?? createJsSelect(this.memory);
    this.exclude = options.simd === false ? null : createExclude(this.memory);
  }

  /** Live rows. */
  get size(): number {
    return this.count - this.dead;
  }

  /** Largest row id loaded so far (0 when empty): rows are added in increasing id order. */
  get maxRowId(): number {
    return this.count === 0 ? 0 : this.rowIds[this.count - 1]!;
  }

  clear(): void {
    this.count = 0;
    this.dead = 0;
    this.deadPositions = [];
    this.version++;
  }

  add(row: IndexRow): void {
    if (row.rowId <= this.maxRowId) throw new Error(`index rows must come in increasing id order (${row.rowId} after ${this.maxRowId})`);
    if (row.code.length !== this.codeBytes) throw new Error(`code of ${row.code.length} bytes, expected ${this.codeBytes}`);
    this.ensureCapacity(this.count + 1);
    this.version++;
    const i = this.count++;
    this.rowIds[i] = row.rowId;
    this.targetIds[i] = row.targetId;
    this.owners[i] = row.owner;
    this.kinds[i] = row.kind;
    this.alive[i] = 1;
    const bytes = new Uint8Array(this.memory.buffer, this.codesOffset + i * this.stride, this.stride);
    bytes.fill(0);
    bytes.set(row.code);
  }

  /** Forgets rows (deleted records); unknown ids are ignored. */
  remove(rowIds: Iterable<number>): void {
    for (const id of rowIds) {
      const i = this.find(id);
      if (i >= 0 && this.alive[i] === 1) {
        this.alive[i] = 0;
        this.dead++;
        this.deadPositions.push(i);
        this.version++;
      }
    }
    if (this.dead > MIN_CAPACITY && this.dead * 4 > this.count) this.compact();
  }

  /**
   * The rows most likely nearest to `query` among those `filter` allows: `coarseK` by Hamming
   * distance, then the `refineK` best of those by the asymmetric estimate.
   * @param query the query vector minus the space's centre
   */
  candidates(query: Float32Array, filter: RowFilter | null, coarseK: number, refineK: number): IndexCandidates {
    if (query.length !== this.dim) throw new Error(`query of ${query.length} dimensions, expected ${this.dim}`);
    const n = this.count;
    const outOffset = this.codesOffset + this.capacity * this.stride;
    const t0 = performance.now();
    const maxDistance = this.lanes * 128;
    // Distances, then the histogram of distances (4-byte aligned) after them.
    const histogramOffset = (outOffset + this.capacity * 2 + 3) & ~3;
    // After the histogram: the snapshot of the row metadata the exclusion kernel reads (kept
    // across searches), this search's owner bitmaps, then the selected positions. The memory
    // grows here, before any view of it is made.
    const wasmFilter = filter !== null && this.exclude !== null;
    const metaOffset = histogramOffset + (maxDistance + 1) * 4;
    const ownersOffset = (metaOffset + n + 3) & ~3;
    const documentsOffset = ownersOffset + n * 4;
    const photosOffset = documentsOffset + (filter?.documents?.length ?? 0);
    const positionsOffset = (photosOffset + (filter?.photos?.length ?? 0) + 3) & ~3;
    const pages = Math.ceil((positionsOffset + Math.min(coarseK, n) * 4) / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) this.memory.grow(pages);
    const histogram = new Uint32Array(this.memory.buffer, histogramOffset, maxDistance + 1);
    histogram.fill(0);
    const queryBytes = new Uint8Array(this.memory.buffer, 0, this.stride);
    queryBytes.fill(0);
    queryBytes.set(quantize(query, null));
    if (n > 0) this.scan(this.codesOffset, n, this.lanes, 0, outOffset, histogramOffset);
    const t1 = performance.now();
    const distances = new Uint16Array(this.memory.buffer, outOffset, n);

    // Rows the search may not return get a distance beyond any real one (and leave the histogram):
    // with a filter, a test of every row; without, only the removed rows.
    if (filter && wasmFilter) {
      this.snapshotRows(metaOffset, ownersOffset);
      const { kindMask, documents, photos } = filter;
      if (documents) new Uint8Array(this.memory.buffer, documentsOffset, documents.length).set(documents);
      if (photos) new Uint8Array(this.memory.buffer, photosOffset, photos.length).set(photos);
      this.exclude!(outOffset, n, metaOffset, ownersOffset, kindMask, documents ? documentsOffset : 0, documents?.length ?? 0, photos ? photosOffset : 0, photos?.length ?? 0, histogramOffset);
    } else if (filter) this.excludeFiltered(filter, distances, histogram);
    else {
      for (const i of this.deadPositions) {
        histogram[distances[i]!]!--;
        distances[i] = EXCLUDED;
      }
    }
    // Pass 1: the histogram gives the cut-off for the coarseK nearest; one more pass collects them.
    let allowedCount = 0;
    for (let d = 0; d <= maxDistance; d++) allowedCount += histogram[d]!;
    const take = Math.min(coarseK, allowedCount);
    let cutoff = 0;
    let below = 0;
    while (cutoff <= maxDistance && below + histogram[cutoff]! < take) below += histogram[cutoff++]!;
    this.select(outOffset, n, cutoff, take - below, positionsOffset);
    const coarse = new Int32Array(this.memory.buffer.slice(positionsOffset, positionsOffset + take * 4));

    const t2 = performance.now();
    // Pass 2: asymmetric scores (float query · ±1 code) for the coarse candidates.
    let chosen: Int32Array = coarse;
    if (take > refineK) {
      const table = this.lookupTable(query);
      const bytes = new Uint8Array(this.memory.buffer);
      const scores = new Float64Array(take);
      for (let k = 0; k < take; k++) {
        let s = 0;
        const base = this.codesOffset + coarse[k]! * this.stride;
        for (let b = 0; b < this.codeBytes; b++) s += table[(b << 8) | bytes[base + b]!]!;
        scores[k] = s;
      }
      const threshold = Float64Array.from(scores).sort()[take - refineK]!;
      chosen = new Int32Array(refineK);
      let r = 0;
      for (let k = 0; k < take && r < refineK; k++) if (scores[k]! > threshold) chosen[r++] = coarse[k]!;
      for (let k = 0; k < take && r < refineK; k++) if (scores[k] === threshold) chosen[r++] = coarse[k]!;
    }
    const rowIds: number[] = new Array<number>(chosen.length);
    const targetIds: number[] = new Array<number>(chosen.length);
    for (let k = 0; k < chosen.length; k++) {
      rowIds[k] = this.rowIds[chosen[k]!]!;
      targetIds[k] = this.targetIds[chosen[k]!]!;
    }
    const times = { hammingMs: t1 - t0, selectMs: t2 - t1, refineMs: performance.now() - t2 };
    return { times, rowIds, targetIds, complete: chosen.length === allowedCount };
  }

  /** Copies each row's kind (REMOVED_KIND once removed) and owner where the exclusion kernel reads them, unless unchanged since the last copy. */
  private snapshotRows(kindsOffset: number, ownersOffset: number): void {
    if (this.snapshot.version === this.version && this.snapshot.offset === kindsOffset) return;
    const n = this.count;
    const kinds = new Uint8Array(this.memory.buffer, kindsOffset, n);
    kinds.set(this.kinds.subarray(0, n));
    for (const i of this.deadPositions) kinds[i] = REMOVED_KIND;
    new Int32Array(this.memory.buffer, ownersOffset, n).set(this.owners.subarray(0, n));
    this.snapshot = { version: this.version, offset: kindsOffset };
  }

  /**
   * The JS version of the exclusion kernel, used where `simd: false` (tests compare the two):
   * marks the rows `filter` (or a removal) excludes, in one plain loop over the typed arrays.
   */
  private excludeFiltered(filter: RowFilter, distances: Uint16Array, histogram: Uint32Array): void {
    const { kindMask, documents, photos } = filter;
    const { alive, kinds, owners } = this;
    const n = distances.length;
    for (let i = 0; i < n; i++) {
      const owner = owners[i]!;
      const allowed =
        alive[i] === 1 && ((kindMask >>> kinds[i]!) & 1) === 1 && (owner > 0 ? documents === null || documents[owner] === 1 : photos === null || photos[-owner] === 1);
      if (!allowed) {
        histogram[distances[i]!]!--;
        distances[i] = EXCLUDED;
      }
    }
  }

  /** table[b * 256 + v] = Σ over the 8 dimensions of byte b of (bit set ? +q : −q). */
  private lookupTable(query: Float32Array): Float32Array {
    const table = new Float32Array(this.codeBytes * 256);
    for (let b = 0; b < this.codeBytes; b++) {
      const base = b << 8;
      let negatives = 0;
      for (let j = 0; j < 8; j++) negatives -= query[b * 8 + j] ?? 0;
      table[base] = negatives;
      for (let v = 1; v < 256; v++) {
        const low = v & -v;
        const j = 31 - Math.clz32(low);
        table[base + v] = table[base + (v ^ low)]! + 2 * (query[b * 8 + j] ?? 0);
      }
    }
    return table;
  }

  private find(rowId: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.rowIds[mid]!;
      if (v === rowId) return mid;
      if (v < rowId) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private compact(): void {
    const bytes = new Uint8Array(this.memory.buffer);
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      if (this.alive[r] !== 1) continue;
      if (w !== r) {
        this.rowIds[w] = this.rowIds[r]!;
        this.targetIds[w] = this.targetIds[r]!;
        this.owners[w] = this.owners[r]!;
        this.kinds[w] = this.kinds[r]!;
        this.alive[w] = 1;
        bytes.copyWithin(this.codesOffset + w * this.stride, this.codesOffset + r * this.stride, this.codesOffset + (r + 1) * this.stride);
      }
      w++;
    }
    this.count = w;
    this.dead = 0;
    this.deadPositions = [];
    this.version++;
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.capacity) return;
    const capacity = Math.max(needed, this.capacity * 2, MIN_CAPACITY);
    // Codes, then scratch for one u16 distance per code, then the histogram of distances (the
    // selected positions go after it; candidates() grows the memory for them when needed).
    const bytes = this.codesOffset + capacity * this.stride + capacity * 2 + 4 + (this.lanes * 128 + 1) * 4;
    const pages = Math.ceil(bytes / PAGE);
    const current = this.memory.buffer.byteLength / PAGE;
    if (pages > current) this.memory.grow(pages - current);
    this.rowIds = grow(this.rowIds, capacity, Float64Array);
    this.targetIds = grow(this.targetIds, capacity, Float64Array);
    this.owners = grow(this.owners, capacity, Int32Array);
    this.kinds = grow(this.kinds, capacity, Uint8Array);
    this.alive = grow(this.alive, capacity, Uint8Array);
    this.capacity = capacity;
  }
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(array: T, capacity: number, Ctor: new (n: number) => T): T {
  const next = new Ctor(capacity);
  next.set(array);
  return next;
}
