/**
 * The select step of the coarse pass: given every code's Hamming distance and the cut-off read
 * from their histogram, the positions of the codes that make the cut. At 1M pages that is a walk
 * over 4M u16 distances for ~1,600 winners, which a JS loop did in ~7 ms; this WebAssembly
 * kernel compares eight distances per instruction and only looks at single distances in the
 * rare groups where one makes the cut (bench/probes/hamming-kernels.ts measures both).
 * Written out byte by byte like hamming-kernel.ts; the JS version is the fallback and the
 * reference the tests compare against.
 *
 * Which codes make the cut, exactly as the JS loop it replaces: every code with distance
 * < `cutoff`, then the first `atCutoff` codes (in index order) with distance == `cutoff`.
 * The caller knows from the histogram how many that is; distances of 0xffff (excluded rows)
 * never make a cut below 0xffff.
 *
 * Memory layout (caller-managed): distances are u16 (any 2-byte alignment), positions are
 * written as u32 at `out`, in increasing order.
 */
import { get, I32, increment, instantiateKernel, kernelModule, OP, set, simd, sleb, V128, VOID, type WasmMemory } from './wasm-module.js';

/** Writes to `out` (u32) the positions of the `count` u16 distances at `distances` that make the cut. */
export type SelectScan = (distances: number, count: number, cutoff: number, atCutoff: number, out: number) => void;

// SIMD sub-opcodes.
const V128_LOAD = [0x00];
const I16X8_SPLAT = [0x10];
const I16X8_LT_U = [0x30];
const I16X8_BITMASK = [0x84, 0x01];

