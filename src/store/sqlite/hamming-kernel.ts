/**
 * Hamming distances between one query code and many stored codes: the coarse pass of vector
 * search. A JS popcount over 400k codes of 512 bits takes ~20 ms on this project's machines;
 * WebAssembly SIMD (`i8x16.popcnt`, in every Node ≥ 16.4) does it several times faster. The
 * module is small enough to write out byte by byte (below, one instruction per line); the JS
 * version stays as the fallback and as the reference the tests compare against.
 *
 * The module is generated for one code length (`lanes` of 128 bits): the query stays in
 * registers, each code's lanes are XOR-ed, counted and summed bytewise (≤ 8 per lane, so up to
 * 31 lanes fit a byte), and the loop runs once per group of four codes instead of once per
 * lane. The four codes' sums are folded into one vector of four distances by shuffles (instead
 * of four lane extractions and adds per code) and stored with one 64-bit write. At 1M pages the
 * scan covers 4M codes (256 MB), so this pass is most of a search and is bound by memory
 * bandwidth: the four-code loop is ~15 % faster than one code per iteration, and a loop that
 * only loads and XORs the codes is ~30 % faster still (bench/probes/hamming-kernels.ts). The
 * same loop counts every distance into a histogram, from which the caller picks its cut-off
 * without another pass; a last loop handles the 0–3 codes left over.
 *
 * Memory layout (caller-managed, in the module's imported memory): codes are `lanes × 16`
 * bytes each, zero-padded; the query is one code; distances are written as u16; the histogram
 * is `lanes × 128 + 1` u32 counters, incremented (the caller zeroes it).
 */
import { get, I32, increment, instantiateKernel, kernelModule, OP, set, simd, sleb, uleb, V128, VOID, type WasmMemory } from './wasm-module.js';

export { createWasmMemory, type WasmMemory } from './wasm-module.js';

/** Scans `count` codes starting at `codes`, writes one u16 distance per code at `out`, and counts each distance in the u32 `histogram`. */
export type HammingScan = (codes: number, count: number, lanes: number, query: number, out: number, histogram: number) => void;

// SIMD sub-opcodes (LEB128-encoded after 0xfd).
const V128_LOAD = [0x00];
const V128_CONST = [0x0c];
const I8X16_SHUFFLE = [0x0d];
const V128_XOR = [0x51];
const V128_STORE64_LANE = [0x5b];
const I8X16_POPCNT = [0x62];
const I8X16_ADD = [0x6e];
const I16X8_EXTADD_PAIRWISE_I8X16_U = [0x7d];
const I16X8_NARROW_I32X4_U = [0x86, 0x01];
const I32X4_ADD = [0xae, 0x01];
const I32X4_DOT_I16X8_S = [0xba, 0x01];
const I32X4_EXTRACT_LANE = [0x1b];

/** The most lanes whose per-byte popcounts (≤ 8 each) still fit a byte when summed. */
export const MAX_SIMD_LANES = 31;

// Parameters 0..5: codes, count, lanes, query, out, histogram. Locals: 6 i, 7 d, 8 address,
// 9 end of the whole groups of four (i32); 10..13 one sum per code of a group, 14 eight i16
// ones, 15.. the query's lanes (v128).
const [CODES, COUNT, QUERY, OUT, HISTOGRAM, I, D, ADDRESS, GROUPS_END, S0, S1, S2, S3, ONES, Q0] = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/** v128.load at `base` + `offset` (16-byte aligned). */
function load(base: number, offset: number): number[] {
  return [...get(base), ...simd(V128_LOAD, 0x04, ...uleb(offset))];
}

