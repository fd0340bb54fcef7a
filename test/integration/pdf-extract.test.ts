/**
 * extractPdf on real PDFs: made with pdf-lib inside the test, plus the demo knowledge base and one
 * binary fixture.
 *
 * test/fixtures/encrypted.pdf (1.5 kB) was made once, because pdf-lib cannot encrypt: a one-page
 * pdf-lib PDF ("Confidential P-200 test page") encrypted with Debian's qpdf 11.3 as
 *   qpdf --encrypt fieldscope owner-secret 256 -- plain.pdf test/fixtures/encrypted.pdf
 * i.e. AES-256 with the user password "fieldscope" (opening it needs a password).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDemo, DEMO_DOCUMENTS } from '../../demo/make-demo.js';
import { AppError } from '../../src/errors.js';
import { detectFileType } from '../../src/ingest/detect.js';
import { extractPdf } from '../../src/ingest/pdf.js';
import { REPO_ROOT } from '../helpers/shared.js';

const OPTIONS = { maxPages: 100, renderLongSide: 448, thumbnailLongSide: 320 };
const LETTER: [number, number] = [612, 792];

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a rejection');
}

/** A text PDF: one entry per page, each a list of [text, x, y, size] runs. */
async function textPdf(pages: [string, number, number, number][][], title?: string, size: [number, number] = LETTER): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  if (title !== undefined) doc.setTitle(title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const runs of pages) {
    const page = doc.addPage(size);
    for (const [text, x, y, s] of runs) page.drawText(text, { x, y, size: s, font });
  }
  return doc.save();
}

