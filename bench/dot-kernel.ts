/**
 * Float32 dot products of one query against many vectors, in WebAssembly SIMD (f32x4): the
 * inner loop of the bench's exact baseline, which scores every stored vector against every
 * baseline query in one pass. Plain JS does ~3 µs per 512-dimension dot on this project's
 * machines; this kernel ~10× less, which turns a 1M-page baseline of 50 queries from ~20 min
 * into a few minutes. Written out byte by byte like src/store/sqlite/hamming-kernel.ts.
 *
 * Memory layout (caller-managed): vectors are `lanes × 4` floats each, back to back; the
 * query is one such vector; results are one f32 per vector at `out`.
 */

import { createWasmMemory, instantiateKernel, kernelModule, type WasmMemory } from '../src/store/sqlite/wasm-module.js';

export type DotScan = (vectors: number, count: number, lanes: number, query: number, out: number) => void;

const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const F32_ADD = 0x92;
const F32_STORE = 0x38;
const VOID = 0x40;
const simd = (...op: number[]): number[] => [0xfd, ...op];
const V128_LOAD = simd(0x00, 0x04, 0x00); // align 2^4, offset 0
const V128_ZERO = simd(0x0c, ...new Array<number>(16).fill(0));
const F32X4_MUL = simd(0xe6, 0x01);
const F32X4_ADD = simd(0xe4, 0x01);
const lane = (n: number): number[] => simd(0x1f, n); // f32x4.extract_lane

// Parameters 0..4: vectors, count, lanes, query, out. Locals: 5 i, 6 j, 7 q (i32); 8 acc (v128).
const [VECTORS, COUNT, LANES, QUERY, OUT, I, J, Q, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const get = (local: number): number[] => [LOCAL_GET, local];
const set = (local: number): number[] => [LOCAL_SET, local];
const increment = (local: number, by: number): number[] => [...get(local), I32_CONST, by, I32_ADD, ...set(local)];

// prettier-ignore
const body: number[] = [
  0x02, 0x03, 0x7f, 0x01, 0x7b, // locals: 3 × i32, 1 × v128
  BLOCK, VOID, LOOP, VOID,
  ...get(I), ...get(COUNT), I32_GE_U, BR_IF, 1,
  ...V128_ZERO, ...set(ACC),
  I32_CONST, 0, ...set(J),
  ...get(QUERY), ...set(Q),
  BLOCK, VOID, LOOP, VOID,
  ...get(J), ...get(LANES), I32_GE_U, BR_IF, 1,
  ...get(ACC),
  ...get(VECTORS), ...V128_LOAD,
  ...get(Q), ...V128_LOAD,
  ...F32X4_MUL, ...F32X4_ADD, ...set(ACC),
  ...increment(VECTORS, 16), ...increment(Q, 16), ...increment(J, 1),
  BR, 0, END, END,
  ...get(OUT),
  ...get(ACC), ...lane(0), ...get(ACC), ...lane(1), F32_ADD,
  ...get(ACC), ...lane(2), F32_ADD, ...get(ACC), ...lane(3), F32_ADD,
  F32_STORE, 0x02, 0x00,
  ...increment(OUT, 4), ...increment(I, 1),
  BR, 0, END, END,
  END,
];

const MODULE = kernelModule('dot', 5, body);

/** A kernel over a fresh memory of at least `bytes` bytes. */
export function createDotKernel(bytes: number): { memory: WasmMemory; dot: DotScan } {
  const memory = createWasmMemory(Math.ceil(bytes / 65536));
  const dot = instantiateKernel(MODULE, 'dot', memory);
  if (!dot) throw new Error('this Node has no WebAssembly SIMD: the exact baseline needs it');
  return { memory, dot: dot as DotScan };
}