/** A shuffle of two i32x4 vectors: result lane k = lane `lanes[k]` of (a ++ b). */
function shuffleI32(lanes: number[]): number[] {
  return simd(I8X16_SHUFFLE, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
}

/** (a, b) → (a0 + a2, a1 + a3, b0 + b2, b1 + b3): half of each vector's horizontal sum, side by side. */
function pairHalves(a: number, b: number): number[] {
  return [...get(a), ...get(b), ...shuffleI32([0, 1, 4, 5]), ...get(a), ...get(b), ...shuffleI32([2, 3, 6, 7]), ...simd(I32X4_ADD)];
}

/** histogram[d]++ */
function countDistance(): number[] {
  return [
    ...get(HISTOGRAM), ...get(D), OP.i32Const, 2, OP.i32Shl, OP.i32Add, ...set(ADDRESS),
    ...get(ADDRESS), ...get(ADDRESS), OP.i32Load, 0x02, 0x00, OP.i32Const, 1, OP.i32Add, OP.i32Store, 0x02, 0x00,
  ];
}

function kernelBody(lanes: number): number[] {
  const stride = 16 * lanes;
  /** The code at `codes` + `offset`: its distance as four i32 partial sums. */
  const partialSums = (offset: number): number[] => [
    ...load(CODES, offset), ...get(Q0), ...simd(V128_XOR), ...simd(I8X16_POPCNT),
    ...Array.from({ length: lanes - 1 }, (_, k) => [
      ...load(CODES, offset + 16 * (k + 1)), ...get(Q0 + k + 1), ...simd(V128_XOR), ...simd(I8X16_POPCNT), ...simd(I8X16_ADD),
    ]).flat(),
    ...simd(I16X8_EXTADD_PAIRWISE_I8X16_U),
    ...get(ONES), ...simd(I32X4_DOT_I16X8_S), // pairwise i16 → i32 sums (values ≤ 64, so signed is exact)
  ];
  // prettier-ignore
  return [
    // locals: 4 × i32, (5 + lanes) × v128
    0x02, 0x04, I32, ...uleb(5 + lanes), V128,
    ...simd(V128_CONST, ...Array.from({ length: 8 }, () => [1, 0]).flat()), ...set(ONES),
    ...Array.from({ length: lanes }, (_, k) => [...load(QUERY, 16 * k), ...set(Q0 + k)]).flat(),
    ...get(COUNT), OP.i32Const, ...sleb(-4), OP.i32And, ...set(GROUPS_END),
    // Groups of four codes.
    OP.block, VOID,
    OP.loop, VOID,
    ...get(I), ...get(GROUPS_END), OP.i32GeU, OP.brIf, 1,
    ...partialSums(0), ...set(S0),
    ...partialSums(stride), ...set(S1),
    ...partialSums(2 * stride), ...set(S2),
    ...partialSums(3 * stride), ...set(S3),
    ...pairHalves(S0, S1), ...set(S0),
    ...pairHalves(S2, S3), ...set(S2),
    // (d0, d1, d2, d3)
    ...get(S0), ...get(S2), ...shuffleI32([0, 2, 4, 6]), ...get(S0), ...get(S2), ...shuffleI32([1, 3, 5, 7]), ...simd(I32X4_ADD), ...set(S1),
    ...get(OUT), ...get(S1), ...get(S1), ...simd(I16X8_NARROW_I32X4_U), ...simd(V128_STORE64_LANE, 0x01, 0x00, 0),
    ...[0, 1, 2, 3].flatMap((k) => [...get(S1), ...simd(I32X4_EXTRACT_LANE, k), ...set(D), ...countDistance()]),
    ...increment(CODES, 4 * stride),
    ...increment(OUT, 8),
    ...increment(I, 4),
    OP.br, 0,
    OP.end,
    OP.end,
    // The last 0–3 codes, one at a time.
    OP.block, VOID,
    OP.loop, VOID,
    ...get(I), ...get(COUNT), OP.i32GeU, OP.brIf, 1,
    ...partialSums(0), ...set(S0),
    ...get(S0), ...simd(I32X4_EXTRACT_LANE, 0),
    ...get(S0), ...simd(I32X4_EXTRACT_LANE, 1), OP.i32Add,
    ...get(S0), ...simd(I32X4_EXTRACT_LANE, 2), OP.i32Add,
    ...get(S0), ...simd(I32X4_EXTRACT_LANE, 3), OP.i32Add,
    ...set(D),
    ...get(OUT), ...get(D), OP.i32Store16, 0x01, 0x00,
    ...countDistance(),
    ...increment(CODES, stride),
    ...increment(OUT, 2),
    ...increment(I, 1),
    OP.br, 0,
    OP.end,
    OP.end,
    OP.end,
  ];
}

/** The SIMD kernel for codes of `lanes` × 128 bits bound to `memory`, or null where WebAssembly SIMD is unavailable. */
export function createSimdHammingScan(memory: WasmMemory, lanes: number): HammingScan | null {
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_SIMD_LANES) return null;
  return instantiateKernel(kernelModule('hamming', 6, kernelBody(lanes)), 'hamming', memory) as HammingScan | null;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The same scan in plain JS, over the same memory layout. */
export function createJsHammingScan(memory: WasmMemory): HammingScan {
  return (codes, count, lanes, query, out, histogram) => {
    const words = new Int32Array(memory.buffer);
    const distances = new Uint16Array(memory.buffer);
    const counts = new Uint32Array(memory.buffer, histogram, lanes * 128 + 1);
    const wordsPerCode = lanes * 4;
    const q = query >>> 2;
    let c = codes >>> 2;
    let o = out >>> 1;
    for (let i = 0; i < count; i++, o++) {
      let d = 0;
      for (let w = 0; w < wordsPerCode; w++, c++) d += popcount32(words[c]! ^ words[q + w]!);
      distances[o] = d;
      counts[d]!++;
    }
  };
}
