/**
 * Runs PDF extraction in a worker thread of its own (see pdf-worker.js for why), with a heap
 * limit and a time limit per page. Past either the worker is ended and the upload refused with
 * DOCUMENT_TOO_COMPLEX; errors the extraction raises on purpose (encrypted, corrupt, too many
 * pages, too much text) keep their codes across the thread boundary.
 */
import { Worker } from 'node:worker_threads';
import { DocumentTooComplexError, DocumentTooLargeError, EncryptedDocumentError, InvalidDocumentError } from './errors.js';
import type { ExtractedDocument } from './extracted.js';
import type { PdfOptions } from './pdf.js';

export interface PdfIsolationLimits {
  /** Heap (V8 old generation) of the extraction worker, in MB. */
  workerMemoryMb: number;
  /** Most time one page may take to parse, read and render (opening the file counts as a page), in ms. */
  pageTimeoutMs: number;
}

const WORKER_URL = new URL('./pdf-worker.js', import.meta.url);

type WorkerMessage =
  | { kind: 'page'; number: number }
  | { kind: 'done'; doc: ExtractedDocument }
  | { kind: 'failed'; error: { name: string; code: string | null; message: string; details: Record<string, unknown> | null } };

export function extractPdfIsolated(bytes: Uint8Array, options: Omit<PdfOptions, 'onPage'>, limits: PdfIsolationLimits, signal?: AbortSignal): Promise<ExtractedDocument> {
  signal?.throwIfAborted();
  return new Promise<ExtractedDocument>((resolve, reject) => {
    const worker = new Worker(WORKER_URL, {
      // A copy: the caller keeps its bytes (they go to the blob store next).
      workerData: { bytes: new Uint8Array(bytes), options },
      resourceLimits: { maxOldGenerationSizeMb: limits.workerMemoryMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.floor(limits.workerMemoryMb / 8))) },
      stdout: false,
      stderr: false,
    });
    let page = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Ending the worker frees whatever pdfjs built; nothing is awaited on the caller's path.
      void worker.terminate();
      outcome();
    };
    const armPageTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish(() =>
          reject(
            new DocumentTooComplexError(
              page === 0
                ? `The PDF could not be opened within ${limits.pageTimeoutMs} ms; it is too complex to index.`
                : `Page ${page} of the PDF took longer than ${limits.pageTimeoutMs} ms to read; it is too complex to index (for example a stream that inflates to hundreds of megabytes).`,
              { details: { limit: 'pageTime', limitMs: limits.pageTimeoutMs, page } },
            ),
          ),
        );
      }, limits.pageTimeoutMs);
    };
    const onAbort = () => finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted')));
    signal?.addEventListener('abort', onAbort, { once: true });
    armPageTimer();

    worker.on('message', (msg: WorkerMessage) => {
      if (msg.kind === 'page') {
        page = msg.number;
        armPageTimer();
      } else if (msg.kind === 'done') {
        finish(() => resolve(msg.doc));
      } else {
        finish(() => reject(rebuild(msg.error)));
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        finish(() =>
          reject(
            new DocumentTooComplexError(`Reading ${page > 0 ? `page ${page} of ` : ''}the PDF needed more than ${limits.workerMemoryMb} MB of memory; it is too complex to index (for example a stream that inflates to hundreds of megabytes).`, {
              cause: error,
              details: { limit: 'memory', limitMb: limits.workerMemoryMb, page },
            }),
          ),
        );
      } else {
        finish(() => reject(error));
      }
    });
    worker.on('exit', (code) => finish(() => reject(new Error(`the PDF extraction worker exited (code ${code}) without a result`))));
  });
}

/** The extraction's deliberate errors, as the same classes on this side; anything else stays an internal error. */
function rebuild(error: { name: string; code: string | null; message: string; details: Record<string, unknown> | null }): Error {
  const options = error.details ? { details: error.details } : undefined;
  switch (error.code) {
    case 'ENCRYPTED_DOCUMENT':
      return new EncryptedDocumentError(error.message, options);
    case 'INVALID_DOCUMENT':
      return new InvalidDocumentError(error.message, options);
    case 'TOO_MANY_PAGES':
      return new DocumentTooLargeError('TOO_MANY_PAGES', error.message, options);
    case 'DOCUMENT_TOO_COMPLEX':
      return new DocumentTooComplexError(error.message, options);
    default:
      return new Error(`PDF extraction failed: ${error.name}: ${error.message}`);
  }
}
