/**
 * Hamming distances between one query code and many stored codes: the coarse pass of vector
 * search. A JS popcount over 400k codes of 512 bits takes ~20 ms on this project's machines;
 * WebAssembly SIMD (`i8x16.popcnt`, in every Node ≥ 16.4) does it several times faster. The
 * module is small enough to write out byte by byte (below, one instruction per line); the JS
 * version stays as the fallback and as the reference the tests compare against.
 *
 * The module is generated for one code length (`lanes` of 128 bits): the query stays in
 * registers, each code's lanes are XOR-ed, counted and summed bytewise (≤ 8 per lane, so up to
 * 31 lanes fit a byte) before one horizontal sum, and the loop runs once per code instead of
 * once per lane. At 512 bits that is ~3× fewer instructions than a loop over lanes (at 1M pages
 * the scan covers 4M codes, so this pass is most of a search). The same loop counts every
 * distance into a histogram, from which the caller picks its cut-off without another pass.
 *
 * Memory layout (caller-managed, in the module's imported memory): codes are `lanes × 16`
 * bytes each, zero-padded; the query is one code; distances are written as u16; the histogram
 * is `lanes × 128 + 1` u32 counters, incremented (the caller zeroes it).
 */
import { instantiateKernel, kernelModule, sleb, uleb, type WasmMemory } from './wasm-module.js';

export { createWasmMemory, type WasmMemory } from './wasm-module.js';

/** Scans `count` codes starting at `codes`, writes one u16 distance per code at `out`, and counts each distance in the u32 `histogram`. */
export type HammingScan = (codes: number, count: number, lanes: number, query: number, out: number, histogram: number) => void;

const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  i32Store: 0x36,
  i32Store16: 0x3b,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Shl: 0x74,
  simd: 0xfd,
} as const;
const VOID = 0x40;
// SIMD sub-opcodes (LEB128-encoded after 0xfd).
const V128_LOAD = [0x00];
const V128_XOR = [0x51];
const I8X16_POPCNT = [0x62];
const I8X16_ADD = [0x6e];
const I16X8_EXTADD_PAIRWISE_I8X16_U = [0x7d];
const I32X4_EXTADD_PAIRWISE_I16X8_U = [0x7f];
const I32X4_EXTRACT_LANE = [0x1b];

/** The most lanes whose per-byte popcounts (≤ 8 each) still fit a byte when summed. */
export const MAX_SIMD_LANES = 31;

// Parameters 0..5: codes, count, lanes, query, out, histogram. Locals: 6 i, 7 d, 8 address (i32);
// 9 acc, 10.. the query's lanes (v128).
const [CODES, COUNT, QUERY, OUT, HISTOGRAM, I, D, ADDRESS, ACC, Q0] = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10];

function simd(op: number[], ...immediates: number[]): number[] {
  return [OP.simd, ...op, ...immediates];
}
function get(local: number): number[] {
  return [OP.localGet, local];
}
function set(local: number): number[] {
  return [OP.localSet, local];
}
function increment(local: number, by: number): number[] {
  return [...get(local), OP.i32Const, ...sleb(by), OP.i32Add, ...set(local)];
}
/** v128.load at `base` + `offset` (16-byte aligned). */
function load(base: number, offset: number): number[] {
  return [...get(base), ...simd(V128_LOAD, 0x04, ...uleb(offset))];
}

function kernelBody(lanes: number): number[] {
  const countOfLane = (k: number): number[] => [...load(CODES, 16 * k), ...get(Q0 + k), ...simd(V128_XOR), ...simd(I8X16_POPCNT)];
  return [
    // locals: 3 × i32, (1 + lanes) × v128
    0x02, 0x03, 0x7f, ...uleb(1 + lanes), 0x7b,
    ...Array.from({ length: lanes }, (_, k) => [...load(QUERY, 16 * k), ...set(Q0 + k)]).flat(),
    OP.block, VOID,
    OP.loop, VOID,
    ...get(I), ...get(COUNT), OP.i32GeU, OP.brIf, 1,
    ...countOfLane(0),
    ...Array.from({ length: lanes - 1 }, (_, k) => [...countOfLane(k + 1), ...simd(I8X16_ADD)]).flat(),
    ...simd(I16X8_EXTADD_PAIRWISE_I8X16_U),
    ...simd(I32X4_EXTADD_PAIRWISE_I16X8_U),
    ...set(ACC),
    ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 0),
    ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 1), OP.i32Add,
    ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 2), OP.i32Add,
    ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 3), OP.i32Add,
    ...set(D),
    ...get(OUT), ...get(D), OP.i32Store16, 0x01, 0x00,
    // histogram[d]++
    ...get(HISTOGRAM), ...get(D), OP.i32Const, 2, OP.i32Shl, OP.i32Add, ...set(ADDRESS),
    ...get(ADDRESS), ...get(ADDRESS), OP.i32Load, 0x02, 0x00, OP.i32Const, 1, OP.i32Add, OP.i32Store, 0x02, 0x00,
    ...increment(CODES, 16 * lanes),
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
