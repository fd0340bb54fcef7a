/**
 * Issue 17 item 5: PDF decompression bombs, with real pdfjs in the real extraction worker and the
 * real server. The bombs are made here: a page whose content stream is N MB of a harmless operator,
 * deflated (a 20 MB stream is a 42 kB file). Before the worker, 20 MB took 18 s on the server's own
 * thread and 0.9 GB of RSS; 200 MB (a 400 kB file) was 7.9 GB and minutes.
 */
import { deflateSync } from 'node:zlib';
import { PDFDocument, PDFName, PDFRawStream, StandardFonts, type PDFDict } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { extractPdfIsolated } from '../../src/ingest/isolated-pdf.js';
import { extractPdf } from '../../src/ingest/pdf.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

const OPTIONS = { maxPages: 100, renderLongSide: 448, thumbnailLongSide: 320 };

/** One page whose content stream inflates to `megabytes` MB of `1 0 0 1 0 0 cm` operators. */
async function bomb(megabytes: number): Promise<Uint8Array> {
  const unit = Buffer.from('1 0 0 1 0 0 cm\n');
  const raw = Buffer.alloc(megabytes * 1024 * 1024, 0x20);
  for (let i = 0; i + unit.length <= raw.length; i += unit.length) unit.copy(raw, i);
  const doc = await PDFDocument.create();
  const page = doc.addPage([200, 200]);
  const compressed = deflateSync(raw, { level: 9 });
  const stream = PDFRawStream.of(doc.context.obj({ Length: compressed.length, Filter: 'FlateDecode' }) as PDFDict, compressed);
  page.node.set(PDFName.of('Contents'), doc.context.register(stream));
  return doc.save({ useObjectStreams: false });
}

/** The server's PDF_WORKER_MEMORY_MB here (its default). */
const SERVER_WORKER_MB = 256;

/** A one-page PDF with a line of text. */
async function ordinaryPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage([612, 792]).drawText('Seal kit 4471-B', { x: 50, y: 700, size: 14, font });
  return doc.save();
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a refusal');
}

describe('PDF decompression bombs', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let bomb20: Uint8Array;
  beforeAll(async () => {
    bomb20 = await bomb(20);
    expect(bomb20.length).toBeLessThan(100_000);
    server = await startTestServer({ LOAD_DEMO: 'false', PDF_PAGE_TIMEOUT_MS: '4000', PDF_WORKER_MEMORY_MB: String(SERVER_WORKER_MB) });
    // Start the server's extraction worker now (the pool is this process's, keyed by heap limit): the
    // times below are the document's, not the seconds a fresh worker takes to load on a busy machine.
    await extractPdfIsolated(await ordinaryPdf(), OPTIONS, { workerMemoryMb: SERVER_WORKER_MB, pageTimeoutMs: 60_000 });
  }, 120_000);
  afterAll(async () => server?.close());

  it('refuses a 42 kB PDF that inflates to 20 MB with DOCUMENT_TOO_COMPLEX, while /health keeps answering, and writes nothing', async () => {
    const started = Date.now();
    const ingest = gqlUpload(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: bomb20, name: 'bomb.pdf' } });
    // The server's own thread stays free while the worker chews on the page.
    const healthMs: number[] = [];
    let done = false;
    void ingest.finally(() => (done = true));
    while (!done) {
      const t = Date.now();
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      healthMs.push(Date.now() - t);
      await new Promise((r) => setTimeout(r, 200));
    }
    const res = await ingest;
    expect(errorCode(res)).toBe('DOCUMENT_TOO_COMPLEX');
    expect(res.errors![0]!.extensions).toMatchObject({ category: 'PAYLOAD_TOO_LARGE', limit: 'pageTime', page: 1 });
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(healthMs.length).toBeGreaterThan(5);
    expect(Math.max(...healthMs)).toBeLessThan(1000);
    const count = await gql<{ documents: { totalCount: number } }>(server.url, '{ documents(first: 1) { totalCount } }');
    expect(count.data!.documents.totalCount).toBe(0);
  });

  it('ends a worker that needs more memory than its limit (heap of 128 MB) with DOCUMENT_TOO_COMPLEX', async () => {
    const error = await refusal(extractPdfIsolated(bomb20, OPTIONS, { workerMemoryMb: 128, pageTimeoutMs: 60_000 }));
    expect(error.code).toBe('DOCUMENT_TOO_COMPLEX');
    expect(error.details).toMatchObject({ limit: 'memory', limitMb: 128 });
  });

  it('stops reading text past the document text limit', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let p = 0; p < 3; p++) doc.addPage([612, 792]).drawText(`Page ${p + 1} `.repeat(40).slice(0, 300), { x: 20, y: 700, size: 6, font });
    const bytes = await doc.save();
    expect((await extractPdf(bytes, { ...OPTIONS, maxTextChars: 1000 })).pages).toHaveLength(3);
    // About 250 characters a page: the limit is passed on a later page, never on the first.
    const error = await refusal(extractPdf(bytes, { ...OPTIONS, maxTextChars: 400 }));
    expect(error.code).toBe('DOCUMENT_TOO_COMPLEX');
    expect(error.details).toMatchObject({ limit: 'text', limitChars: 400 });
    expect(error.details!.page).toBeGreaterThan(1);
  });

  it('still extracts an ordinary PDF in the worker, with its errors keeping their codes', async () => {
    const extracted = await extractPdfIsolated(await ordinaryPdf(), OPTIONS, { workerMemoryMb: 256, pageTimeoutMs: 15_000 });
    expect(extracted.pages[0]!.text).toBe('Seal kit 4471-B');
    expect(extracted.pages[0]!.image).toBeInstanceOf(Uint8Array);
    const broken = await refusal(extractPdfIsolated(new TextEncoder().encode('%PDF-1.7\nnot really'), OPTIONS, { workerMemoryMb: 256, pageTimeoutMs: 15_000 }));
    expect(broken.code).toBe('INVALID_DOCUMENT');
  });
});
