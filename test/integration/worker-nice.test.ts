/**
 * Image workers run CLIP_IMAGE_NICE *below the process*, not at that absolute value (issue 14):
 * a server started with `nice -n 10` put its image workers at 10 too, level with the text worker,
 * and text queries lost their priority under image load. Linux nice is per thread and a new thread
 * starts at its creator's value, so this test lowers its own thread's priority first (allowed
 * without privileges) and reads what the kernel says about the worker's threads.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OnnxSessionWorker } from '../../src/clip/onnx-session-worker.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

async function threadNices(): Promise<number[]> {
  const tasks = await readdir('/proc/self/task');
  return Promise.all(tasks.map(async (tid) => Number((await readFile(`/proc/self/task/${tid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[16])));
}

const started: OnnxSessionWorker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.close()));
});

async function start(nice: number): Promise<OnnxSessionWorker> {
  const worker = await OnnxSessionWorker.start({
    modelPath: path.join(TINY_MODEL_DIR, 'onnx', 'vision_model.onnx'),
    displayName: 'onnx/vision_model.onnx',
    threads: 2,
    nice,
    inputs: ['pixel_values'],
    output: 'image_embeds',
  });
  started.push(worker);
  return worker;
}

describe.runIf(process.platform === 'linux')('ONNX worker priority is relative to the process', () => {
  it('a worker started from a thread at nice 3 with nice 10 runs at 13, and its ORT pool thread too', async () => {
    os.setPriority(0, Math.max(3, os.getPriority(0))); // this thread only; lowering priority needs no privilege
    const base = os.getPriority(0);
    const worker = await start(10);
    const target = Math.min(19, base + 10);
    expect(worker.niceApplied).toBe(target - base);
    // The worker thread and its intra-op pool thread (2 threads: the caller plus one).
    expect((await threadNices()).filter((n) => n === target).length).toBeGreaterThanOrEqual(2);
  });

  it('is capped at 19, the lowest priority', async () => {
    os.setPriority(0, Math.max(15, os.getPriority(0)));
    const base = os.getPriority(0);
    const worker = await start(10);
    expect(worker.niceApplied).toBe(19 - base);
    expect((await threadNices()).filter((n) => n === 19).length).toBeGreaterThanOrEqual(2);
  });
});
