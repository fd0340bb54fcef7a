/**
 * Ingest throughput for text PDFs, end to end (detect → pdfjs text + page render → chunking →
 * CLIP text and page-image embeddings → SQLite, one transaction a document).
 *
 *   npx tsx bench/ingest-bench.ts [--model models/tiny-clip] [--docs 10] [--pages 10]
 *
 * With the bundled tiny model the figure is the pipeline's own cost; with a ViT-B/32-sized
 * model (.bench/clip-b32, see bench/README.md) it is what a deployment sees.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { DiskBlobStore } from '../src/blob/blob-store.js';
import { OnnxClipEncoder } from '../src/clip/clip-encoder.js';
import { resolveModelFolder } from '../src/clip/model-files.js';
import { loadConfig } from '../src/config.js';
import { IngestService } from '../src/ingest/ingest-service.js';
import { SqliteKnowledgeStore } from '../src/store/sqlite/sqlite-knowledge-store.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const MODEL = arg('model', 'models/tiny-clip');
const DOCS = Number(arg('docs', '10'));
const PAGES = Number(arg('pages', '10'));

const WORDS = 'isolate the pump drain casing remove coupling guard replace mechanical seal kit torque gland bolts cross pattern inspect impeller wear ring clearance bearing housing temperature vibration lubricate grease record reading pressure gauge valve seat stem packing flange gasket'.split(' ');

async function makePdf(doc: number): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < PAGES; p++) {
    const page = pdf.addPage([595, 842]);
    page.drawText(`Manual ${doc}, section ${p + 1}: procedure P-${doc}${p}`, { x: 50, y: 790, size: 16, font });
    for (let line = 0; line < 38; line++) {
      const words = Array.from({ length: 12 }, (_, w) => WORDS[(doc * 7 + p * 13 + line * 5 + w * 3) % WORDS.length]);
      page.drawText(`${line + 1}. ${words.join(' ')}.`, { x: 50, y: 760 - line * 18, size: 10, font });
    }
  }
  return pdf.save();
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ingest-bench-'));
const config = loadConfig({});
const encoder = await OnnxClipEncoder.load(await resolveModelFolder(MODEL), {
  ...config.encoder,
  imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
});
const store = new SqliteKnowledgeStore({ file: path.join(dir, 'fieldscope.db'), dim: encoder.model.dim, modelId: encoder.model.id });
await store.init();
try {
  const ingest = new IngestService(encoder, store, new DiskBlobStore(path.join(dir, 'blobs')));
  const pdfs = await Promise.all(Array.from({ length: DOCS }, (_, d) => makePdf(d)));
  console.log(`ingest bench: ${DOCS} text PDFs × ${PAGES} pages, model ${encoder.model.id} (dim ${encoder.model.dim}), node ${process.version}, ${os.cpus().length} CPUs`);
  await ingest.ingestDocument({ bytes: await makePdf(999), filename: 'warmup.pdf' }); // pdfjs and fonts load once
  const started = performance.now();
  let pages = 0;
  for (const [i, bytes] of pdfs.entries()) pages += (await ingest.ingestDocument({ bytes, filename: `m${i}.pdf` })).document.pageCount;
  const seconds = (performance.now() - started) / 1000;
  console.log(`ingested ${pages} pages in ${seconds.toFixed(1)} s: ${(pages / seconds).toFixed(1)} pages/s (text layer, render, ~${Math.round(38 * 12 * 1.3 / 60)} chunks a page, page image, SQLite)`);
} finally {
  await encoder.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