describe('extractPdf on PDFs made with pdf-lib', () => {
  let manual: Uint8Array;
  beforeAll(async () => {
    manual = await textPdf(
      [1, 2, 3].map((n) => [
        [`Section ${n}: seal replacement`, 50, 740, 20],
        ['Remove the gland nuts', 50, 700, 12],
        [`and torque to ${n * 10} N·m.`, 190, 700, 12],
        [`Part 4471-B, page ${n}.`, 50, 684, 12],
      ]),
      '  P-200 Service Manual  ',
    );
  });

  it('returns the text of every page in order, and the title from the metadata', async () => {
    const doc = await extractPdf(manual, OPTIONS);
    expect(doc.title).toBe('P-200 Service Manual');
    expect(doc.pages.map((p) => p.number)).toEqual([1, 2, 3]);
    expect(doc.pages.map((p) => p.text)).toEqual(
      [1, 2, 3].map((n) => `Section ${n}: seal replacement\n\nRemove the gland nuts and torque to ${n * 10} N·m.\nPart 4471-B, page ${n}.`),
    );
  });

  it('renders each page to a PNG with the requested long side, and a WebP thumbnail', async () => {
    const doc = await extractPdf(manual, OPTIONS);
    for (const page of doc.pages) {
      const image = await sharp(page.image!).metadata();
      expect([image.format, image.width, image.height]).toEqual(['png', Math.round((448 * 612) / 792), 448]);
      expect(image.channels).toBe(3);
      const thumb = await sharp(page.thumbnail!).metadata();
      expect([thumb.format, thumb.height]).toEqual(['webp', 320]);
      // The text is drawn: the page is not blank.
      const stats = await sharp(page.image!).stats();
      expect(stats.channels[0]!.min).toBeLessThan(80);
    }
  });

  it('renders a landscape page with its width as the long side, and larger renders on request', async () => {
    const landscape = await textPdf([[['Wide page', 40, 300, 18]]], undefined, [841.89, 595.28]);
    const doc = await extractPdf(landscape, { maxPages: 5, renderLongSide: 448, thumbnailLongSide: 600 });
    const image = await sharp(doc.pages[0]!.image!).metadata();
    expect([image.width, image.height]).toEqual([448, 317]);
    const thumb = await sharp(doc.pages[0]!.thumbnail!).metadata();
    expect(thumb.width).toBe(600);
    expect(doc.title).toBe('Wide page'); // no metadata title: the first page's heading (issue 11)
  });

  it('yields rendered pages with empty text for a scanned PDF (an image, no text layer)', async () => {
    // A "scan": light paper with dark bars where lines of text would be.
    const scan = await sharp({ create: { width: 850, height: 1100, channels: 3, background: '#f2f0ea' } })
      .composite(Array.from({ length: 12 }, (_, i) => ({ input: { create: { width: 600, height: 18, channels: 3 as const, background: '#202020' } }, top: 120 + i * 60, left: 120 })))
      .png()
      .toBuffer();
    const pdf = await PDFDocument.create();
    const image = await pdf.embedPng(scan);
    for (let i = 0; i < 2; i++) pdf.addPage(LETTER).drawImage(image, { x: 0, y: 0, width: LETTER[0], height: LETTER[1] });
    const doc = await extractPdf(await pdf.save(), OPTIONS);
    expect(doc.pages).toHaveLength(2);
    for (const page of doc.pages) {
      expect(page.text).toBe('');
      const stats = await sharp(page.image!).stats();
      expect(stats.channels[0]!.min).toBeLessThan(60);
      expect(stats.channels[0]!.max).toBeGreaterThan(220);
      expect(page.thumbnail).not.toBeNull();
    }
  });

  it('does not detach or change the caller’s bytes', async () => {
    const copy = Uint8Array.from(manual);
    await extractPdf(manual, OPTIONS);
    expect(manual.byteLength).toBe(copy.byteLength);
    expect(Buffer.from(manual).equals(Buffer.from(copy))).toBe(true);
  });

  it('handles several documents at once', async () => {
    const docs = await Promise.all([manual, manual, manual].map((b) => extractPdf(b, OPTIONS)));
    for (const d of docs) expect(d.pages.map((p) => p.text.split('\n')[0])).toEqual(['Section 1: seal replacement', 'Section 2: seal replacement', 'Section 3: seal replacement']);
  });

  it('refuses a 3,000-page PDF by its page count, quickly, without rendering', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let i = 0; i < 3000; i++) doc.addPage([300, 300]).drawText(`Page ${i + 1}`, { x: 20, y: 150, size: 12, font });
    const bytes = await doc.save();
    const started = performance.now();
    const e = await rejection(extractPdf(bytes, OPTIONS));
    const ms = performance.now() - started;
    expect(e.code).toBe('TOO_MANY_PAGES');
    expect(e.category).toBe('PAYLOAD_TOO_LARGE');
    expect(e.details).toEqual({ pages: 3000, limitPages: 100 });
    // Rendering alone would take minutes (~20 ms a page); the refusal only reads the page tree.
    expect(ms).toBeLessThan(3000);
  });

  it('keeps the event loop turning between pages', async () => {
    const pages = Array.from({ length: 12 }, (_, i): [string, number, number, number][] => [[`Page ${i + 1} of a long manual`, 50, 700, 14]]);
    const bytes = await textPdf(pages);
    await extractPdf(bytes, OPTIONS); // warm up fonts
    let last = performance.now();
    let worstGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 2);
    try {
      await extractPdf(bytes, OPTIONS);
    } finally {
      clearInterval(timer);
    }
    // One page at a time: timers run between pages, not only after the whole document.
    expect(worstGap).toBeLessThan(400);
  });

  it('refuses bad options', async () => {
    await expect(extractPdf(manual, { ...OPTIONS, maxPages: 0 })).rejects.toThrow(RangeError);
    await expect(extractPdf(manual, { ...OPTIONS, renderLongSide: 100_000 })).rejects.toThrow(RangeError);
  });
});

