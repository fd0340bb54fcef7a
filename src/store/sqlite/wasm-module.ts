/**
 * The smallest WebAssembly module a hand-written kernel needs, and the part of the WebAssembly
 * API used to run it: one exported function of N i32 parameters and no result, over a memory the
 * caller imports as `env.memory`. Shared by the Hamming kernel (hamming-kernel.ts) and the bench's
 * exact-dot kernel (bench/dot-kernel.ts), which write only their function bodies.
 *
 * Why by hand: the kernels are a few dozen instructions; a toolchain (wat2wasm, a compiler to
 * wasm) would be a build step and a dependency for that, and the bytes below are the whole format.
 */

// The project's TS lib has no DOM/WebAssembly types.
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

/** A growable linear memory of `pages` × 64 KiB. */
export function createWasmMemory(pages: number): WasmMemory {
  return new wasm.Memory({ initial: pages });
}

/** Unsigned LEB128 (section sizes, counts, memory immediates). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of an i32 constant (`i32.const` immediates). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Opcodes the kernels use (https://webassembly.github.io/spec/core/binary/instructions.html). */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Load16U: 0x2f,
  i32Store: 0x36,
  i32Store16: 0x3b,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Ctz: 0x68,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  simd: 0xfd,
} as const;
/** Block type of a block, loop or if that leaves nothing on the stack. */
export const VOID = 0x40;
/** Local declaration types. */
export const I32 = 0x7f;
export const V128 = 0x7b;

/** A SIMD instruction: the 0xfd prefix, its (LEB128) sub-opcode bytes, then immediates. */
export function simd(op: readonly number[], ...immediates: number[]): number[] {
  return [OP.simd, ...op, ...immediates];
}
export function get(local: number): number[] {
  return [OP.localGet, local];
}
export function set(local: number): number[] {
  return [OP.localSet, local];
}
/** local += by */
export function increment(local: number, by: number): number[] {
  return [...get(local), OP.i32Const, ...sleb(by), OP.i32Add, ...set(local)];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}
function name(text: string): number[] {
  return [text.length, ...Buffer.from(text, 'ascii')];
}

/**
 * A module exporting one function `exportName` of `i32Params` i32 parameters and no result,
 * whose code entry is `body` (its locals declaration, instructions and final `end`).
 */
export function kernelModule(exportName: string, i32Params: number, body: number[]): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, i32Params, ...new Array<number>(i32Params).fill(0x7f), 0]), // type: (i32 × n) → ()
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]), // import env.memory, min 1 page
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name(exportName), 0x00, 0]), // export it
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** The module's exported function bound to `memory`, or null where this runtime rejects the module (e.g. no SIMD). */
export function instantiateKernel(bytes: Uint8Array, exportName: string, memory: WasmMemory): ((...args: number[]) => void) | null {
  if (!wasm.validate(bytes)) return null;
  const fn = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports[exportName];
  return typeof fn === 'function' ? (fn as (...args: number[]) => void) : null;
}
