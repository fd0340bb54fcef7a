/**
 * PDF → text per page, a rendered PNG per page (what the image encoder sees), a WebP thumbnail
 * per page, and the title — with pdfjs-dist's legacy build (the one that runs in Node).
 *
 * Pages are processed one at a time with a turn of the event loop between them, so a long manual
 * does not stall the server (pdfjs parses on the main thread in Node: its "worker" is faked).
 * The page count is checked before anything is rendered, and the document is always destroyed.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { isAppError } from '../errors.js';
import { DocumentTooComplexError, DocumentTooLargeError, EncryptedDocumentError, InvalidDocumentError } from './errors.js';
import type { ExtractedDocument, ExtractedPage } from './extracted.js';

export interface PdfOptions {
  /** More pages than this is refused with TOO_MANY_PAGES before anything is rendered. */
  maxPages: number;
  /** Long side, in pixels, of the rendered page PNG (e.g. 448). */
  renderLongSide: number;
  /** Long side, in pixels, of the WebP thumbnail (e.g. 320). */
  thumbnailLongSide: number;
  /**
   * Most characters of text in the whole document; past it DOCUMENT_TOO_COMPLEX. Text is read as
   * a stream and counted as it comes, so a page whose content inflates to millions of characters
   * is stopped before it is all in memory. Default: no limit.
   */
  maxTextChars?: number;
  /**
   * Long side, in pixels, of the extra render made of a page without a text layer, for OCR
   * (`ExtractedPage.ocrImage`). Absent or 0: none is made (OCR=off).
   */
  ocrLongSide?: number;
  /** Most pages given an OCR render; later pages without text get none (they stay without text). Default: no limit. */
  maxOcrPages?: number;
  /** Told when a page starts (the isolating worker reports progress with it). */
  onPage?: (pageNumber: number) => void;
}

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

let pdfjsPromise: Promise<PdfJs> | null = null;
/** Loaded on first use: pdfjs is large and most processes (tests, CLI) never open a PDF. */
function loadPdfJs(): Promise<PdfJs> {
  pdfjsPromise ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjsPromise;
}

/**
 * Loads everything pdfjs loads once per process (the library, its parsing module behind the
 * "fake worker", the standard font data, the canvas binding) by reading a one-page PDF whole. The
 * extraction worker calls it before it says it is ready: the page clock (isolated-pdf.ts) then
 * times only the document, never the seconds these loads take on a busy machine.
 */
export async function warmUpPdfJs(): Promise<void> {
  await extractPdf(warmUpPdf(), { maxPages: 1, renderLongSide: 64, thumbnailLongSide: 32, ocrLongSide: 64 });
}

/** A minimal, well-formed one-page PDF with a line of Helvetica text (built here, so no file ships for it). */
function warmUpPdf(): Uint8Array {
  const content = 'BT /F1 12 Tf 10 30 Td (warm up) Tj ET';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ];
  let body = '%PDF-1.4\n';
  const offsets = objects.map((object, i) => {
    const at = body.length;
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
    return at;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(body);
}

/** pdfjs's data folders, as filesystem paths ending in '/' (a file:// URL does not work in Node). */
const assets = (() => {
  const root = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  const dir = (name: string) => path.join(root, name) + path.sep;
  return { standardFontDataUrl: dir('standard_fonts'), cMapUrl: dir('cmaps'), wasmUrl: dir('wasm'), iccUrl: dir('iccs') };
})();

/** The bit of pdfjs's Node canvas (a bundled @napi-rs/canvas) that we use. */
interface NodeCanvasContext {
  getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray };
}
interface CanvasAndContext {
  canvas: unknown;
  context: NodeCanvasContext;
}
interface CanvasFactory {
  create(width: number, height: number): CanvasAndContext;
  destroy(canvasAndContext: CanvasAndContext): void;
}

const MAX_SIDE = 4096;
const MAX_IMAGE_PIXELS = 64_000_000;

