// @ts-check
/**
 * Worker thread that does the image work of OCR reads (ocr-prep.ts): decode, detection tensor,
 * DB boxes, crops, recognition tensors, CTC decoding. The main thread only hands it bytes and
 * forwards tensors to and from the ONNX workers, so a read costs the event loop a few message
 * hops instead of tens of milliseconds of JavaScript (issue 12's embedText p95 under OCR load).
 * It lowers its own priority like the ONNX workers (relative to the process, CLIP_IMAGE_NICE).
 *
 * Steps of one read are separate messages; the decoded working image stays here between the
 * `prepare` and `crop` steps (keyed by the id of its `prepare` request) and is dropped by `crop`
 * or `release`.
 *
 * Plain JavaScript (checked by tsc via @ts-check) because a worker is started from a file path;
 * it registers tsx itself (as pdf-worker.js does) so it runs under tsx, vitest and plain node.
 */
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const port = parentPort;
if (!port) throw new Error('ocr-prep-worker must run as a worker thread');

/** @type {{ nice: number, dictionaryPath: string }} */
const options = workerData;
if (options.nice > 0) {
  try {
    os.setPriority(0, Math.min(19, os.getPriority(0) + options.nice));
  } catch {
    // not permitted here: run at normal priority
  }
}

register();
/** @type {typeof import('./ocr-prep.js')} */
const prep = await import('./ocr-prep.js');
/** @type {typeof import('./ocr-maths.js')} */
const maths = await import('./ocr-maths.js');

/** @type {string[]} */
let classes;
try {
  classes = maths.parseDictionary(await readFile(options.dictionaryPath, 'utf8'));
} catch (error) {
  port.postMessage({ kind: 'load-failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

/** Working images of reads between their `prepare` and `crop` steps. @type {Map<number, import('./ocr-prep.js').WorkImage>} */
const images = new Map();

/**
 * @typedef {{ kind: 'prepare', id: number, image: Uint8Array, limits: import('../clip/image-decode.js').ImageLimits }
 *   | { kind: 'crop', id: number, image: number, prob: ArrayBuffer, dims: number[] }
 *   | { kind: 'decode', id: number, probs: ArrayBuffer, dims: number[] }
 *   | { kind: 'release', image: number }} Request
 */

port.on('message', async (/** @type {Request} */ msg) => {
  try {
    if (msg.kind === 'release') {
      images.delete(msg.image);
      return;
    }
    if (msg.kind === 'prepare') {
      const { work, rgba, detection } = await prep.prepareImage(msg.image, msg.limits);
      images.set(msg.id, work);
      const det = /** @type {ArrayBuffer} */ (detection.data.buffer);
      const rgbaBuffer = /** @type {ArrayBuffer} */ (rgba.buffer);
      port.postMessage({ kind: 'prepared', id: msg.id, width: work.width, height: work.height, rgba: rgbaBuffer, detection: { data: det, dims: detection.dims } }, [det, rgbaBuffer]);
    } else if (msg.kind === 'crop') {
      const work = images.get(msg.image);
      if (!work) throw new Error(`no prepared image ${msg.image}`);
      images.delete(msg.image);
      const { boxes, order, batches } = await prep.recognitionBatches(work, new Float32Array(msg.prob), msg.dims);
      const wire = batches.map((b) => ({ data: /** @type {ArrayBuffer} */ (b.data.buffer), dims: b.dims }));
      port.postMessage({ kind: 'cropped', id: msg.id, boxes, order, batches: wire }, wire.map((b) => b.data));
    } else {
      port.postMessage({ kind: 'decoded', id: msg.id, decoded: prep.decodeBatch(new Float32Array(msg.probs), msg.dims, classes) });
    }
  } catch (error) {
    if (msg.kind === 'release') return;
    if (msg.kind === 'crop') images.delete(msg.image);
    const e = /** @type {{ name?: unknown, code?: unknown, message?: unknown, details?: unknown }} */ (typeof error === 'object' && error !== null ? error : {});
    port.postMessage({
      kind: 'error',
      id: msg.id,
      error: { name: String(e.name ?? 'Error'), code: typeof e.code === 'string' ? e.code : null, message: String(e.message ?? error), details: e.details ?? null },
    });
  }
});
port.postMessage({ kind: 'ready' });
