// The hand-written WebAssembly kernels of the vector index (hamming-kernel.ts, select-kernel.ts)
// against their plain-JS references, byte for byte: every code length the SIMD kernel accepts
// at its edges, counts that leave 0–7 items after the unrolled groups, extreme distances, ties
// at the cut-off, and nothing written outside the output.
import { describe, expect, it } from 'vitest';
import { createJsHammingScan, createSimdHammingScan, createWasmMemory, MAX_SIMD_LANES } from '../../src/store/sqlite/hamming-kernel.js';
import { createJsSelect, createSimdSelect } from '../../src/store/sqlite/select-kernel.js';
import { seededRandom } from '../../src/demo/seeded-random.js';

const GUARD = 0xa5;

describe('Hamming kernel', () => {
  /** Runs `scan` over a fresh memory and returns the distances, the histogram and whether bytes around the outputs survived. */
  function run(kind: 'simd' | 'js', lanes: number, codes: Uint8Array[], query: Uint8Array) {
    const stride = lanes * 16;
    const memory = createWasmMemory(Math.ceil((stride * (codes.length + 2) + codes.length * 2 + 64 + (lanes * 128 + 1) * 4 + 256) / 65536) + 1);
    const scan = kind === 'simd' ? createSimdHammingScan(memory, lanes)! : createJsHammingScan(memory);
    expect(scan).not.toBeNull();
    const bytes = new Uint8Array(memory.buffer);
    bytes.fill(GUARD);
    const codesOffset = stride;
    bytes.set(query, 0);
    codes.forEach((code, i) => bytes.set(code, codesOffset + i * stride));
    // Distances at an 8-byte but not 16-byte aligned offset, with guard bytes either side.
    const out = codesOffset + codes.length * stride + 8 + 16 * 3;
    const histogram = (out + codes.length * 2 + 32 + 3) & ~3;
    const bins = lanes * 128 + 1;
    const counts = new Uint32Array(memory.buffer, histogram, bins);
    for (let d = 0; d < bins; d++) counts[d] = d % 3; // incremented, not overwritten
    scan(codesOffset, codes.length, lanes, 0, out, histogram);
    return {
      distances: Array.from(new Uint16Array(memory.buffer, out, codes.length)),
      histogram: Array.from(counts),
      guardsIntact: bytes.subarray(out - 8, out).every((b) => b === GUARD) && bytes.subarray(out + codes.length * 2, histogram).every((b) => b === GUARD),
    };
  }

  function randomCode(random: () => number, lanes: number, density = 0.5): Uint8Array {
    const code = new Uint8Array(lanes * 16);
    for (let b = 0; b < code.length * 8; b++) if (random() < density) code[b >>> 3]! |= 1 << (b & 7);
    return code;
  }

  function popcountDistance(a: Uint8Array, b: Uint8Array): number {
    let d = 0;
    for (let i = 0; i < a.length; i++) for (let x = a[i]! ^ b[i]!; x; x &= x - 1) d++;
    return d;
  }

  it('is available here (Node 20 has WebAssembly SIMD)', () => {
    expect(createSimdHammingScan(createWasmMemory(1), 4)).not.toBeNull();
    expect(createSimdHammingScan(createWasmMemory(1), MAX_SIMD_LANES + 1)).toBeNull();
    expect(createSimdHammingScan(createWasmMemory(1), 0)).toBeNull();
  });

  for (const lanes of [1, 2, 3, 4, 5, 8, MAX_SIMD_LANES]) {
    it(`matches the JS reference for ${lanes} lane(s), every count from 0 to 13 and a long run`, () => {
      const random = seededRandom(lanes);
      for (const count of [...Array.from({ length: 14 }, (_, i) => i), 1001]) {
        const query = randomCode(random, lanes);
        const codes = Array.from({ length: count }, (_, i) => (i % 5 === 0 ? randomCode(random, lanes, 0.05) : randomCode(random, lanes)));
        const simd = run('simd', lanes, codes, query);
        const js = run('js', lanes, codes, query);
        expect(simd).toEqual(js);
        expect(simd.guardsIntact).toBe(true);
        expect(simd.distances).toEqual(codes.map((c) => popcountDistance(c, query)));
      }
    });
  }

  it('handles the extremes: distance 0 and the full code length, in every position of a group of four', () => {
    for (const lanes of [1, 4, MAX_SIMD_LANES]) {
      const zeros = new Uint8Array(lanes * 16);
      const ones = new Uint8Array(lanes * 16).fill(0xff);
      const codes = [ones, zeros, ones, ones, zeros, zeros, zeros, ones, ones];
      const simd = run('simd', lanes, codes, zeros);
      expect(simd.distances).toEqual(codes.map((c) => (c === ones ? lanes * 128 : 0)));
      expect(simd).toEqual(run('js', lanes, codes, zeros));
      expect(simd.histogram[lanes * 128]).toBe((lanes * 128) % 3 + 5);
    }
  });
});

