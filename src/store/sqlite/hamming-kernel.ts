/**
 * Hamming distances between one query code and many stored codes: the coarse pass of vector
 * search. A JS popcount over 400k codes of 512 bits takes ~20 ms on this project's machines;
 * WebAssembly SIMD (`i8x16.popcnt`, in every Node ≥ 16.4) does it several times faster. The
 * module is small enough to write out byte by byte (below, one instruction per line); the JS
 * version stays as the fallback and as the reference the tests compare against.
 *
 * Memory layout (caller-managed, in the module's imported memory): codes are `lanes × 16`
 * bytes each, zero-padded; the query is one code; distances are written as u16.
 */

/** Scans `count` codes starting at `codes` and writes one u16 distance per code at `out`. */
export type HammingScan = (codes: number, count: number, lanes: number, query: number, out: number) => void;

// The part of the WebAssembly API used here (the project's TS lib has no DOM/WebAssembly types).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A growable linear memory (64 KiB pages) for the kernel. */
export function createWasmMemory(pages: number): WasmMemory {
  return new wasm.Memory({ initial: pages });
}

const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Store16: 0x3b,
  simd: 0xfd,
} as const;
const VOID = 0x40;
// SIMD sub-opcodes (LEB128-encoded after 0xfd).
const V128_LOAD = [0x00];
const V128_CONST = [0x0c];
const V128_XOR = [0x51];
const I8X16_POPCNT = [0x62];
const I16X8_EXTADD_PAIRWISE_I8X16_U = [0x7d];
const I32X4_EXTADD_PAIRWISE_I16X8_U = [0x7f];
const I16X8_ADD = [0x8e, 0x01];
const I32X4_EXTRACT_LANE = [0x1b];

// Parameters 0..4: codes, count, lanes, query, out. Locals: 5 i, 6 j, 7 q (i32); 8 acc (v128).
const [CODES, COUNT, LANES, QUERY, OUT, I, J, Q, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

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
  return [...get(local), OP.i32Const, by, OP.i32Add, ...set(local)];
}

const body: number[] = [
  // locals: 3 × i32, 1 × v128
  0x02, 0x03, 0x7f, 0x01, 0x7b,
  OP.block, VOID,
  OP.loop, VOID,
  ...get(I), ...get(COUNT), OP.i32GeU, OP.brIf, 1,
  ...simd(V128_CONST, ...new Array<number>(16).fill(0)), ...set(ACC),
  OP.i32Const, 0, ...set(J),
  ...get(QUERY), ...set(Q),
  OP.block, VOID,
  OP.loop, VOID,
  ...get(J), ...get(LANES), OP.i32GeU, OP.brIf, 1,
  ...get(ACC),
  ...get(CODES), ...simd(V128_LOAD, 0x00, 0x00),
  ...get(Q), ...simd(V128_LOAD, 0x00, 0x00),
  ...simd(V128_XOR),
  ...simd(I8X16_POPCNT),
  ...simd(I16X8_EXTADD_PAIRWISE_I8X16_U),
  ...simd(I16X8_ADD),
  ...set(ACC),
  ...increment(CODES, 16),
  ...increment(Q, 16),
  ...increment(J, 1),
  OP.br, 0,
  OP.end,
  OP.end,
  ...get(OUT),
  ...get(ACC), ...simd(I32X4_EXTADD_PAIRWISE_I16X8_U), ...set(ACC),
  ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 0),
  ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 1), OP.i32Add,
  ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 2), OP.i32Add,
  ...get(ACC), ...simd(I32X4_EXTRACT_LANE, 3), OP.i32Add,
  OP.i32Store16, 0x01, 0x00,
  ...increment(OUT, 2),
  ...increment(I, 1),
  OP.br, 0,
  OP.end,
  OP.end,
  OP.end,
];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}
function name(text: string): number[] {
  return [text.length, ...Buffer.from(text, 'ascii')];
}

const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // type: (i32 ×5) → ()
  ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]), // import env.memory, min 1 page
  ...section(3, [1, 0]), // one function of type 0
  ...section(7, [1, ...name('hamming'), 0x00, 0]), // export it
  ...section(10, [1, ...uleb(body.length), ...body]),
]);

/** The SIMD kernel bound to `memory`, or null where WebAssembly SIMD is unavailable. */
export function createSimdHammingScan(memory: WasmMemory): HammingScan | null {
  if (!wasm.validate(MODULE)) return null;
  const instance = new wasm.Instance(new wasm.Module(MODULE), { env: { memory } });
  const hamming = instance.exports.hamming;
  if (typeof hamming !== 'function') return null;
  return hamming as HammingScan;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The same scan in plain JS, over the same memory layout. */
export function createJsHammingScan(memory: WasmMemory): HammingScan {
  return (codes, count, lanes, query, out) => {
    const words = new Int32Array(memory.buffer);
    const distances = new Uint16Array(memory.buffer);
    const wordsPerCode = lanes * 4;
    const q = query >>> 2;
    let c = codes >>> 2;
    let o = out >>> 1;
    for (let i = 0; i < count; i++, o++) {
      let d = 0;
      for (let w = 0; w < wordsPerCode; w++, c++) d += popcount32(words[c]! ^ words[q + w]!);
      distances[o] = d;
    }
  };
}
