/**
 * Probe for issue 14 item 5: the coarse pass of the SQLite store's vector search, kernel by
 * kernel, on as many random 512-bit codes as the 1M-page bench's chunk index holds:
 *   - hamming: the Hamming kernel (src/store/sqlite/hamming-kernel.ts) as the index calls it;
 *   - floor: a loop that only loads every code and XORs it into an accumulator, i.e. what
 *     reading the 256 MB costs on this machine, whatever the popcounts;
 *   - select: the positions of the 1,600 nearest from the distances and their histogram, in
 *     WebAssembly (select-kernel.ts) and with the plain JS loop it replaced.
 * Per kernel: the fastest and the median of `--runs` runs (wall ms on one thread; the process
 * CPU time over all runs says whether the machine took the core away), and the load average.
 *
 *   npx tsx bench/probes/hamming-kernels.ts [--codes 4049544] [--runs 15] [--take 1600]
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { createSimdHammingScan, createWasmMemory } from '../../src/store/sqlite/hamming-kernel.js';
import { createJsSelect, createSimdSelect } from '../../src/store/sqlite/select-kernel.js';
import { get, I32, increment, instantiateKernel, kernelModule, OP, set, simd, V128, VOID } from '../../src/store/sqlite/wasm-module.js';

const { values } = parseArgs({ options: { codes: { type: 'string', default: '4049544' }, runs: { type: 'string', default: '15' }, take: { type: 'string', default: '1600' } } });
const count = Number(values.codes);
const runs = Number(values.runs);
const take = Number(values.take);
const lanes = 4;
const stride = lanes * 16;
const bins = lanes * 128 + 1;

// Layout: query, codes, distances, histogram, positions.
const codesOffset = stride;
const out = codesOffset + count * stride;
const histogram = (out + count * 2 + 3) & ~3;
const positions = histogram + bins * 4;
const memory = createWasmMemory(Math.ceil((positions + count * 4) / 65536));
const words = new Uint32Array(memory.buffer, 0, out / 4);
let seed = 12345;
for (let i = 0; i < words.length; i++) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  words[i] = seed ^ (seed >>> 13);
}

// The floor: v128.load + v128.xor of every lane of every code, one store at the end.
const [CODES, COUNT, , , OUT, , I, ACC] = [0, 1, 2, 3, 4, 5, 6, 7];
// prettier-ignore
const floorBody = [
  0x02, 0x01, I32, 0x01, V128, // locals: 1 × i32, 1 × v128
  OP.block, VOID, OP.loop, VOID,
  ...get(I), ...get(COUNT), OP.i32GeU, OP.brIf, 1,
  ...get(ACC),
  ...[0, 16, 32, 48].flatMap((offset) => [...get(CODES), ...simd([0x00], 0x04, offset), ...simd([0x51])]),
  ...set(ACC),
  ...increment(CODES, stride), ...increment(I, 1),
  OP.br, 0, OP.end, OP.end,
  ...get(OUT), ...get(ACC), ...simd([0x1b], 0), OP.i32Store, 0x02, 0x00,
  OP.end,
];
const floor = instantiateKernel(kernelModule('floor', 6, floorBody), 'floor', memory)!;
const hamming = createSimdHammingScan(memory, lanes)!;
const selectSimd = createSimdSelect(memory)!;
const selectJs = createJsSelect(memory);
const counts = new Uint32Array(memory.buffer, histogram, bins);

function time(name: string, run: () => void): void {
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    run();
    wall.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  wall.sort((a, b) => a - b);
  const cpuMs = (cpu.user + cpu.system) / 1000 / runs;
  console.log(`${name.padEnd(16)} min ${wall[0]!.toFixed(1).padStart(6)} ms   p50 ${wall[Math.floor(runs / 2)]!.toFixed(1).padStart(6)} ms   CPU/run ${cpuMs.toFixed(1).padStart(6)} ms`);
}

console.log(`${count.toLocaleString('en')} codes of ${lanes * 128} bits (${((count * stride) / 2 ** 20).toFixed(0)} MiB), ${runs} runs, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
time('floor (load+xor)', () => floor(codesOffset, count, lanes, 0, out, histogram));
time('hamming', () => {
  counts.fill(0);
  hamming(codesOffset, count, lanes, 0, out, histogram);
});
// The cut-off for `take`, as binary-index.ts reads it off the histogram.
let cutoff = 0;
let below = 0;
while (below + counts[cutoff]! < take) below += counts[cutoff++]!;
console.log(`select ${take}: cut-off ${cutoff}, ${below} below it, ${counts[cutoff]} at it`);
const check: number[][] = [];
for (const [name, select] of [
  ['select (wasm)', selectSimd],
  ['select (js)', selectJs],
] as const) {
  time(name, () => select(out, count, cutoff, take - below, positions));
  check.push(Array.from(new Uint32Array(memory.buffer, positions, take)));
}
if (check[0]!.some((p, i) => p !== check[1]![i])) throw new Error('the two selects disagree');
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
