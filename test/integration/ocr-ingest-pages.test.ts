/**
 * Scanned pages get a text layer (issue 12, item 4), over real HTTP with the real PP-OCRv4
 * models: a PDF page without a text layer (a JPEG scan, made by pdf-lib) and an image ingested as
 * a document are read at ingest (Page.textSource OCR), found by KEYWORD and IDENTIFIER search and
 * quoted by answers; a page with a text layer stays FILE. Limits: OCR_MAX_PAGES leaves later
 * scanned pages NONE; OCR_PAGE_TIMEOUT_MS fails the ingest with DOCUMENT_TOO_COMPLEX and stores
 * nothing. OCR=off: the scan is ingested as before, its page NONE.
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderScannedPage, scannedPdf } from '../helpers/ocr-images.js';
import { errorCode, gql, gqlUpload, startTestServer, waitUntilReady } from '../helpers/server.js';

const INGEST = 'mutation($file: Upload!) { ingestDocument(file: $file) { id kind pageCount pages { number text textSource } } }';
type Doc = { id: string; kind: string; pageCount: number; pages: { number: number; text: string | null; textSource: string }[] };
type Hits = { search: { hits: { matchedBy: string[]; document: { id: string } | null; page: { number: number; textSource: string } | null; snippet: string | null }[] } };
const SEARCH = 'query($text: String!) { search(text: $text) { hits { matchedBy snippet document { id } page { number textSource } } } }';

const SEAL_PAGE = [
  'SECTION 4  REPLACING THE MECHANICAL SEAL',
  'Isolate the pump and drain the casing before you start.',
  'Remove the four gland bolts and withdraw the seal kit 4471-B.',
  'Fit the new O-ring (part OR-2290) and torque the bolts to 25 Nm.',
];
const BEARING_PAGE = ['SECTION 5  BEARINGS', 'Grease the bearing housing BH-552 every 500 hours.'];

/** Two scanned pages, then a page with a real text layer. */
async function mixedPdf(): Promise<Uint8Array> {
  const pdf = await PDFDocument.load(await scannedPdf([SEAL_PAGE, BEARING_PAGE]));
  const page = pdf.addPage([595.28, 841.89]);
  page.drawText('Appendix: typed page about the impeller wombatword.', { x: 60, y: 760, size: 14, font: await pdf.embedFont(StandardFonts.Helvetica) });
  return pdf.save();
}

async function waitReady(url: string): Promise<void> {
  await waitUntilReady(url);
}

describe('scanned pages are read at ingest (OCR=on)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let doc: Doc;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', OCR_THREADS: '1' });
    await waitReady(server.url);
    const res = await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST, { file: { bytes: await mixedPdf(), name: 'p200-scan.pdf' } });
    expect(res.errors).toBeUndefined();
    doc = res.data!.ingestDocument;
  }, 180_000);
  afterAll(async () => {
    await server?.close();
  });

  it('gives a PDF page without a text layer its OCR text (textSource OCR), and keeps FILE for a page with one', () => {
    expect(doc.pages.map((p) => p.textSource)).toEqual(['OCR', 'OCR', 'FILE']);
    expect(doc.pages[0]!.text).toContain('withdraw the seal kit 4471-B');
    expect(doc.pages[0]!.text).toContain('OR-2290');
    expect(doc.pages[1]!.text).toContain('BH-552');
    expect(doc.pages[2]!.text).toContain('wombatword');
  });

  it('finds the scanned page by its words (KEYWORD) and its part numbers (IDENTIFIER)', async () => {
    const byWord = await gql<Hits>(server.url, SEARCH, { text: 'gland bolts' });
    expect(byWord.data!.search.hits[0]).toMatchObject({ document: { id: doc.id }, page: { number: 1, textSource: 'OCR' } });
    expect(byWord.data!.search.hits[0]!.matchedBy).toContain('KEYWORD');
    expect(byWord.data!.search.hits[0]!.snippet).toMatch(/gland bolts/i);
    const byId = await gql<Hits>(server.url, SEARCH, { text: 'BH-552' });
    expect(byId.data!.search.hits[0]).toMatchObject({ document: { id: doc.id }, page: { number: 2 } });
    expect(byId.data!.search.hits[0]!.matchedBy).toContain('IDENTIFIER');
  }, 60_000);

  it('quotes the scanned page in an answer like any other page', async () => {
    const res = await gql<{ ask: { text: string; citations: { page: { number: number; textSource: string } | null; document: { id: string } | null }[] } }>(
      server.url,
      'query($q: String!) { ask(question: $q) { text citations { document { id } page { number textSource } } } }',
      { q: 'What torque for the gland bolts when fitting O-ring OR-2290?' },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.ask.citations).toContainEqual({ document: { id: doc.id }, page: { number: 1, textSource: 'OCR' } });
    expect(res.data!.ask.text).toMatch(/25 Nm/);
  }, 60_000);

  it('reads an image ingested as a document', async () => {
    const res = await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST, { file: { bytes: await renderScannedPage(['WORK ORDER WO-7781', 'Replace filter element FE-310 on line 2.']), name: 'work-order.jpg' } });
    expect(res.errors).toBeUndefined();
    const page = res.data!.ingestDocument.pages[0]!;
    expect(res.data!.ingestDocument.kind).toBe('IMAGE');
    expect(page.textSource).toBe('OCR');
    expect(page.text).toContain('WO-7781');
    const hits = await gql<Hits>(server.url, SEARCH, { text: 'FE-310' });
    expect(hits.data!.search.hits[0]).toMatchObject({ document: { id: res.data!.ingestDocument.id } });
  }, 60_000);
});

describe('OCR limits at ingest', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  afterAll(async () => {
    await server?.close();
  });

  it('OCR_MAX_PAGES reads only the first scanned pages; OCR_PAGE_TIMEOUT_MS fails the ingest and stores nothing', async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', OCR_THREADS: '1', OCR_MAX_PAGES: '1' });
    await waitReady(server.url);
    const res = await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST, { file: { bytes: await scannedPdf([SEAL_PAGE, BEARING_PAGE]), name: 'two.pdf' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.ingestDocument.pages.map((p) => p.textSource)).toEqual(['OCR', 'NONE']);
    await server.close();

    server = await startTestServer({ LOAD_DEMO: 'false', OCR_THREADS: '1', OCR_PAGE_TIMEOUT_MS: '100' });
    await waitReady(server.url);
    const slow = await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST, { file: { bytes: await scannedPdf([SEAL_PAGE]), name: 'slow.pdf' } });
    expect(errorCode(slow)).toBe('DOCUMENT_TOO_COMPLEX');
    expect(slow.errors![0]!.message).toMatch(/OCR_PAGE_TIMEOUT_MS/);
    const listed = await gql<{ documents: { totalCount: number } }>(server.url, '{ documents { totalCount } }');
    expect(listed.data!.documents.totalCount).toBe(0);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  }, 180_000);
});

describe('scanned pages with OCR=off', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', OCR: 'off' });
    await waitReady(server.url);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('ingests the scan as before: its pages have no text (NONE), the typed page FILE', async () => {
    const res = await gqlUpload<{ ingestDocument: Doc }>(server.url, INGEST, { file: { bytes: await mixedPdf(), name: 'p200-scan.pdf' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.ingestDocument.pages.map((p) => [p.textSource, p.text ?? ''])).toEqual([
      ['NONE', ''],
      ['NONE', ''],
      ['FILE', 'Appendix: typed page about the impeller wombatword.'],
    ]);
  }, 60_000);
});
