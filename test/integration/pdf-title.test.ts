/**
 * A PDF without a title in its metadata is titled from its first page (issue 11: answers cited
 * "xv300", the file name, although page 1 starts with "XV-300 GATE VALVE MAINTENANCE SOP"):
 * the line in the largest type near the top (a wrapped heading joined), else the first line.
 * Real PDFs made with pdf-lib, read by the real extractor and ingested into a real store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { extractPdf } from '../../src/ingest/pdf.js';
import { createCore, type Core } from '../../src/core/create-core.js';
import { makePdf } from '../helpers/documents.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const OPTIONS = { maxPages: 10, renderLongSide: 448, thumbnailLongSide: 64 };

/** A page with a small header line above a large (optionally wrapped) heading and body text. */
async function headedPdf(heading: string[], options: { title?: string } = {}): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  if (options.title) pdf.setTitle(options.title);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const page = pdf.addPage([595, 842]);
  page.drawText('Northfield Fluid Systems  |  DOC-XV300 Rev 2', { x: 50, y: 810, size: 8, font });
  heading.forEach((line, i) => page.drawText(line, { x: 50, y: 760 - i * 26, size: 20, font: bold }));
  ['1. Close the upstream isolation valve.', '2. Vent the body through the bleed plug.', '3. Remove the bonnet bolts crosswise.'].forEach((line, i) =>
    page.drawText(line, { x: 50, y: 680 - i * 16, size: 11, font }),
  );
  pdf.addPage([595, 842]).drawText('Page two text.', { x: 50, y: 780, size: 11, font });
  return pdf.save();
}

describe('PDF titles from the first page', () => {
  it('takes the largest line near the top, not the header above it', async () => {
    expect((await extractPdf(await headedPdf(['XV-300 GATE VALVE MAINTENANCE SOP']), OPTIONS)).title).toBe('XV-300 GATE VALVE MAINTENANCE SOP');
  });

  it('joins a heading wrapped over two lines', async () => {
    expect((await extractPdf(await headedPdf(['XV-300 GATE VALVE', 'MAINTENANCE SOP']), OPTIONS)).title).toBe('XV-300 GATE VALVE MAINTENANCE SOP');
  });

  it('takes the first line when every line has the same size', async () => {
    const pdf = await makePdf([['XV-300 GATE VALVE MAINTENANCE SOP', 'Close the valve.', 'Vent the body.'], ['Second page']]);
    expect((await extractPdf(pdf, OPTIONS)).title).toBe('XV-300 GATE VALVE MAINTENANCE SOP');
  });

  it('keeps the metadata title when there is one, and has none for a page without text', async () => {
    expect((await extractPdf(await headedPdf(['XV-300 GATE VALVE']), { ...OPTIONS, ...{} })).title).toBe('XV-300 GATE VALVE');
    expect((await extractPdf(await headedPdf(['XV-300 GATE VALVE'], { title: 'Gate valve SOP (metadata)' }), OPTIONS)).title).toBe('Gate valve SOP (metadata)');
    const scan = await PDFDocument.create();
    const png = await sharp({ create: { width: 200, height: 280, channels: 3, background: '#f4f4f4' } }).png().toBuffer();
    scan.addPage([595, 842]).drawImage(await scan.embedPng(png), { x: 0, y: 0, width: 595, height: 842 });
    expect((await extractPdf(await scan.save(), OPTIONS)).title).toBeNull();
  });
});

describe('an ingested PDF without a metadata title', () => {
  let core: Core;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-pdf-title-'));
    core = await createCore(loadConfig({ CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: dataDir, LOAD_DEMO: 'false', CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', LOG_LEVEL: 'error' }), pino({ level: 'silent' }));
  }, 60_000);
  afterAll(async () => {
    await core?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is titled by its first page, not by the file name, and search hits carry that title', async () => {
    const { document } = await core.home.services.ingest.ingestDocument({ bytes: await headedPdf(['XV-300 GATE VALVE MAINTENANCE SOP']), filename: 'xv300.pdf' });
    expect(document.title).toBe('XV-300 GATE VALVE MAINTENANCE SOP');
    const { hits } = await core.home.services.search.search({ text: 'remove the bonnet bolts crosswise' });
    expect(hits[0]!.document?.title).toBe('XV-300 GATE VALVE MAINTENANCE SOP');
  });
});