// Parameters 0..4: distances, count, cutoff, atCutoff, out. Locals: 5 i, 6 mask, 7 position,
// 8 end of the whole groups of eight (i32); 9 the limit every distance is compared with (v128).
const [DISTANCES, COUNT, CUTOFF, AT_CUTOFF, OUT, I, MASK, POSITION, GROUPS_END, LIMIT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/** limit = splat(cutoff + 1) while codes at the cut-off are still wanted, else splat(cutoff). */
function setLimit(): number[] {
  return [...get(CUTOFF), ...get(AT_CUTOFF), OP.i32Eqz, OP.i32Eqz, OP.i32Add, ...simd(I16X8_SPLAT), ...set(LIMIT)];
}

/** The code at `position` has distance ≤ cutoff: keep it if it is below, or while codes at the cut-off are wanted. */
function consider(): number[] {
  // prettier-ignore
  return [
    ...get(DISTANCES), ...get(POSITION), ...get(POSITION), OP.i32Add, OP.i32Add, OP.i32Load16U, 0x01, 0x00,
    ...get(CUTOFF), OP.i32LtU,
    OP.if, VOID,
    ...get(OUT), ...get(POSITION), OP.i32Store, 0x02, 0x00, ...increment(OUT, 4),
    OP.else,
    ...get(AT_CUTOFF),
    OP.if, VOID,
    ...get(OUT), ...get(POSITION), OP.i32Store, 0x02, 0x00, ...increment(OUT, 4),
    ...increment(AT_CUTOFF, -1),
    ...setLimit(),
    OP.end,
    OP.end,
  ];
}

// prettier-ignore
const body: number[] = [
  // locals: 4 × i32, 1 × v128
  0x02, 0x04, I32, 0x01, V128,
  ...setLimit(),
  ...get(COUNT), OP.i32Const, 0x78, OP.i32And, ...set(GROUPS_END), // count & ~7
  // Groups of eight distances: a bit mask of those ≤ the limit, then each set bit.
  OP.block, VOID,
  OP.loop, VOID,
  ...get(I), ...get(GROUPS_END), OP.i32GeU, OP.brIf, 1,
  ...get(DISTANCES), ...get(I), ...get(I), OP.i32Add, OP.i32Add, ...simd(V128_LOAD, 0x01, 0x00),
  ...get(LIMIT), ...simd(I16X8_LT_U), ...simd(I16X8_BITMASK), ...set(MASK),
  OP.block, VOID,
  OP.loop, VOID,
  ...get(MASK), OP.i32Eqz, OP.brIf, 1,
  ...get(I), ...get(MASK), OP.i32Ctz, OP.i32Add, ...set(POSITION),
  ...consider(),
  ...get(MASK), ...get(MASK), OP.i32Const, 1, OP.i32Sub, OP.i32And, ...set(MASK), // clear the lowest set bit
  OP.br, 0,
  OP.end,
  OP.end,
  ...increment(I, 8),
  OP.br, 0,
  OP.end,
  OP.end,
  // The last 0–7 distances, one at a time.
  OP.block, VOID,
  OP.loop, VOID,
  ...get(I), ...get(COUNT), OP.i32GeU, OP.brIf, 1,
  ...get(I), ...set(POSITION),
  ...get(DISTANCES), ...get(I), ...get(I), OP.i32Add, OP.i32Add, OP.i32Load16U, 0x01, 0x00,
  ...get(CUTOFF), ...get(AT_CUTOFF), OP.i32Eqz, OP.i32Eqz, OP.i32Add, OP.i32LtU,
  OP.if, VOID,
  ...consider(),
  OP.end,
  ...increment(I, 1),
  OP.br, 0,
  OP.end,
  OP.end,
  OP.end,
];

/** The SIMD select bound to `memory`, or null where WebAssembly SIMD is unavailable. */
export function createSimdSelect(memory: WasmMemory): SelectScan | null {
  return instantiateKernel(kernelModule('select', 5, body), 'select', memory) as SelectScan | null;
}

/** The same select in plain JS, over the same memory layout. */
export function createJsSelect(memory: WasmMemory): SelectScan {
  return (distancesOffset, count, cutoff, atCutoff, out) => {
    const distances = new Uint16Array(memory.buffer, distancesOffset, count);
    const positions = new Uint32Array(memory.buffer);
    let o = out >>> 2;
    for (let i = 0; i < count; i++) {
      const d = distances[i]!;
      if (d < cutoff) positions[o++] = i;
      else if (d === cutoff && atCutoff > 0) {
        atCutoff--;
        positions[o++] = i;
      }
    }
  };
}

/**
 * Marks the rows a filter excludes before the cut-off is read: their distance becomes 0xffff
 * and they leave the histogram. Per row, from a snapshot of the index's row metadata in the
 * module's memory: a kind code (u8; 31 for a removed row, which no kind mask allows) and an
 * owner (i32: a document's sequence number > 0, or a photo's negated); a row is allowed when
 * its kind is in `kindMask` and its owner is set in the documents (or photos) bitmap, a bitmap
 * at offset 0 meaning "every owner of that sort". Plain i32 instructions, one row a loop: what
 * it saves over the JS loop it replaces is the JS: at 4M rows a filter adds ~3 ms CPU to a
 * search here, against 14–22 ms with the loop (loadavg 10–11).
 */
export type ExcludeScan = (
  distances: number,
  count: number,
  kinds: number,
  owners: number,
  kindMask: number,
  documents: number,
  documentsLength: number,
  photos: number,
  photosLength: number,
  histogram: number,
) => void;

/** The kind code of a removed row in the snapshot `ExcludeScan` reads. */
export const REMOVED_KIND = 31;

// Parameters 0..9 as above. Locals: 10 i, 11 owner, 12 distance (i32).
const [X_DISTANCES, X_COUNT, X_KINDS, X_OWNERS, X_KIND_MASK, X_DOCUMENTS, X_DOCUMENTS_LENGTH, X_PHOTOS, X_PHOTOS_LENGTH, X_HISTOGRAM] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [X_I, X_OWNER, X_DISTANCE] = [10, 11, 12];

/** Inside the owner test (depths: 0 this if/else, 1 "exclude", 2 "next row"): `bitmap`[index] decides. */
function bitmapTest(bitmap: number, length: number, index: number[]): number[] {
  // prettier-ignore
  return [
    ...get(bitmap), OP.i32Eqz, OP.brIf, 2, // no bitmap: every owner allowed
    ...index, ...get(length), OP.i32GeU, OP.brIf, 1,
    ...get(bitmap), ...index, OP.i32Add, OP.i32Load8U, 0x00, 0x00, OP.brIf, 2,
    OP.br, 1,
  ];
}

// prettier-ignore
const excludeBody: number[] = [
  0x01, 0x03, I32, // locals: 3 × i32
  OP.block, VOID,
  OP.loop, VOID,
  ...get(X_I), ...get(X_COUNT), OP.i32GeU, OP.brIf, 1,
  OP.block, VOID, // next row
  OP.block, VOID, // exclude
  ...get(X_KIND_MASK), ...get(X_KINDS), ...get(X_I), OP.i32Add, OP.i32Load8U, 0x00, 0x00, OP.i32ShrU, OP.i32Const, 1, OP.i32And, OP.i32Eqz, OP.brIf, 0,
  ...get(X_OWNERS), ...get(X_I), OP.i32Const, 2, OP.i32Shl, OP.i32Add, OP.i32Load, 0x02, 0x00, ...set(X_OWNER),
  ...get(X_OWNER), OP.i32Const, 0, OP.i32GtS,
  OP.if, VOID,
  ...bitmapTest(X_DOCUMENTS, X_DOCUMENTS_LENGTH, get(X_OWNER)),
  OP.else,
  ...bitmapTest(X_PHOTOS, X_PHOTOS_LENGTH, [OP.i32Const, 0, ...get(X_OWNER), OP.i32Sub]),
  OP.end,
  OP.end, // exclude:
  ...get(X_DISTANCES), ...get(X_I), ...get(X_I), OP.i32Add, OP.i32Add, OP.i32Load16U, 0x01, 0x00, ...set(X_DISTANCE),
  ...get(X_HISTOGRAM), ...get(X_DISTANCE), OP.i32Const, 2, OP.i32Shl, OP.i32Add,
  ...get(X_HISTOGRAM), ...get(X_DISTANCE), OP.i32Const, 2, OP.i32Shl, OP.i32Add, OP.i32Load, 0x02, 0x00, OP.i32Const, 1, OP.i32Sub,
  OP.i32Store, 0x02, 0x00,
  ...get(X_DISTANCES), ...get(X_I), ...get(X_I), OP.i32Add, OP.i32Add, OP.i32Const, ...sleb(0xffff), OP.i32Store16, 0x01, 0x00,
  OP.end, // next row:
  ...increment(X_I, 1),
  OP.br, 0,
  OP.end,
  OP.end,
  OP.end,
];

/** The exclusion kernel bound to `memory` (plain WebAssembly, so null only where WebAssembly itself is missing). */
export function createExclude(memory: WasmMemory): ExcludeScan | null {
  return instantiateKernel(kernelModule('exclude', 10, excludeBody), 'exclude', memory) as ExcludeScan | null;
}
