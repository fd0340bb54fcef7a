/**
 * Builds the binary files of the search eval set (demo/search-eval/): an image-only "scanned"
 * work order PDF (no text layer: the page is a picture of a page), three reference photos
 * rendered from SVG scenes with their captions in photos/captions.json, and two query images
 * in queries/ (the work order scan, and a phone-style photo of page 2 of the pump manual). The Markdown and HTML
 * documents and queries.jsonl are written by hand.
 *
 * Deterministic (no randomness, no system fonts: the scan's text is drawn by pdf-lib with a
 * standard font and rasterised by pdfjs), so a re-run gives the same bytes; the files are committed.
 *
 * Run: npx tsx demo/search-eval/make-set.ts
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument, StandardFonts, rgb } from 'pdf-lib';
import sharp from 'sharp';
import { extractPdf } from '../../src/ingest/pdf.js';

const DIR = path.dirname(fileURLToPath(import.meta.url));
const FIXED_DATE = new Date('2024-03-18T09:00:00Z');

const WORK_ORDER = [
  'WORK ORDER WO-5531',
  'Site: Riverside pumping station, bay 4',
  'Asset: cooling tower fan gearbox GB-7',
  'Fault: oil mist around the output shaft seal',
  'Action: replaced output shaft seal, topped up ISO VG 220 gear oil',
  'Technician: R. Okafor   Signed off: shift lead',
];

async function scannedWorkOrder(): Promise<{ pdf: Uint8Array; scan: Buffer }> {
  // 1. A text PDF, 2. rendered to pixels, 3. greyed and blurred a little like a scan,
  // 4. embedded as the only content of a new PDF: a page without a text layer.
  const text = await PDFDocument.create();
  const font = await text.embedFont(StandardFonts.Courier);
  const bold = await text.embedFont(StandardFonts.CourierBold);
  const page = text.addPage([595, 842]);
  page.drawRectangle({ x: 40, y: 560, width: 515, height: 240, borderColor: rgb(0.2, 0.2, 0.2), borderWidth: 2 });
  WORK_ORDER.forEach((line, i) => page.drawText(line, { x: 56, y: 770 - i * 34, size: i === 0 ? 22 : 13, font: i === 0 ? bold : font }));
  for (let i = 0; i < 8; i++) page.drawLine({ start: { x: 56, y: 500 - i * 40 }, end: { x: 540, y: 500 - i * 40 }, thickness: 1, color: rgb(0.6, 0.6, 0.6) });
  const rendered = await extractPdf(await text.save(), { maxPages: 1, renderLongSide: 1200, thumbnailLongSide: 64 });
  const scan = await sharp(rendered.pages[0]!.image!).greyscale().blur(0.6).linear(0.9, 12).png().toBuffer();
  const pdf = await PDFDocument.create({ updateMetadata: false });
  pdf.setCreationDate(FIXED_DATE);
  pdf.setModificationDate(FIXED_DATE);
  pdf.setProducer('fieldscope demo/search-eval/make-set.ts');
  const image = await pdf.embedPng(scan);
  const out = pdf.addPage([595, 842]);
  out.drawImage(image, { x: 0, y: 0, width: 595, height: 842 });
  return { pdf: await pdf.save({ useObjectStreams: false }), scan };
}

/** A phone photo of page 2 of the pump manual: the page render, turned 2°, cropped, as JPEG. */
async function photoOfManualPage(): Promise<Buffer> {
  const manual = await readFile(path.join(DIR, '..', 'docs', 'p200-centrifugal-pump-manual.pdf'));
  const rendered = await extractPdf(manual, { maxPages: 10, renderLongSide: 900, thumbnailLongSide: 64 });
  const turned = await sharp(rendered.pages[1]!.image!).rotate(2, { background: '#777' }).toBuffer({ resolveWithObject: true });
  const { width, height } = turned.info;
  return sharp(turned.data)
    .extract({ left: Math.round(width * 0.04), top: Math.round(height * 0.03), width: Math.round(width * 0.9), height: Math.round(height * 0.9) })
    .modulate({ brightness: 0.95 })
    .jpeg({ quality: 80 })
    .toBuffer();
}

