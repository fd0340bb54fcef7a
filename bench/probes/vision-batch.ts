/**
 * Probe: bare vision session.run throughput and CPU per image (ready tensor) by batch size, with the encoder's
 * session options (2 threads, no spinning unless SPIN=1). Run:
 *   THREADS=1 BATCHES=1,2,4,8 npx tsx bench/probes/vision-batch.ts [modelDir] [seconds]
 */
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = path.resolve(process.argv[2] ?? '.bench/clip-b32');
const seconds = Number(process.argv[3] ?? 4);
const spin = process.env.SPIN === '1' ? '1' : '0';
const s = await ort.InferenceSession.create(path.join(dir, 'onnx/vision_model.onnx'), {
  intraOpNumThreads: Number(process.env.THREADS ?? 2),
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
});
for (const batch of (process.env.BATCHES ?? "1,4,8,16").split(",").map(Number)) {
  const feeds = { pixel_values: new ort.Tensor('float32', new Float32Array(batch * 3 * 224 * 224).fill(0.1), [batch, 3, 224, 224]) };
  await s.run(feeds);
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await s.run(feeds);
    n += batch;
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(`batch ${batch}: ${(n / ((performance.now() - start) / 1000)).toFixed(1)} images/s, ${((cpu.user + cpu.system) / 1000 / n).toFixed(1)} CPU ms per image (loadavg ${os.loadavg()[0]!.toFixed(1)})`);
}
await s.release();
