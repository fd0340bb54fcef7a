// @ts-check
/**
 * Worker thread that decodes QR codes and 1-D barcodes with zxing-wasm.
 *
 * ZXing-C++ as WebAssembly runs synchronously (tens to hundreds of milliseconds on a photo with
 * tryHarder), so it lives off the main thread like the ONNX sessions, at the image lanes' lower
 * priority. The .wasm file is read from node_modules and handed to the module: zxing-wasm's
 * default locator fetches it from a CDN, which fails offline.
 */
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';

const port = parentPort;
if (!port) throw new Error('code-worker must run as a worker thread');

/** @type {{ nice: number }} */
const options = workerData;
if (options.nice > 0) {
  try {
    // Relative to the process, as the ONNX workers do (a niced server keeps its priorities).
    os.setPriority(0, Math.min(19, os.getPriority(0) + options.nice));
  } catch {
    // not permitted here: run at normal priority
  }
}

try {
  const require = createRequire(import.meta.url);
  const bytes = await readFile(require.resolve('zxing-wasm/reader/zxing_reader.wasm'));
  const wasmBinary = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  await prepareZXingModule({ overrides: { wasmBinary }, fireImmediately: true });
  port.postMessage({ kind: 'ready' });
} catch (error) {
  port.postMessage({ kind: 'load-failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

port.on('message', async (/** @type {{ id: number, rgba: ArrayBuffer, width: number, height: number, maxCodes: number }} */ msg) => {
  try {
    const results = await readBarcodes(
      { data: new Uint8ClampedArray(msg.rgba), width: msg.width, height: msg.height, colorSpace: 'srgb' },
      // Plain: the raw content (HRI mode would spell control characters as "<BEL>"); the main thread sanitises it.
      { tryHarder: true, maxNumberOfSymbols: msg.maxCodes, textMode: 'Plain' },
    );
    const codes = results.filter((r) => r.isValid).map((r) => ({ format: r.format, value: r.text }));
    port.postMessage({ kind: 'result', id: msg.id, codes });
  } catch (error) {
    port.postMessage({ kind: 'error', id: msg.id, message: error instanceof Error ? error.message : String(error) });
  }
});
