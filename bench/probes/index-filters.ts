/**
 * Probe for issue 14 item 5: what a filter or a removed row adds to a search of the in-memory
 * vector index (src/store/sqlite/binary-index.ts), on 4M random 512-bit codes like the 1M-page
 * chunk index. Per case: the Hamming and select stages (wall ms, median of 9) and the process
 * CPU per `candidates()` call. `--index FILE` times another copy of binary-index.ts (an older
 * tree's, for an A/B in one command).
 *
 *   npx tsx bench/probes/index-filters.ts [--rows 4000000] [--index /tmp/old/src/store/sqlite/binary-index.ts]
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '4000000' }, index: { type: 'string', default: '../../src/store/sqlite/binary-index.js' } } });
type Module = typeof import('../../src/store/sqlite/binary-index.js');
const { BinaryCodeIndex, ALL_KINDS_MASK } = (await import(values.index)) as Module;
type Filter = Parameters<InstanceType<typeof BinaryCodeIndex>['candidates']>[1];

const n = Number(values.rows);
const dim = 512;
const index = new BinaryCodeIndex(dim);
let seed = 1;
const code = new Uint8Array(dim / 8);
const words = new Uint32Array(code.buffer);
for (let i = 1; i <= n; i++) {
  for (let k = 0; k < words.length; k++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    words[k] = seed ^ (seed >>> 13);
  }
  index.add({ rowId: i, targetId: i, owner: 1 + (i % 1000), kind: i % 2, code });
}
const query = Float32Array.from({ length: dim }, (_, i) => Math.sin(i * 7.1));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function time(name: string, filter: Filter): void {
  const hamming: number[] = [];
  const select: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < 9; r++) {
    const { times } = index.candidates(query, filter, 1600, 400);
    hamming.push(times.hammingMs);
    select.push(times.selectMs);
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${name.padEnd(26)} hamming p50 ${median(hamming).toFixed(1).padStart(6)} ms   select p50 ${median(select).toFixed(1).padStart(6)} ms   CPU per call ${((cpu.user + cpu.system) / 9000).toFixed(1).padStart(6)} ms`,
  );
}

console.log(`${n.toLocaleString('en')} rows, ${values.index}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
time('no filter', null);
time('kinds filter (all kinds)', { kindMask: ALL_KINDS_MASK, documents: null, photos: null });
time('documents filter (half)', { kindMask: ALL_KINDS_MASK, documents: new Uint8Array(1001).map((_, i) => i % 2), photos: null });
index.remove([12345]);
time('no filter, 1 row removed', null);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