describe('extractPdf on broken and protected files', () => {
  it('refuses a corrupt PDF with INVALID_DOCUMENT', async () => {
    const e = await rejection(extractPdf(new TextEncoder().encode('%PDF-1.7\nthis is not really a PDF\n%%EOF\n'), OPTIONS));
    expect(e.code).toBe('INVALID_DOCUMENT');
    expect(e.category).toBe('BAD_USER_INPUT');
    expect(e.message).toContain('not a readable PDF');
  });

  it('refuses a truncated PDF with INVALID_DOCUMENT', async () => {
    const whole = await textPdf([[['Page one', 50, 700, 12]], [['Page two', 50, 700, 12]]]);
    for (const fraction of [0.5, 0.9]) {
      const e = await rejection(extractPdf(whole.subarray(0, Math.floor(whole.length * fraction)), OPTIONS));
      expect(e.code).toBe('INVALID_DOCUMENT');
    }
  });

  it('says a .docx renamed .pdf is a ZIP archive, and extractPdf refuses it too', async () => {
    // The start of a real .docx: a ZIP local file header for [Content_Types].xml.
    const name = Buffer.from('[Content_Types].xml');
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(name.length, 26);
    const zip = Buffer.concat([header, name, Buffer.from('<Types/>'), Buffer.from('PK\x01\x02word/document.xml')]);
    const detect = (() => {
      try {
        return detectFileType(zip, 'P-200 manual.pdf');
      } catch (error) {
        return error;
      }
    })();
    expect(detect).toBeInstanceOf(AppError);
    expect((detect as AppError).message).toContain('a ZIP archive, not a PDF');
    expect((await rejection(extractPdf(zip, OPTIONS))).code).toBe('INVALID_DOCUMENT');
  });

  it('refuses an encrypted PDF with ENCRYPTED_DOCUMENT, asking to remove the password', async () => {
    const bytes = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'encrypted.pdf'));
    expect(detectFileType(bytes, 'encrypted.pdf')).toEqual({ kind: 'pdf' });
    const e = await rejection(extractPdf(bytes, OPTIONS));
    expect(e.code).toBe('ENCRYPTED_DOCUMENT');
    expect(e.message).toContain('Remove the password first');
  });
});

describe('the demo knowledge base', () => {
  const demoDir = path.join(REPO_ROOT, 'demo');
  const pdfs = DEMO_DOCUMENTS.filter((d) => d.output.endsWith('.pdf'));

  it('has committed files identical to what demo/make-demo.ts builds (it is deterministic)', async () => {
    const built = await buildDemo();
    for (const [rel, bytes] of built) {
      const committed = readFileSync(path.join(demoDir, rel));
      expect(Buffer.from(bytes).equals(committed), `${rel} is stale: run npx tsx demo/make-demo.ts`).toBe(true);
    }
    const sizes = [...built.values()].reduce((n, b) => n + b.length, 0);
    expect(sizes).toBeLessThan(2 * 1024 * 1024);
    expect(readdirSync(path.join(demoDir, 'photos')).filter((f) => /\.(png|jpe?g)$/.test(f)).length).toBeGreaterThanOrEqual(3);
  });

  it.each(pdfs.map((d) => [d.output, d.source] as const))('%s extracts with its title, pages and figure captions', async (output, source) => {
    const bytes = readFileSync(path.join(demoDir, 'docs', output));
    expect(detectFileType(bytes, output)).toEqual({ kind: 'pdf' });
    const markdown = readFileSync(path.join(demoDir, 'source', source), 'utf8');
    const h1 = /^# (.+)$/m.exec(markdown)![1]!;
    const captions = [...markdown.matchAll(/^!\[([^\]]+)\]\(figure:/gm)].map((m) => m[1]!);
    expect(captions.length).toBeGreaterThanOrEqual(1);

    const doc = await extractPdf(bytes, OPTIONS);
    expect(doc.title).toBe(h1);
    expect(doc.pages.length).toBeGreaterThanOrEqual(2);
    const flat = doc.pages.map((p) => p.text.replace(/\s+/g, ' '));
    for (const caption of captions) expect(flat.some((t) => t.includes(caption))).toBe(true);
    for (const page of doc.pages) expect(page.image).not.toBeNull();
  });

  it('puts the seal figure, its caption and its part numbers on the same page of the P-200 manual', async () => {
    const bytes = readFileSync(path.join(demoDir, 'docs', 'p200-centrifugal-pump-manual.pdf'));
    const doc = await extractPdf(bytes, OPTIONS);
    const page = doc.pages.find((p) => p.text.includes('Figure 2: P-200 mechanical seal, exploded view'));
    expect(page).toBeDefined();
    expect(page!.text).toContain('4471-B');
    expect(page!.text).toContain('Gland plate');
    expect(page!.text).toContain('18 N·m');
  });
});