interface Scene {
  file: string;
  caption: string;
  partNumber: string;
  svg: string;
}

const W = 640;
const H = 480;
const frame = (body: string, sky: string, ground: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="${sky}"/><rect y="${H * 0.62}" width="${W}" height="${H * 0.38}" fill="${ground}"/>${body}</svg>`;

const SCENES: Scene[] = [
  {
    file: 'motorcycle-ex300.jpg',
    caption: 'EX-300 trail motorcycle parked in the workshop yard, side view',
    partNumber: 'EX-300',
    svg: frame(
      '<circle cx="190" cy="340" r="70" fill="none" stroke="#222" stroke-width="22"/><circle cx="460" cy="340" r="70" fill="none" stroke="#222" stroke-width="22"/>' +
        '<polygon points="200,330 300,250 420,250 460,330" fill="#c8321e"/><rect x="280" y="215" width="110" height="30" rx="10" fill="#333"/><line x1="420" y1="250" x2="470" y2="190" stroke="#555" stroke-width="10"/>',
      '#9cc4e4',
      '#7a7a70',
    ),
  },
  {
    file: 'flange-f3.jpg',
    caption: 'F-3 DN80 weld-neck flange with twelve bolt holes, on a steel workbench',
    partNumber: 'F-3',
    svg: frame(
      '<circle cx="320" cy="240" r="170" fill="#9da3a8"/><circle cx="320" cy="240" r="70" fill="#3a3f44"/>' +
        Array.from({ length: 12 }, (_, i) => `<circle cx="${320 + 125 * Math.cos((i * Math.PI) / 6)}" cy="${240 + 125 * Math.sin((i * Math.PI) / 6)}" r="14" fill="#3a3f44"/>`).join(''),
      '#d9d4c7',
      '#8b6b4a',
    ),
  },
  {
    file: 'motor-m7.jpg',
    caption: 'M-7 7.5 kW electric motor, blue frame with cooling fins and terminal box',
    partNumber: 'M-7',
    svg: frame(
      '<rect x="150" y="170" width="320" height="180" rx="30" fill="#2d5fa8"/>' +
        Array.from({ length: 9 }, (_, i) => `<rect x="${170 + i * 34}" y="160" width="12" height="200" fill="#244d88"/>`).join('') +
        '<rect x="470" y="245" width="90" height="30" fill="#aaa"/><rect x="250" y="120" width="90" height="50" fill="#1e3d6b"/><rect x="160" y="350" width="300" height="25" fill="#333"/>',
      '#e6e1d3',
      '#6d6d6d',
    ),
  },
];

async function main(): Promise<void> {
  await mkdir(path.join(DIR, 'docs'), { recursive: true });
  await mkdir(path.join(DIR, 'photos'), { recursive: true });
  await mkdir(path.join(DIR, 'queries'), { recursive: true });
  const workOrder = await scannedWorkOrder();
  await writeFile(path.join(DIR, 'docs', 'wo-5531-scanned-work-order.pdf'), workOrder.pdf);
  // Query images: the scan itself (what a technician photographs again) and a photo of a manual page.
  await writeFile(path.join(DIR, 'queries', 'wo-5531-scan.png'), workOrder.scan);
  await writeFile(path.join(DIR, 'queries', 'p200-page2-photo.jpg'), await photoOfManualPage());
  const captions: Record<string, { caption: string; partNumber: string; metadata: { partNumber: string } }> = {};
  for (const scene of SCENES) {
    await writeFile(path.join(DIR, 'photos', scene.file), await sharp(Buffer.from(scene.svg)).jpeg({ quality: 88 }).toBuffer());
    captions[scene.file] = { caption: scene.caption, partNumber: scene.partNumber, metadata: { partNumber: scene.partNumber } };
  }
  await writeFile(path.join(DIR, 'photos', 'captions.json'), JSON.stringify(captions, null, 2) + '\n');
}

await main();
