// @ts-check
/**
 * Worker thread that extracts one PDF (issue 17, item 5: decompression bombs).
 *
 * pdfjs parses on the calling thread in Node and only the compressed size of a PDF is known up
 * front: a 400 KB file whose content stream inflates to 200 MB kept the server busy for minutes
 * and took RSS to 7.9 GB. Here a document is parsed in a thread of its own, started with a heap
 * limit; the parent ends it when a page takes too long or the heap limit is hit, and /health and
 * queries go on meanwhile. One worker per document: ending it frees everything pdfjs built.
 *
 * Plain JavaScript (checked by tsc via @ts-check) because a worker is started from a file path;
 * it registers tsx itself (as bin/fieldscope.js does) so it runs under tsx, vitest and plain node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const port = parentPort;
if (!port) throw new Error('pdf-worker must run as a worker thread');
register();

/** @type {typeof import('./pdf.js')} */
const { extractPdf } = await import('./pdf.js');

/** @type {{ bytes: Uint8Array, options: import('./pdf.js').PdfOptions }} */
const input = workerData;
try {
  const doc = await extractPdf(input.bytes, {
    ...input.options,
    onPage: (number) => port.postMessage({ kind: 'page', number }),
  });
  /** @type {ArrayBuffer[]} */
  const transfer = [];
  for (const page of doc.pages) {
    for (const bytes of [page.image, page.thumbnail]) if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) transfer.push(bytes.buffer);
  }
  port.postMessage({ kind: 'done', doc }, [...new Set(transfer)]);
} catch (error) {
  const e = /** @type {{ name?: unknown, code?: unknown, message?: unknown, details?: unknown }} */ (typeof error === 'object' && error !== null ? error : {});
  port.postMessage({
    kind: 'failed',
    error: { name: String(e.name ?? 'Error'), code: typeof e.code === 'string' ? e.code : null, message: String(e.message ?? error), details: e.details ?? null },
  });
}