export async function extractPdf(bytes: Uint8Array, options: PdfOptions): Promise<ExtractedDocument> {
  checkOptions(options);
  const pdfjs = await loadPdfJs();
  const task = pdfjs.getDocument({
    // pdfjs may transfer (detach) the buffer it is given: give it a copy, and never a Node Buffer.
    data: new Uint8Array(bytes),
    ...assets,
    cMapPacked: true,
    isEvalSupported: false,
    useSystemFonts: false,
    stopAtErrors: false,
    // Embedded images above this many pixels are skipped rather than decoded (decompression bombs).
    maxImageSize: MAX_IMAGE_PIXELS,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  try {
    let doc: PDFDocumentProxy;
    try {
      doc = await task.promise;
    } catch (cause) {
      throw loadError(cause);
    }
    if (doc.numPages > options.maxPages) {
      throw new DocumentTooLargeError('TOO_MANY_PAGES', `The PDF has ${doc.numPages} pages; the limit is ${options.maxPages}. Split it into smaller documents.`, {
        details: { pages: doc.numPages, limitPages: options.maxPages },
      });
    }
    if (doc.numPages === 0) throw new InvalidDocumentError('The PDF has no pages.');
    let title = await readTitle(doc);
    const factory = canvasFactoryOf(doc);
    const pages: ExtractedPage[] = [];
    const text = { left: options.maxTextChars ?? Number.POSITIVE_INFINITY, limit: options.maxTextChars ?? 0 };
    const ocr = { left: options.ocrLongSide ? (options.maxOcrPages ?? Number.POSITIVE_INFINITY) : 0 };
    for (let number = 1; number <= doc.numPages; number++) {
      if (number > 1) await new Promise(setImmediate);
      options.onPage?.(number);
      const { page, heading } = await extractPage(doc, number, factory, options, text, ocr);
      // No title in the metadata: the first page's heading, not the file name.
      if (number === 1 && title === null) title = heading;
      pages.push(page);
    }
    return { title, pages };
  } finally {
    await task.destroy().catch(() => undefined);
  }
}

async function extractPage(
  doc: PDFDocumentProxy,
  number: number,
  factory: CanvasFactory,
  options: PdfOptions,
  budget: { left: number; limit: number },
  ocr: { left: number },
): Promise<{ page: ExtractedPage; heading: string | null }> {
  let page: PDFPageProxy | undefined;
  try {
    page = await doc.getPage(number);
    const items = await readTextItems(page, number, budget);
    const text = pageText({ items });
    // A page without a text layer (a scan) also gets a render large enough to read it.
    const ocrLongSide = text.trim() === '' && ocr.left > 0 ? (options.ocrLongSide ?? 0) : 0;
    if (ocrLongSide > 0) ocr.left -= 1;
    const { image, thumbnail, ocrImage } = await renderPage(page, factory, options, ocrLongSide);
    return { page: { number, text, image, thumbnail, ocrImage }, heading: number === 1 ? headingTitle({ items }) : null };
  } catch (cause) {
    if (isAppError(cause)) throw cause;
    throw new InvalidDocumentError(`Page ${number} of the PDF could not be read (the file is damaged).`, { cause, details: { page: number } });
  } finally {
    page?.cleanup();
  }
}

async function renderPage(
  page: PDFPageProxy,
  factory: CanvasFactory,
  options: PdfOptions,
  ocrLongSide: number,
): Promise<{ image: Uint8Array; thumbnail: Uint8Array; ocrImage: Uint8Array | null }> {
  const natural = page.getViewport({ scale: 1 });
  const longest = Math.max(natural.width, natural.height);
  if (!(longest > 0)) throw new InvalidDocumentError('A page of the PDF has no size.');
  // Render once at the largest of the sizes; the smaller ones are resizes of it.
  const side = Math.max(options.renderLongSide, options.thumbnailLongSide, ocrLongSide);
  const viewport = page.getViewport({ scale: side / longest });
  const width = Math.max(1, Math.round(viewport.width));
  const height = Math.max(1, Math.round(viewport.height));
  const target = factory.create(width, height);
  try {
    // White background (pdfjs's default), annotations' appearances included.
    // pdfjs types its canvas parameters as DOM types, which this Node project does not load.
    await page.render({ canvasContext: target.context as never, canvas: target.canvas as never, viewport }).promise;
    // Raw RGBA pixels go to sharp once; the PNG and the WebP are encoded in parallel on its threads
    // (cheaper than the canvas's own PNG encoder followed by a decode).
    const rgba = target.context.getImageData(0, 0, width, height).data;
    const pixels = sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), { raw: { width, height, channels: 4 } }).removeAlpha();
    const fit = (longSide: number) => ({ width: longSide, height: longSide, fit: 'inside' as const });
    const [image, thumbnail, ocrImage] = await Promise.all([
      (side === options.renderLongSide ? pixels.clone() : pixels.clone().resize(fit(options.renderLongSide))).png().toBuffer(),
      pixels.clone().resize(fit(options.thumbnailLongSide)).webp({ quality: 75 }).toBuffer(),
      ocrLongSide > 0 ? pixels.clone().resize(fit(ocrLongSide)).png({ compressionLevel: 3 }).toBuffer() : null,
    ]);
    return { image: asBytes(image), thumbnail: asBytes(thumbnail), ocrImage: ocrImage ? asBytes(ocrImage) : null };
  } finally {
    factory.destroy(target);
  }
}