describe('select kernel', () => {
  /** The select loop the kernel replaced (binary-index.ts before it), stopping once `take` are found. */
  function reference(distances: number[], cutoff: number, atCutoff: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < distances.length; i++) {
      const d = distances[i]!;
      if (d < cutoff) out.push(i);
      else if (d === cutoff && atCutoff > 0) {
        atCutoff--;
        out.push(i);
      }
    }
    return out;
  }

  function run(kind: 'simd' | 'js', distances: number[], cutoff: number, atCutoff: number, misalign: number) {
    const memory = createWasmMemory(Math.ceil((distances.length * 6 + 1024) / 65536) + 1);
    const select = kind === 'simd' ? createSimdSelect(memory)! : createJsSelect(memory);
    expect(select).not.toBeNull();
    const bytes = new Uint8Array(memory.buffer);
    bytes.fill(GUARD);
    const at = 64 + misalign * 2; // u16 alignment only
    new Uint16Array(memory.buffer, at, distances.length).set(distances);
    const out = (at + distances.length * 2 + 64) & ~3;
    const expected = reference(distances, cutoff, atCutoff);
    select(at, distances.length, cutoff, atCutoff, out);
    return {
      positions: Array.from(new Uint32Array(memory.buffer, out, expected.length)),
      expected,
      guardIntact: bytes.subarray(out + expected.length * 4, out + expected.length * 4 + 64).every((b) => b === GUARD),
      distancesIntact: Array.from(new Uint16Array(memory.buffer, at, distances.length)).every((d, i) => d === distances[i]),
    };
  }

  it('is available here', () => {
    expect(createSimdSelect(createWasmMemory(1))).not.toBeNull();
  });

  it('picks what the JS loop picked: every count from 0 to 40, ties at the cut-off, excluded rows, unaligned distances', () => {
    const random = seededRandom(7);
    let checked = 0;
    for (let count = 0; count <= 40; count++) {
      for (let trial = 0; trial < 6; trial++) {
        // Few distinct values, so the cut-off bin holds many ties; some rows excluded (0xffff).
        const distances = Array.from({ length: count }, () => (random() < 0.1 ? 0xffff : Math.floor(random() * 6)));
        const cutoff = Math.floor(random() * 7);
        const tied = distances.filter((d) => d === cutoff).length;
        for (const atCutoff of new Set([0, 1, Math.floor(tied / 2), tied])) {
          const misalign = (count + trial) % 8;
          const simd = run('simd', distances, cutoff, atCutoff, misalign);
          const js = run('js', distances, cutoff, atCutoff, misalign);
          expect(simd.positions).toEqual(simd.expected);
          expect(js.positions).toEqual(js.expected);
          expect(simd.guardIntact && simd.distancesIntact).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('handles long runs like a real scan: a few winners among many, the cut-off at 0 and at the largest distance', () => {
    const random = seededRandom(11);
    const distances = Array.from({ length: 100_003 }, () => 200 + Math.floor(random() * 100));
    for (const i of [0, 7, 8, 9, 50_000, 100_002]) distances[i] = 3;
    distances[123] = 0;
    for (const [cutoff, atCutoff] of [
      [0, 1],
      [0, 0],
      [3, 6],
      [3, 2],
      [4, 0],
      [210, 17],
      [512, 5],
      [3968, 100_003],
    ] as const) {
      const simd = run('simd', distances, cutoff, atCutoff, 3);
      expect(simd.positions).toEqual(simd.expected);
      expect(simd.guardIntact).toBe(true);
    }
    expect(run('simd', distances, 4, 0, 0).expected).toEqual([0, 7, 8, 9, 123, 50_000, 100_002]);
  });
});
