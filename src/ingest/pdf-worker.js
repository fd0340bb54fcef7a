// @ts-check
/**
 * Worker thread that extracts one PDF (issue 17, item 5: decompression bombs).
 *
 * pdfjs parses on the calling thread in Node and only the compressed size of a PDF is known up
 * front: a 400 KB file whose content stream inflates to 200 MB kept the server busy for minutes
 * and took RSS to 7.9 GB. Here a document is parsed in a thread of its own, started with a heap
 * limit; the parent ends it when a page takes too long or the heap limit is hit, and /health and
 * queries go on meanwhile. A worker reads one document at a time and is kept for the next one
 * (starting one costs one to two seconds: tsx and pdfjs load, all before it says ready); one that
 * hit a limit is ended, which frees everything pdfjs built.
 *
 * Plain JavaScript (checked by tsc via @ts-check) because a worker is started from a file path;
 * it registers tsx itself (as bin/fieldscope.js does) so it runs under tsx, vitest and plain node.
 */
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const port = parentPort;
if (!port) throw new Error('pdf-worker must run as a worker thread');
register();

/** @type {typeof import('./pdf.js')} */
const { extractPdf, warmUpPdfJs } = await import('./pdf.js');
// Load pdfjs (and what it loads on first use) now: the parent's page clock starts at "ready", and
// loading it lazily put seconds of start-up into the first document's "page 0" on a busy machine.
await warmUpPdfJs();

// One document at a time; the parent sends the next only after this one's answer.
port.on('message', async (/** @type {{ id: number, bytes: Uint8Array, options: import('./pdf.js').PdfOptions }} */ input) => {
  const { id } = input;
  try {
    const doc = await extractPdf(input.bytes, {
      ...input.options,
      onPage: (number) => port.postMessage({ kind: 'page', id, number }),
    });
    /** @type {ArrayBuffer[]} */
    const transfer = [];
    for (const page of doc.pages) {
      for (const bytes of [page.image, page.thumbnail, page.ocrImage]) if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) transfer.push(bytes.buffer);
    }
    port.postMessage({ kind: 'done', id, doc }, [...new Set(transfer)]);
  } catch (error) {
    const e = /** @type {{ name?: unknown, code?: unknown, message?: unknown, details?: unknown }} */ (typeof error === 'object' && error !== null ? error : {});
    port.postMessage({
      kind: 'failed',
      id,
      error: { name: String(e.name ?? 'Error'), code: typeof e.code === 'string' ? e.code : null, message: String(e.message ?? error), details: e.details ?? null },
    });
  }
});
port.postMessage({ kind: 'ready' });
