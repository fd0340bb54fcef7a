/**
 * Images with known writing on them, made by the project for OCR and code tests: nameplates and
 * labels rendered from SVG text with sharp (and degraded: tilted, blurred, JPEG), QR codes and
 * CODE_128 barcodes drawn by bwip-js, and a photo-like image with no writing at all.
 * Also run as a script to write test/fixtures/ocr/ (nameplate.png, scanned-page.pdf: the README examples use them):
 *   npx tsx test/helpers/ocr-images.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import bwipjs from 'bwip-js';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { editDistance } from '../../src/ocr/read-accuracy.js';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A plate: dark text lines on a light metal-grey plate with a border, as PNG. */
export async function renderPlate(lines: readonly string[], options: { width?: number; height?: number; fontSize?: number } = {}): Promise<Buffer> {
  const width = options.width ?? 640;
  const fontSize = options.fontSize ?? 44;
  const height = options.height ?? Math.max(200, 60 + lines.length * fontSize * 1.6);
  const text = lines
    .map((line, i) => `<text x="40" y="${70 + i * fontSize * 1.6}" font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="${fontSize}" fill="#1a1a1a">${escapeXml(line)}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#d9dcdf"/>
    <rect x="8" y="8" width="${width - 16}" height="${height - 16}" fill="none" stroke="#555" stroke-width="4" rx="12"/>
    ${text}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** The same plate photographed badly: tilted 4°, blurred, dimmed, saved as a low-quality JPEG. */
export async function degradePhoto(png: Buffer): Promise<Buffer> {
  return sharp(png).rotate(4, { background: '#8a8f94' }).blur(1.1).modulate({ brightness: 0.8 }).jpeg({ quality: 55 }).toBuffer();
}

/**
 * A plate photographed in a scene, as a technician's phone would: the plate composited onto a
 * 1280×960 photo-like background, then tilted, blurred, dimmed and saved as JPEG.
 */
export async function photographPlate(lines: readonly string[], options: { fontSize?: number } = {}): Promise<Buffer> {
  const plate = await renderPlate(lines, { width: 760, fontSize: options.fontSize ?? 52 });
  const scene = await renderNoTextPhoto(1280, 960);
  const composed = await sharp(scene).composite([{ input: plate, left: 240, top: 300 }]).png().toBuffer();
  return degradePhoto(composed);
}

/** The photographed plates committed under test/fixtures/ocr (search tests and README examples use them). */
export const PHOTOGRAPHED_FIXTURES = {
  /** A pump's nameplate: its model (in the XV-300 manual), a serial and a rating no manual holds. */
  'nameplate-photo.jpg': ['MODEL XV-300', 'SERIAL 55-1234-A', '230V 50Hz'],
  /** The demo pump's plate (the README's search-by-nameplate example finds the demo's P-200 manual). */
  'p200-nameplate-photo.jpg': ['CENTRIFUGAL PUMP', 'TYPE P-200', 'SERIAL 55-1234-A'],
  /** A spare part's bag label: its part number (listed on one page of a parts list). */
  'part-label-photo.jpg': ['PART NO PK-3310', 'GASKET KIT', 'QTY 2'],
} as const;

/** A QR code on white (with its quiet zone), as PNG. */
export async function renderQr(text: string, scale = 4): Promise<Buffer> {
  const png = await bwipjs.toBuffer({ bcid: 'qrcode', text, scale, paddingwidth: 12, paddingheight: 12, backgroundcolor: 'FFFFFF' });
  return sharp(png).png().toBuffer();
}

/** A CODE_128 barcode with its human-readable line, as PNG. */
export async function renderCode128(text: string): Promise<Buffer> {
  return bwipjs.toBuffer({ bcid: 'code128', text, scale: 3, height: 14, includetext: true, paddingwidth: 20, paddingheight: 12, backgroundcolor: 'FFFFFF' });
}

/**
 * A page of a manual as a scanner sees it: lines of body text on an A4-shaped white page at
 * ~150 dpi, slightly skewed, on greyish paper, saved as JPEG (what scanners embed in PDFs).
 */
export async function renderScannedPage(lines: readonly string[], options: { fontSize?: number } = {}): Promise<Buffer> {
  const width = 1240;
  const height = 1754;
  const fontSize = options.fontSize ?? 30;
  const text = lines
    .map((line, i) => `<text x="110" y="${180 + i * fontSize * 1.7}" font-family="DejaVu Serif, serif" font-size="${fontSize}" fill="#222">${escapeXml(line)}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f4f2ec"/>${text}</svg>`;
  return sharp(Buffer.from(svg)).rotate(0.8, { background: '#f4f2ec' }).blur(0.6).jpeg({ quality: 70 }).toBuffer();
}

/** A PDF of scanned pages: each page one JPEG image, no text layer (as a scanner writes it). */
export async function scannedPdf(pages: readonly (readonly string[])[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  for (const lines of pages) {
    const jpg = await pdf.embedJpg(await renderScannedPage(lines));
    // A4 in points.
    const page = pdf.addPage([595.28, 841.89]);
    page.drawImage(jpg, { x: 0, y: 0, width: 595.28, height: 841.89 });
  }
  return pdf.save();
}

/** A smooth photo-like image with no writing: gradients and soft blobs. */
export async function renderNoTextPhoto(width = 640, height = 480): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#4a6d8c"/><stop offset="1" stop-color="#c9b38a"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${width * 0.3}" cy="${height * 0.55}" r="${height * 0.25}" fill="#6b7f5a" opacity="0.8"/>
    <ellipse cx="${width * 0.7}" cy="${height * 0.4}" rx="${width * 0.15}" ry="${height * 0.1}" fill="#9a4f3c" opacity="0.7"/></svg>`;
  return sharp(Buffer.from(svg)).blur(3).jpeg({ quality: 85 }).toBuffer();
}

/** Levenshtein-based character accuracy of `read` against `expected` (1 = identical). */
export function characterAccuracy(expected: string, read: string): number {
  const a = [...expected].length;
  return a === 0 ? ([...read].length === 0 ? 1 : 0) : Math.max(0, 1 - editDistance(expected, read) / a);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ocr');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'nameplate.png'), await renderPlate(['MODEL XV-300', 'PART PK-3310', '230V 50Hz']));
  process.stdout.write(`wrote ${path.join(dir, 'nameplate.png')}\n`);
  // A one-page scan without a text layer (the README's ingestDocument OCR example).
  const scan = await scannedPdf([
    ['P-200 PUMP  SERVICE NOTE SN-0412', 'Replace the mechanical seal kit 4471-B every 4000 hours.', 'Torque the gland bolts to 25 Nm in a cross pattern.'],
  ]);
  await writeFile(path.join(dir, 'scanned-page.pdf'), scan);
  process.stdout.write(`wrote ${path.join(dir, 'scanned-page.pdf')}\n`);
  for (const [name, lines] of Object.entries(PHOTOGRAPHED_FIXTURES)) {
    await writeFile(path.join(dir, name), await photographPlate(lines));
    process.stdout.write(`wrote ${path.join(dir, name)}\n`);
  }
}
