// @ts-check
/**
 * Worker thread that owns one ONNX Runtime session.
 *
 * onnxruntime-node runs `session.run` synchronously on the calling thread (measured: a 1.5 s
 * run lets no timer fire), so inference must live off the main thread or every HTTP request
 * stalls behind it. Each worker lowers its own priority first when asked: on Linux the nice
 * value is per thread and inherited by the threads ORT creates for the session, so a busy
 * image worker yields the CPU to the text worker that serves interactive queries.
 *
 * Plain JavaScript (checked by tsc via @ts-check) because a worker is started from a file
 * path, and the same file must run under tsx, vitest and plain node.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { currentThreadId, setIdlePolicySync } from '../workers/sched-idle.js';
import { rgbBatchToNormalizedChw } from './normalize-chw.js';

/**
 * A tensor as sent to the worker. `rgb8`: images as 8-bit interleaved RGB, one after the other,
 * for a [n, 3, h, w] float input; the worker normalises them (see normalize-chw.js).
 * @typedef {{ type: 'float32' | 'int64', data: ArrayBuffer, dims: number[] }
 *   | { type: 'rgb8', data: ArrayBuffer, dims: number[], normalize: import('./normalize-chw.js').NormalizeConfig }} WireTensor
 */

const port = parentPort;
if (!port) throw new Error('onnx-worker must run as a worker thread');

/** @type {{ modelPath: string, threads: number, nice: number, schedIdle?: boolean, output: string, threadName?: string }} */
const options = workerData;

/**
 * Names this thread (Linux, best effort) before the session exists, so the ORT pool threads it
 * creates inherit the name: `top -H` and /proc/PID/task/TID/comm then say which encoder uses the
 * CPU (every thread of a Node process is otherwise called "node").
 */
if (options.threadName) {
  try {
    writeFileSync('/proc/thread-self/comm', options.threadName.slice(0, 15));
  } catch {
    // not Linux, or /proc not mounted: the name is only a convenience
  }
}

/**
 * How much lower than the process this thread runs. Relative, not absolute: a server started
 * with `nice -n 10` would otherwise put its image workers at 10 too, level with the text worker,
 * and interactive queries would lose their priority (measured: embedText p95 under image load
 * 7× its idle p50 instead of ≤ 3×). Capped at 19, the lowest priority.
 */
let niceApplied = 0;
if (options.nice > 0) {
  try {
    // pid 0 = the calling thread on Linux (nice is a per-thread attribute there).
    const base = os.getPriority(0);
    const target = Math.min(19, base + options.nice);
    os.setPriority(0, target);
    niceApplied = target - base;
  } catch {
    niceApplied = 0; // not permitted here: run at normal priority
  }
}

/**
 * Background work (image inference) can also run under SCHED_IDLE (CLIP_IMAGE_SCHED_IDLE, see
 * src/workers/sched-idle.js), set here before the session exists for the same reason as the nice
 * value: ORT's pool threads inherit the policy of the thread that creates them.
 */
let schedIdle = false;
if (options.schedIdle) {
  const tid = currentThreadId();
  schedIdle = tid !== null && setIdlePolicySync(tid);
}

/** @returns {Promise<ort.InferenceSession | null>} */
async function createSession() {
  try {
    return await ort.InferenceSession.create(options.modelPath, {
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Spinning threads burn the core the other encoder needs; sleep instead.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    // Without a message listener the worker then ends on its own.
    port?.postMessage({ kind: 'load-failed', message: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

const session = await createSession();
if (session) serve(session);

/** @param {ort.InferenceSession} session */
function serve(session) {
  if (!port) return;
  port.postMessage({ kind: 'ready', inputNames: session.inputNames, outputNames: session.outputNames, nice: niceApplied, schedIdle });
  port.on('message', async (/** @type {{ id: number, feeds: Record<string, WireTensor> }} */ msg) => {
    try {
      /** @type {Record<string, ort.Tensor>} */
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) {
        if (t.type === 'rgb8') {
          const [n = 0, , h = 0, w = 0] = t.dims;
          feeds[name] = new ort.Tensor('float32', rgbBatchToNormalizedChw(new Uint8Array(t.data), n, w, h, t.normalize), t.dims);
        } else {
          feeds[name] = t.type === 'int64' ? new ort.Tensor('int64', new BigInt64Array(t.data), t.dims) : new ort.Tensor('float32', new Float32Array(t.data), t.dims);
        }
      }
      const started = performance.now();
      const result = await session.run(feeds, [options.output]);
      const inferMs = performance.now() - started;
      const out = result[options.output];
      if (!out) throw new Error(`the model produced no output named ${options.output}`);
      // Copy into a buffer we own so it can be transferred, then release ORT's tensor.
      const copy = new Float32Array(/** @type {Float32Array} */ (out.data));
      const dims = out.dims;
      out.dispose();
      port.postMessage({ kind: 'result', id: msg.id, data: copy.buffer, dims, inferMs }, [copy.buffer]);
    } catch (error) {
      port.postMessage({ kind: 'error', id: msg.id, message: error instanceof Error ? error.message : String(error) });
    }
  });
}
