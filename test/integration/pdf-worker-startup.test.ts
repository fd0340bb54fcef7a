/**
 * The PDF worker's start-up is not the first document's cost (src/ingest/isolated-pdf.ts): the
 * page clock starts when the worker says "ready", so everything a worker loads once (pdfjs, its
 * parsing module, the canvas) must be loaded before that. When pdfjs was loaded lazily by the first
 * document instead, opening it took seconds on a busy machine, inside the clock of "page 0": a
 * first PDF after an idle spell could be refused DOCUMENT_TOO_COMPLEX ("could not be opened"), and
 * pdf-bomb.test.ts saw page 0 instead of 1 under load.
 *
 * Measured on the real worker's own protocol: how long after "ready" the first document reaches
 * its first page, against the next document on the same worker (same machine, same moment, so load
 * slows both alike). Lazily loading pdfjs made the first about a hundred times the second.
 */
import { Worker } from 'node:worker_threads';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, describe, expect, it } from 'vitest';

const WORKER_URL = new URL('../../src/ingest/pdf-worker.js', import.meta.url);
const OPTIONS = { maxPages: 10, renderLongSide: 448, thumbnailLongSide: 320 };

type Message = { kind: 'ready' } | { kind: 'page'; id: number; number: number } | { kind: 'done'; id: number } | { kind: 'failed'; id: number; error: { message: string } };

describe('the PDF extraction worker', () => {
  let worker: Worker | undefined;
  afterAll(async () => {
    await worker?.terminate();
  });

  it('has loaded pdfjs before it says ready: its first document opens about as fast as the next', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    doc.addPage([612, 792]).drawText('Seal kit 4471-B', { x: 50, y: 700, size: 14, font });
    const pdf = await doc.save();

    worker = new Worker(WORKER_URL);
    const messages: Message[] = [];
    const next = (kind: Message['kind']) =>
      new Promise<Message>((resolve, reject) => {
        const onMessage = (msg: Message) => {
          messages.push(msg);
          if (msg.kind === 'failed') reject(new Error(msg.error.message));
          else if (msg.kind === kind) {
            worker!.off('message', onMessage);
            resolve(msg);
          }
        };
        worker!.on('message', onMessage);
      });
    /** Milliseconds from sending a document to its first page (the parent's "page 0": opening it), and its whole read. */
    const read = async (id: number) => {
      const started = performance.now();
      const firstPage = next('page');
      worker!.postMessage({ id, bytes: new Uint8Array(pdf), options: OPTIONS });
      await firstPage;
      const openMs = performance.now() - started;
      await next('done');
      return openMs;
    };

    await next('ready');
    const first = await read(1);
    const second = await read(2);
    const third = await read(3);
    const warm = Math.min(second, third);
    // Headroom for the first run of code paths (the JIT) and scheduling noise; loading pdfjs took far more.
    expect(first, `first open ${first.toFixed(0)} ms, warm ${warm.toFixed(0)} ms`).toBeLessThan(warm * 5 + 300);
  }, 120_000);
});
