/**
 * Runs PDF extraction in worker threads of its own (see pdf-worker.js for why), with a heap
 * limit and a time limit per page. Past either the worker is ended and the upload refused with
 * DOCUMENT_TOO_COMPLEX; errors the extraction raises on purpose (encrypted, corrupt, too many
 * pages, too much text) keep their codes across the thread boundary.
 *
 * Workers are kept between documents (starting one loads tsx and pdfjs: one to two seconds on a
 * busy machine) and ended after IDLE_MS without work; an idle worker never keeps the process
 * alive. The page clock starts once the worker is ready: its start-up is not the document's cost
 * (the worker loads pdfjs, by reading a one-page PDF, before it says it is ready).
 */
import { Worker } from 'node:worker_threads';
import { DocumentTooComplexError, DocumentTooLargeError, EncryptedDocumentError, InvalidDocumentError } from './errors.js';
import type { ExtractedDocument } from './extracted.js';
import type { PdfOptions } from './pdf.js';
import { awaitReady } from '../workers/await-ready.js';

export interface PdfIsolationLimits {
  /** Heap (V8 old generation) of the extraction worker, in MB. */
  workerMemoryMb: number;
  /** Most time one page may take to parse, read and render (opening the file counts as a page), in ms. */
  pageTimeoutMs: number;
}

const WORKER_URL = new URL('./pdf-worker.js', import.meta.url);
/** A worker without work for this long is ended. */
const IDLE_MS = 60_000;
/** A worker that cannot even load in this long is broken (not the document's fault). */
const STARTUP_MS = 120_000;

type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'page'; id: number; number: number }
  | { kind: 'done'; id: number; doc: ExtractedDocument }
  | { kind: 'failed'; id: number; error: { name: string; code: string | null; message: string; details: Record<string, unknown> | null } };

interface PooledWorker {
  worker: Worker;
  memoryMb: number;
  ready: Promise<void>;
  idleTimer?: NodeJS.Timeout;
}

/** Idle workers by heap limit (a limit is fixed when a worker starts). */
const idle = new Map<number, PooledWorker[]>();
let nextId = 1;

function startWorker(memoryMb: number): PooledWorker {
  const worker = new Worker(WORKER_URL, {
    resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.floor(memoryMb / 8))) },
  });
  const ready = awaitReady<WorkerMessage>(worker, 'the PDF extraction worker', STARTUP_MS).then(() => undefined);
  ready.catch(() => undefined);
  return { worker, memoryMb, ready };
}

function takeWorker(memoryMb: number): PooledWorker {
  const pooled = idle.get(memoryMb)?.pop();
  if (!pooled) return startWorker(memoryMb);
  clearTimeout(pooled.idleTimer);
  pooled.worker.ref();
  return pooled;
}

function returnWorker(pooled: PooledWorker): void {
  pooled.worker.unref();
  const list = idle.get(pooled.memoryMb) ?? [];
  list.push(pooled);
  idle.set(pooled.memoryMb, list);
  pooled.idleTimer = setTimeout(() => {
    const at = list.indexOf(pooled);
    if (at >= 0) list.splice(at, 1);
    void pooled.worker.terminate();
  }, IDLE_MS).unref();
}

export async function extractPdfIsolated(bytes: Uint8Array, options: Omit<PdfOptions, 'onPage'>, limits: PdfIsolationLimits, signal?: AbortSignal): Promise<ExtractedDocument> {
  signal?.throwIfAborted();
  const pooled = takeWorker(limits.workerMemoryMb);
  try {
    await pooled.ready;
  } catch (error) {
    void pooled.worker.terminate();
    throw error;
  }
  const { worker } = pooled;
  const id = nextId++;
  return new Promise<ExtractedDocument>((resolve, reject) => {
    let page = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void, reusable: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      // A worker stopped mid-document is ended: that frees whatever pdfjs built, at once.
      if (reusable) returnWorker(pooled);
      else void worker.terminate();
      outcome();
    };
    const armPageTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish(
          () =>
            reject(
              new DocumentTooComplexError(
                page === 0
                  ? `The PDF could not be opened within ${limits.pageTimeoutMs} ms; it is too complex to index.`
                  : `Page ${page} of the PDF took longer than ${limits.pageTimeoutMs} ms to read; it is too complex to index (for example a stream that inflates to hundreds of megabytes).`,
                { details: { limit: 'pageTime', limitMs: limits.pageTimeoutMs, page } },
              ),
            ),
          false,
        );
      }, limits.pageTimeoutMs);
    };
    const onAbort = () => finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted')), false);
    const onMessage = (msg: WorkerMessage) => {
      if (msg.kind === 'ready' || msg.id !== id) return;
      if (msg.kind === 'page') {
        page = msg.number;
        armPageTimer();
      } else if (msg.kind === 'done') {
        finish(() => resolve(msg.doc), true);
      } else {
        finish(() => reject(rebuild(msg.error)), true);
      }
    };
    const onError = (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        finish(
          () =>
            reject(
              new DocumentTooComplexError(`Reading ${page > 0 ? `page ${page} of ` : ''}the PDF needed more than ${limits.workerMemoryMb} MB of memory; it is too complex to index (for example a stream that inflates to hundreds of megabytes).`, {
                cause: error,
                details: { limit: 'memory', limitMb: limits.workerMemoryMb, page },
              }),
            ),
          false,
        );
      } else {
        finish(() => reject(error), false);
      }
    };
    const onExit = (code: number) => finish(() => reject(new Error(`the PDF extraction worker exited (code ${code}) without a result`)), false);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    armPageTimer();
    // A copy: the caller keeps its bytes (they go to the blob store next).
    const copy = new Uint8Array(bytes);
    worker.postMessage({ id, bytes: copy, options }, [copy.buffer]);
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
