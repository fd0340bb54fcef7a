/**
 * Probe: latency of a bare text session.run and throughput of a bare vision session.run
 * (ready tensor, batch 8) for thread counts and the spin-wait switch. Run:
 *   npx tsx bench/probes/session-options.ts [modelDir] [seconds]
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = path.resolve(process.argv[2] ?? '.bench/clip-b32');
const seconds = Number(process.argv[3] ?? 4);

function opts(threads: number, spin: boolean): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' }, inter_op: { allow_spinning: spin ? '1' : '0' } } },
  };
}

const pct = (s: number[], p: number) => [...s].sort((a, b) => a - b)[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;

const ids = [49406, 320, 3345, 530, 518, 3733, 23981, 530, 518, 30770, 3154, 49407];
for (const [threads, spin] of [[1, false], [2, false], [1, true], [2, true]] as const) {
  const s = await ort.InferenceSession.create(path.join(dir, 'onnx/text_model.onnx'), opts(threads, spin));
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
  };
  for (let i = 0; i < 10; i++) await s.run(feeds);
  const t: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const a = performance.now();
    await s.run(feeds);
    t.push(performance.now() - a);
  }
  console.log(`text  threads=${threads} spin=${spin}: p50 ${pct(t, 50).toFixed(1)} ms p95 ${pct(t, 95).toFixed(1)} ms n=${t.length}`);
  await s.release();
}
for (const [threads, spin] of [[1, false], [2, false], [2, true]] as const) {
  const s = await ort.InferenceSession.create(path.join(dir, 'onnx/vision_model.onnx'), opts(threads, spin));
  const px = new Float32Array(8 * 3 * 224 * 224).fill(0.1);
  const feeds = { pixel_values: new ort.Tensor('float32', px, [8, 3, 224, 224]) };
  await s.run(feeds);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await s.run(feeds);
    n += 8;
  }
  console.log(`vision threads=${threads} spin=${spin}: ${(n / ((performance.now() - start) / 1000)).toFixed(1)} images/s (batch 8)`);
  await s.release();
}