/**
 * A page's text items, read as pdfjs streams them, refusing the document once it has more text
 * than the budget allows (pdfjs stops producing text once nobody reads it).
 */
async function readTextItems(page: PDFPageProxy, number: number, budget: { left: number; limit: number }): Promise<object[]> {
  const items: object[] = [];
  const reader = page.streamTextContent().getReader();
  try {
    for (;;) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: { items?: unknown[] } };
      if (done) return items;
      for (const item of value?.items ?? []) {
        if (typeof item !== 'object' || item === null) continue;
        if ('str' in item && typeof item.str === 'string') budget.left -= item.str.length;
        items.push(item);
      }
      if (budget.left < 0) {
        throw new DocumentTooComplexError(`The PDF has more than ${budget.limit} characters of text (page ${number} went past it). Split it into smaller documents.`, {
          details: { limit: 'text', limitChars: budget.limit, page: number },
        });
      }
    }
  } finally {
    // Not cancel(): pdfjs then still closes the stream and throws "Controller is already closed"
    // where nobody can catch it. Unread, the stream holds pdfjs back until the document is destroyed.
    reader.releaseLock();
  }
}

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Text

interface PositionedText {
  str: string;
  x: number;
  y: number;
  width: number;
  size: number;
  hasEOL: boolean;
}

/**
 * Joins a page's text items in content order. A new line starts where pdfjs marks an end of line
 * or where the baseline moves by more than half the font size; a blank line where it moves by
 * more than about 1.7 lines (a paragraph or heading gap, or a jump to a new column); a space
 * where two items on a line are apart by more than a fifth of the font size.
 */
function positionedItems(content: { items: readonly object[] }): PositionedText[] {
  const items: PositionedText[] = [];
  for (const item of content.items) {
    if (!('str' in item) || typeof item.str !== 'string' || !('transform' in item) || !Array.isArray(item.transform)) continue;
    const t = item.transform as number[];
    const height = 'height' in item && typeof item.height === 'number' ? item.height : 0;
    items.push({
      str: item.str,
      x: t[4] ?? 0,
      y: t[5] ?? 0,
      width: 'width' in item && typeof item.width === 'number' ? item.width : 0,
      size: height > 0 ? height : Math.hypot(t[2] ?? 0, t[3] ?? 0) || 1,
      hasEOL: 'hasEOL' in item && item.hasEOL === true,
    });
  }
  return items;
}

/** Lines of the first page considered for a title: headings sit at the top. */
const TITLE_SCAN_LINES = 12;
const MAX_TITLE_CHARS = 200;

/**
 * A title for a PDF whose metadata has none, from its first page: the line set in the largest
 * type among the first lines (with the next line when it continues in the same size, as a
 * wrapped heading does), or the first line when every line has the same size. Null when the page
 * has no usable text (a scan). Pure.
 */
