/**
 * Probe: where the time goes in embedImages at full load (batch sizes, inference ms per batch,
 * decode ms, queue wait) and how busy the CPUs are. Run:
 *   npx tsx bench/probes/image-pipeline.ts [seconds] [inFlight] [imageWorkers] [imageThreads] [imageNice]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { resolveModelFolder } from '../../src/clip/model-files.js';
import type { Stage } from '../../src/observability/metrics.js';

const [seconds = 10, inFlight = 16, imageWorkers = 1, imageThreads = 2, imageNice = 10] = process.argv.slice(2).map(Number);
const dir = path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'reference', 'photos');
const files = readdirSync(dir).map((f) => new Uint8Array(readFileSync(path.join(dir, f))));
const stages = new Map<string, number[]>();
const batches: number[] = [];
const encoder = await OnnxClipEncoder.load(await resolveModelFolder('.bench/clip-b32'), {
  textThreads: 2, backgroundTextWorker: false, imageThreads, imageWorkers, imageNice, imageBatch: 8, textBatch: 32, batchWaitMs: Number(process.env.WAIT ?? 2), queueLimit: 1024, cacheSize: 0,
  imageLimits: { maxBytes: 1e8, maxPixels: 1e8 },
  observer: { observeStage: (s: Stage, sec: number) => void (stages.get(s) ?? stages.set(s, []).get(s)!).push(sec * 1000), countCache: () => {} },
  onBatch: (kind, size) => { if (kind === 'image') batches.push(size); },
});
stages.clear(); batches.length = 0;
const cpu = () => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
let stop = false; let done = 0; let next = 0;
const threads = () => new Map(readdirSync('/proc/self/task').map((t) => { try { const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8'); const c = st.lastIndexOf(')'); const f = st.slice(c + 2).split(' '); return [t, { comm: st.slice(st.indexOf('(') + 1, c), nice: Number(f[16]), ticks: Number(f[11]) + Number(f[12]) }] as const; } catch { return [t, { comm: '?', nice: 0, ticks: 0 }] as const; } }));
const th0 = threads();
const c0 = cpu(); const t0 = performance.now();
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (!stop) { await encoder.embedImages([files[next++ % files.length]!]); done++; if (performance.now() - t0 > seconds * 1000) stop = true; }
}));
const secs = (performance.now() - t0) / 1000; const c1 = cpu();
const d = c1.map((v, i) => v - c0[i]!); const total = d.reduce((a, b) => a + b, 0);
console.log(`batchWaitMs=${process.env.WAIT ?? 2} workers=${imageWorkers} threads=${imageThreads} nice=${imageNice} inFlight=${inFlight}: ${(done / secs).toFixed(1)} images/s`);
console.log(`cpu: user ${(100 * d[0]! / total).toFixed(0)}% nice ${(100 * d[1]! / total).toFixed(0)}% sys ${(100 * d[2]! / total).toFixed(0)}% idle ${(100 * d[3]! / total).toFixed(0)}% steal ${(100 * (d[7] ?? 0) / total).toFixed(0)}%`);
const hist = new Map<number, number>(); for (const b of batches) hist.set(b, (hist.get(b) ?? 0) + 1);
console.log(`batch sizes: ${[...hist].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(' ')}`);
for (const [s, v] of stages) { const m = v.reduce((a, b) => a + b, 0) / v.length; console.log(`${s}: n=${v.length} mean ${m.toFixed(1)} ms, total ${(m * v.length / 1000).toFixed(1)} s`); }
const th1 = threads();
const rows = [...th1].map(([t, v]) => ({ t, comm: v.comm, nice: v.nice, s: (v.ticks - (th0.get(t)?.ticks ?? 0)) / 100 })).filter((r) => r.s > 0.05).sort((a, b) => b.s - a.s);
console.log('threads (tid comm nice cpu-s): ' + rows.map((r) => `${r.t} ${r.comm} ${r.nice} ${r.s.toFixed(1)}`).join(' | '));
await encoder.close();