export function headingTitle(content: { items: readonly object[] }): string | null {
  const lines: { text: string; size: number }[] = [];
  let current: { text: string; size: number; y: number } | null = null;
  for (const item of positionedItems(content)) {
    if (item.str.trim() === '') continue;
    if (current && Math.abs(current.y - item.y) <= Math.max(current.size, item.size) * 0.5) {
      current.text += (current.text.endsWith(' ') || item.str.startsWith(' ') ? '' : ' ') + item.str;
      current.size = Math.max(current.size, item.size);
      continue;
    }
    if (current) lines.push(current);
    if (lines.length >= TITLE_SCAN_LINES) break;
    current = { text: item.str, size: item.size, y: item.y };
  }
  if (current && lines.length < TITLE_SCAN_LINES) lines.push(current);
  const usable = lines.map((l) => ({ text: l.text.replace(/\s+/g, ' ').trim(), size: l.size })).filter((l) => (l.text.match(/\p{L}/gu) ?? []).length >= 3);
  if (usable.length === 0) return null;
  const largest = Math.max(...usable.map((l) => l.size));
  const at = usable.findIndex((l) => l.size >= largest - 0.5);
  let title = usable[at]!.text;
  const next = usable[at + 1];
  if (next && Math.abs(next.size - usable[at]!.size) <= 0.5 && largest > Math.min(...usable.map((l) => l.size)) + 0.5) title += ` ${next.text}`;
  return cleanTitle(title.length > MAX_TITLE_CHARS ? `${title.slice(0, MAX_TITLE_CHARS - 1).trimEnd()}…` : title);
}

export function pageText(content: { items: readonly object[] }): string {
  const items = positionedItems(content);

  let out = '';
  let last: PositionedText | null = null;
  let lineBreak = false;
  for (const item of items) {
    if (item.str === '') {
      // pdfjs emits empty items to mark line ends.
      if (item.hasEOL) lineBreak = true;
      continue;
    }
    if (last) {
      const size = Math.max(item.size, last.size);
      const dy = last.y - item.y;
      if (lineBreak || last.hasEOL || Math.abs(dy) > size * 0.5) {
        out += dy > size * 1.7 || dy < -size * 0.5 ? '\n\n' : '\n';
      } else {
        const gap = item.x - (last.x + last.width);
        if (gap > size * 0.2 && !/\s$/.test(out) && !/^\s/.test(item.str)) out += ' ';
      }
    }
    out += item.str;
    last = item;
    lineBreak = false;
  }
  return out
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Metadata and errors

async function readTitle(doc: PDFDocumentProxy): Promise<string | null> {
  try {
    const { info, metadata } = await doc.getMetadata();
    const fromInfo = 'Title' in info && typeof info.Title === 'string' ? cleanTitle(info.Title) : null;
    if (fromInfo) return fromInfo;
    const fromXmp = metadata?.get('dc:title');
    return typeof fromXmp === 'string' ? cleanTitle(fromXmp) : null;
  } catch {
    return null; // A broken Info dictionary does not make the pages unreadable.
  }
}

function cleanTitle(raw: string): string | null {
  // Strip NULs and controls of badly encoded titles, and the "Microsoft Word - x.docx" of print drivers.
  const title = raw
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .replace(/[\x00-\x1f\x7f]/g, ' ')
    .replace(/^Microsoft (?:Word|PowerPoint|Excel) - /, '')
    .replace(/\s+/g, ' ')
    .trim();
  return title && !/^untitled$/i.test(title) ? title : null;
}

function loadError(cause: unknown): Error {
  const name = typeof cause === 'object' && cause !== null && 'name' in cause ? String(cause.name) : '';
  if (name === 'PasswordException') return new EncryptedDocumentError(undefined, { cause });
  return new InvalidDocumentError('The file is not a readable PDF (it is corrupt or truncated).', { cause });
}

function canvasFactoryOf(doc: PDFDocumentProxy): CanvasFactory {
  const factory: unknown = doc.canvasFactory;
  if (typeof factory === 'object' && factory !== null && 'create' in factory && typeof factory.create === 'function' && 'destroy' in factory) {
    return factory as CanvasFactory;
  }
  throw new Error('pdfjs-dist did not provide a canvas factory (is this the legacy build in Node?)');
}

function checkOptions(options: PdfOptions): void {
  const { maxPages, renderLongSide, thumbnailLongSide } = options;
  if (!Number.isInteger(maxPages) || maxPages < 1) throw new RangeError(`maxPages must be a positive integer, got ${maxPages}`);
  const sides: Record<string, number> = { renderLongSide, thumbnailLongSide };
  if (options.ocrLongSide) sides.ocrLongSide = options.ocrLongSide;
  for (const [name, value] of Object.entries(sides)) {
    if (!Number.isInteger(value) || value < 16 || value > MAX_SIDE) throw new RangeError(`${name} must be an integer in [16, ${MAX_SIDE}], got ${value}`);
  }
}
