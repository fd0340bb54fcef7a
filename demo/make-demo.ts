/**
 * Builds the demo knowledge base from the Markdown sources in demo/source/:
 *
 *   demo/docs/    four PDFs laid out with pdf-lib (multi-page, headings, wrapped text, tables,
 *                 warning boxes, and figures drawn as vector diagrams or rendered from SVG with
 *                 sharp), plus the other documents as Markdown, HTML and plain text;
 *   demo/photos/  "reference photos" of a valve, a gauge and a pump, rendered from SVG scenes,
 *                 and captions.json: { "<file>": { caption, partNumber, metadata: { partNumber } } }.
 *
 * Deterministic: fixed dates and metadata, no randomness, no text rendered through system fonts,
 * so a re-run produces the same bytes (the files are committed).
 *
 * Run: npx tsx demo/make-demo.ts
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage, type RGB } from 'pdf-lib';
import sharp from 'sharp';

const DEMO_DIR = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = path.join(DEMO_DIR, 'source');
const FIXED_DATE = new Date('2024-03-18T09:00:00Z');
const PUBLISHER = 'Northfield Fluid Systems (fictional, demo data)';

/** Which source becomes which file. PDFs carry a document code in their header and footer. */
export const DEMO_DOCUMENTS = [
  { source: 'p200-centrifugal-pump-manual.md', output: 'p200-centrifugal-pump-manual.pdf', code: 'FS-MAN-P200 Rev C' },
  { source: 'sop-12-ball-valve-2in.md', output: 'sop-12-ball-valve-2in.pdf', code: 'SOP-12 Rev 4' },
  { source: 'pg-63-pressure-gauge-datasheet.md', output: 'pg-63-pressure-gauge-datasheet.pdf', code: 'DS-PG63 Ed. 2' },
  { source: 'hf-hydraulic-hose-catalogue.md', output: 'hf-hydraulic-hose-catalogue.pdf', code: 'CAT-HF p. 14' },
  { source: 'sop-07-lockout-tagout.md', output: 'sop-07-lockout-tagout.md', code: 'SOP-07 Rev 6' },
  { source: 'tc-21-thermostat-wiring-guide.md', output: 'tc-21-thermostat-wiring-guide.html', code: 'IG-TC21 Rev B' },
  { source: 'ac-50-compressor-daily-checklist.md', output: 'ac-50-compressor-daily-checklist.txt', code: 'CL-AC50 Rev 3' },
] as const;

// ---------------------------------------------------------------------------------------------
// A small Markdown block parser (the subset the sources use)

export type Block =
  | { type: 'heading'; level: number; text: string }
  | { type: 'paragraph'; text: string }
  | { type: 'list'; ordered: boolean; start: number; items: string[] }
  | { type: 'table'; rows: string[][] }
  | { type: 'note'; label: string; text: string }
  | { type: 'figure'; id: string; caption: string };

export function parseBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      blocks.push({ type: 'heading', level: heading[1]!.length, text: inline(heading[2]!) });
      i++;
      continue;
    }
    const figure = /^!\[([^\]]+)\]\(figure:([\w-]+)\)\s*$/.exec(line);
    if (figure) {
      blocks.push({ type: 'figure', caption: figure[1]!, id: figure[2]! });
      i++;
      continue;
    }
    if (line.startsWith('>')) {
      let text = '';
      while (i < lines.length && lines[i]!.startsWith('>')) text += ' ' + lines[i++]!.replace(/^>\s?/, '');
      const note = /^\s*\*\*([A-Z]+):\*\*\s*(.*)$/.exec(text);
      blocks.push(note ? { type: 'note', label: note[1]!, text: inline(note[2]!) } : { type: 'paragraph', text: inline(text.trim()) });
      continue;
    }
    if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) {
        const row = lines[i++]!;
        if (/^\|[\s:|-]+\|$/.test(row)) continue;
        rows.push(row.replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => inline(c.trim())));
      }
      blocks.push({ type: 'table', rows });
      continue;
    }
    const item = /^(-|\d+\.)\s+/.exec(line);
    if (item) {
      const ordered = item[1] !== '-';
      const start = ordered ? Number.parseInt(item[1]!, 10) : 1;
      const items: string[] = [];
      while (i < lines.length) {
        const m = /^(-|\d+\.)\s+(.*)$/.exec(lines[i]!);
        if (m && (m[1] !== '-') === ordered) {
          items.push(inline(m[2]!));
          i++;
        } else if (items.length > 0 && /^\s{2,}\S/.test(lines[i]!)) {
          items[items.length - 1] += ' ' + inline(lines[i++]!.trim());
        } else break;
      }
      blocks.push({ type: 'list', ordered, start, items });
      continue;
    }
    let text = line;
    i++;
    while (i < lines.length && lines[i]!.trim() !== '' && !/^(#|>|\||-\s|\d+\.\s|!\[)/.test(lines[i]!)) text += ' ' + lines[i++]!;
    blocks.push({ type: 'paragraph', text: inline(text.trim()) });
  }
  return blocks;
}

/** Inline Markdown → plain text (the PDF renderer sets emphasis by block, not by word). */
function inline(s: string): string {
  return s.replace(/\*\*([^*]+)\*\*/g, '$1').replace(/`([^`]+)`/g, '$1').replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// PDF layout

const PAGE = { width: 595.28, height: 841.89 };
const MARGIN = { left: 56, right: 56, top: 70, bottom: 64 };
const CONTENT_WIDTH = PAGE.width - MARGIN.left - MARGIN.right;
const INK = rgb(0.1, 0.1, 0.12);
const GREY = rgb(0.45, 0.45, 0.5);
const RULE = rgb(0.75, 0.75, 0.78);
const ACCENT = rgb(0.05, 0.32, 0.55);
const NOTE_COLOURS: Record<string, { bar: RGB; fill: RGB }> = {
  WARNING: { bar: rgb(0.85, 0.35, 0.05), fill: rgb(1, 0.95, 0.88) },
  CAUTION: { bar: rgb(0.9, 0.7, 0.05), fill: rgb(1, 0.98, 0.86) },
  NOTE: { bar: ACCENT, fill: rgb(0.92, 0.95, 0.99) },
};

interface Fonts {
  regular: PDFFont;
  bold: PDFFont;
  italic: PDFFont;
}

/** Lays out pages top to bottom, starting a new page when a block does not fit. */
class Layout {
  readonly pages: PDFPage[] = [];
  page!: PDFPage;
  y = 0;

  constructor(
    private readonly doc: PDFDocument,
    readonly fonts: Fonts,
  ) {
    this.newPage();
  }

  newPage(): void {
    this.page = this.doc.addPage([PAGE.width, PAGE.height]);
    this.pages.push(this.page);
    this.y = PAGE.height - MARGIN.top;
  }

  /** Makes room for `height` points, moving to a new page if needed. */
  ensure(height: number): void {
    if (this.y - height < MARGIN.bottom) this.newPage();
  }

  text(s: string, x: number, size: number, font: PDFFont, color: RGB = INK): void {
    this.page.drawText(s, { x, y: this.y, size, font, color });
  }
}

/** Greedy word wrap by measured width. */
export function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && font.widthOfTextAtSize(candidate, size) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function renderParagraph(l: Layout, text: string, options: { x?: number; width?: number; size?: number; font?: PDFFont; after?: number } = {}): void {
  const size = options.size ?? 10;
  const leading = size * 1.38;
  const x = options.x ?? MARGIN.left;
  for (const line of wrap(text, options.font ?? l.fonts.regular, size, options.width ?? CONTENT_WIDTH)) {
    l.ensure(leading);
    l.y -= leading;
    l.text(line, x, size, options.font ?? l.fonts.regular);
  }
  l.y -= options.after ?? 6;
}

function renderHeading(l: Layout, level: number, text: string): void {
  const size = level === 1 ? 19 : level === 2 ? 13.5 : 11;
  const font = l.fonts.bold;
  const lines = wrap(text, font, size, CONTENT_WIDTH);
  // Keep a heading with at least three lines of what follows.
  l.ensure(lines.length * size * 1.3 + (level === 1 ? 10 : 8) + 45);
  l.y -= level === 1 ? 4 : 10;
  for (const line of lines) {
    l.y -= size * 1.25;
    l.text(line, MARGIN.left, size, font, level === 1 ? ACCENT : INK);
  }
  if (level <= 2) {
    l.y -= 4;
    l.page.drawLine({ start: { x: MARGIN.left, y: l.y }, end: { x: PAGE.width - MARGIN.right, y: l.y }, thickness: level === 1 ? 1.2 : 0.5, color: level === 1 ? ACCENT : RULE });
  }
  l.y -= 8;
}

function renderList(l: Layout, ordered: boolean, start: number, items: string[]): void {
  const size = 10;
  const leading = size * 1.38;
  const indent = 20;
  items.forEach((item, index) => {
    const lines = wrap(item, l.fonts.regular, size, CONTENT_WIDTH - indent);
    lines.forEach((line, k) => {
      l.ensure(leading);
      l.y -= leading;
      if (k === 0) l.text(ordered ? `${start + index}.` : '•', MARGIN.left + 4, size, ordered ? l.fonts.bold : l.fonts.regular);
      l.text(line, MARGIN.left + indent, size, l.fonts.regular);
    });
    l.y -= 3;
  });
  l.y -= 5;
}

function renderNote(l: Layout, label: string, text: string): void {
  const size = 9.5;
  const leading = size * 1.38;
  const colours = NOTE_COLOURS[label] ?? NOTE_COLOURS.NOTE!;
  const labelText = `${label}: `;
  const labelWidth = l.fonts.bold.widthOfTextAtSize(labelText, size);
  const lines = wrap(text, l.fonts.regular, size, CONTENT_WIDTH - 24 - labelWidth);
  const height = lines.length * leading + 12;
  l.ensure(height + 6);
  const top = l.y - 2;
  l.page.drawRectangle({ x: MARGIN.left, y: top - height, width: CONTENT_WIDTH, height, color: colours.fill });
  l.page.drawRectangle({ x: MARGIN.left, y: top - height, width: 4, height, color: colours.bar });
  l.y = top - 6;
  lines.forEach((line, k) => {
    l.y -= leading - 1;
    if (k === 0) l.text(labelText, MARGIN.left + 12, size, l.fonts.bold, colours.bar);
    l.text(line, MARGIN.left + 12 + labelWidth, size, l.fonts.regular);
  });
  l.y = top - height - 10;
}

function renderTable(l: Layout, rows: string[][]): void {
  const size = 8.8;
  const leading = size * 1.3;
  const columns = Math.max(...rows.map((r) => r.length));
  // Column widths in proportion to their longest cell, within limits.
  const weights = Array.from({ length: columns }, (_, c) => Math.min(60, Math.max(8, ...rows.map((r) => (r[c] ?? '').length))));
  const total = weights.reduce((a, b) => a + b, 0);
  const widths = weights.map((w) => (w / total) * CONTENT_WIDTH);
  rows.forEach((row, r) => {
    const font = r === 0 ? l.fonts.bold : l.fonts.regular;
    const cells = widths.map((w, c) => wrap(row[c] ?? '', font, size, w - 8));
    const height = Math.max(...cells.map((c) => c.length)) * leading + 6;
    l.ensure(height);
    const top = l.y;
    if (r === 0) l.page.drawRectangle({ x: MARGIN.left, y: top - height, width: CONTENT_WIDTH, height, color: rgb(0.9, 0.92, 0.95) });
    let x = MARGIN.left;
    cells.forEach((lines, c) => {
      lines.forEach((line, k) => {
        l.page.drawText(line, { x: x + 4, y: top - 3 - (k + 1) * leading + 2, size, font, color: INK });
      });
      x += widths[c]!;
    });
    l.page.drawLine({ start: { x: MARGIN.left, y: top - height }, end: { x: MARGIN.left + CONTENT_WIDTH, y: top - height }, thickness: 0.4, color: RULE });
    l.y = top - height;
  });
  l.y -= 10;
}

/** A drawing area with SVG-like coordinates: origin top-left, y down, in points. */
export class Pen {
  constructor(
    readonly page: PDFPage,
    readonly x0: number,
    readonly top: number,
    readonly fonts: Fonts,
  ) {}
  private px(x: number) {
    return this.x0 + x;
  }
  private py(y: number) {
    return this.top - y;
  }
  line(x1: number, y1: number, x2: number, y2: number, thickness = 0.8, color: RGB = INK, dash?: number[]): void {
    this.page.drawLine({ start: { x: this.px(x1), y: this.py(y1) }, end: { x: this.px(x2), y: this.py(y2) }, thickness, color, ...(dash ? { dashArray: dash } : {}) });
  }
  rect(x: number, y: number, w: number, h: number, fill?: RGB, border: RGB | undefined = INK, borderWidth = 0.8): void {
    this.page.drawRectangle({ x: this.px(x), y: this.py(y + h), width: w, height: h, ...(fill ? { color: fill } : {}), ...(border ? { borderColor: border, borderWidth } : {}) });
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, fill?: RGB, border: RGB | undefined = INK, borderWidth = 0.8): void {
    this.page.drawEllipse({ x: this.px(cx), y: this.py(cy), xScale: rx, yScale: ry, ...(fill ? { color: fill } : {}), ...(border ? { borderColor: border, borderWidth } : {}) });
  }
  path(d: string, fill?: RGB, border: RGB | undefined = INK, borderWidth = 0.8): void {
    this.page.drawSvgPath(d, { x: this.x0, y: this.top, ...(fill ? { color: fill } : {}), ...(border ? { borderColor: border, borderWidth } : {}) });
  }
  label(s: string, x: number, y: number, size = 7.5, bold = false, color: RGB = INK): void {
    this.page.drawText(s, { x: this.px(x), y: this.py(y), size, font: bold ? this.fonts.bold : this.fonts.regular, color });
  }
  /** A numbered balloon with a leader line to (tx, ty) and a text label beside it. */
  callout(n: string, bx: number, by: number, tx: number, ty: number, text?: string): void {
    this.line(bx, by, tx, ty, 0.5, GREY);
    this.ellipse(tx, ty, 1.2, 1.2, INK, undefined);
    this.ellipse(bx, by, 7, 7, rgb(1, 1, 1), INK, 0.7);
    const w = this.fonts.bold.widthOfTextAtSize(n, 7);
    this.label(n, bx - w / 2, by + 2.5, 7, true);
    if (!text) return;
    // Put the text on the side away from a mostly horizontal leader, so the line does not cross it.
    const leftSide = tx > bx + 10 && Math.abs(ty - by) < Math.abs(tx - bx);
    this.label(text, leftSide ? bx - 10 - this.fonts.regular.widthOfTextAtSize(text, 7.5) : bx + 10, by + 2.5, 7.5);
  }
}

type FigureDrawer = (pen: Pen, width: number, height: number, doc: PDFDocument) => Promise<void> | void;

const STEEL = rgb(0.82, 0.84, 0.87);
const DARK_STEEL = rgb(0.55, 0.58, 0.62);
const CAST_IRON = rgb(0.62, 0.7, 0.8);
const RUBBER = rgb(0.2, 0.2, 0.22);
const CARBON = rgb(0.3, 0.3, 0.33);
const BRASS = rgb(0.85, 0.72, 0.38);

const FIGURES: Record<string, FigureDrawer> = {
  'p200-section': (p) => {
    // Casing (volute) in section, suction nozzle left, discharge nozzle on top.
    p.path('M 60 40 L 150 40 L 165 55 L 165 175 L 150 190 L 60 190 L 45 175 L 45 55 Z', CAST_IRON);
    p.rect(5, 95, 42, 40, CAST_IRON);
    p.rect(80, 10, 40, 32, CAST_IRON);
    p.rect(72, 4, 56, 8, CAST_IRON);
    // Impeller: two shrouds with vanes.
    p.path('M 95 60 L 125 70 L 125 160 L 95 170 Z', rgb(0.86, 0.78, 0.55));
    p.line(100, 75, 120, 85);
    p.line(100, 155, 120, 145);
    // Shaft through seal and bearing frame to coupling.
    p.rect(120, 108, 270, 14, STEEL);
    p.rect(118, 104, 10, 22, DARK_STEEL); // impeller nut
    // Mechanical seal at the casing back wall.
    p.rect(160, 98, 8, 34, CARBON);
    p.rect(170, 100, 14, 30, DARK_STEEL);
    p.path('M 186 102 l 4 6 l -4 6 l 4 6 l -4 6 l 4 6', undefined, INK, 0.6);
    // Bearing frame with two bearings.
    p.rect(200, 80, 150, 70, rgb(0.7, 0.76, 0.84));
    for (const bx of [212, 322]) {
      for (const by of [92, 123]) {
        p.rect(bx, by, 16, 16, STEEL);
        p.line(bx, by, bx + 16, by + 16, 0.5);
        p.line(bx + 16, by, bx, by + 16, 0.5);
      }
    }
    // Coupling and motor (dashed).
    p.rect(362, 100, 14, 30, DARK_STEEL);
    p.rect(378, 100, 14, 30, DARK_STEEL);
    p.rect(398, 70, 52, 90, undefined, GREY, 0.6);
    p.label('motor', 410, 118, 7, false, GREY);
    // Drain plug at the bottom of the casing.
    p.rect(98, 190, 12, 8, DARK_STEEL);
    p.callout('1', 20, 30, 55, 60, 'Casing');
    p.callout('2', 140, 215, 110, 150, 'Impeller 3150-07');
    p.callout('3', 175, 30, 175, 100, 'Mechanical seal 4471-B');
    p.callout('4', 270, 182, 270, 122, 'Shaft');
    p.callout('5', 260, 55, 250, 80, 'Bearing frame, bearings 5520-B');
    p.callout('14', 40, 215, 104, 198, 'Drain plug');
    p.label('Suction DN80', 2, 150, 7, false, GREY);
    p.label('Discharge DN50', 130, 18, 7, false, GREY);
  },
  'p200-seal': (p, width) => {
    const axis = 110;
    p.line(10, axis, width - 10, axis, 0.4, GREY, [6, 3, 1, 3]);
    // 1 gland plate with bolt holes
    p.rect(30, 40, 22, 140, CAST_IRON);
    p.ellipse(41, 55, 4, 4, rgb(1, 1, 1));
    p.ellipse(41, 165, 4, 4, rgb(1, 1, 1));
    // 2 O-ring of the stationary seat, 3 stationary seat (SiC), 4 rotating face (carbon), 5 elastomer bellows, 6 spring, 7 retainer
    p.ellipse(95, axis, 5, 42, undefined, RUBBER, 2.2);
    p.ellipse(140, axis, 10, 40, rgb(0.78, 0.8, 0.84));
    p.ellipse(140, axis, 4, 22, rgb(1, 1, 1));
    p.ellipse(195, axis, 9, 36, CARBON);
    p.ellipse(195, axis, 4, 22, rgb(1, 1, 1));
    p.rect(235, axis - 30, 30, 60, RUBBER);
    p.path(`M 300 ${axis - 28} ${Array.from({ length: 8 }, (_, k) => `L ${306 + k * 9} ${k % 2 === 0 ? axis + 28 : axis - 28}`).join(' ')}`, undefined, DARK_STEEL, 1.4);
    p.rect(390, axis - 26, 16, 52, STEEL);
    p.callout('1', 41, 20, 41, 40, 'Gland plate');
    p.callout('2', 95, 200, 95, 150, 'O-ring');
    p.callout('3', 140, 20, 140, 72, 'Stationary seat (SiC)');
    p.callout('4', 195, 200, 195, 146, 'Rotating face (carbon)');
    p.callout('5', 250, 20, 250, 80, 'Bellows (EPDM)');
    p.callout('6', 330, 200, 330, 138, 'Spring');
    p.callout('7', 398, 20, 398, 84, 'Retainer');
    p.label('Items 2 to 7: seal kit 4471-B. Gland nuts 18 N·m.', 150, 226, 7.5, true);
  },
  'bv50-exploded': (p) => {
    const axis = 150;
    // Pipe stubs and end caps.
    p.rect(10, axis - 22, 60, 44, STEEL);
    p.rect(70, axis - 36, 30, 72, DARK_STEEL);
    p.rect(330, axis - 36, 30, 72, DARK_STEEL);
    p.rect(360, axis - 22, 60, 44, STEEL);
    // Seats, body and ball.
    p.ellipse(125, axis, 6, 30, rgb(0.95, 0.95, 0.92));
    p.ellipse(305, axis, 6, 30, rgb(0.95, 0.95, 0.92));
    p.rect(160, axis - 42, 110, 84, STEEL);
    p.ellipse(215, axis, 36, 36, rgb(0.9, 0.91, 0.93));
    p.rect(179, axis - 12, 72, 24, rgb(1, 1, 1));
    // Stem, packing, gland nut, handle above.
    p.rect(209, 62, 12, 40, DARK_STEEL);
    p.rect(205, 50, 20, 5, rgb(0.95, 0.95, 0.92));
    p.rect(205, 42, 20, 5, rgb(0.95, 0.95, 0.92));
    p.rect(203, 30, 24, 8, DARK_STEEL);
    p.rect(150, 12, 200, 12, rgb(0.8, 0.15, 0.12));
    for (const bx of [168, 262]) p.line(bx, axis + 48, bx, axis + 70, 1.6, DARK_STEEL);
    p.callout('1', 85, 215, 85, 186, 'End cap');
    p.callout('2', 125, 90, 125, 120, 'Seat 7720-S');
    p.callout('3', 300, 215, 232, 168, 'Ball');
    p.callout('4', 300, 95, 268, 115, 'Body');
    p.callout('5', 250, 75, 221, 80, 'Stem');
    p.callout('6', 110, 48, 205, 48, 'Stem rings 7720-P');
    p.callout('7', 260, 40, 227, 34, 'Gland nut 12 N·m');
    p.callout('8', 380, 18, 350, 18, 'Handle 7720-H');
    p.callout('9', 150, 230, 168, 215, 'Body bolts M10, 35 N·m');
  },
  'pg63-dial': (p) => {
    const cx = 110;
    const cy = 100;
    const r = 85;
    p.ellipse(cx, cy, r, r, DARK_STEEL);
    p.ellipse(cx, cy, r - 8, r - 8, rgb(1, 1, 1));
    // Scale 0..16 bar over 270 degrees, starting at bottom-left.
    for (let v = 0; v <= 16; v += 0.5) {
      const a = ((225 - (v / 16) * 270) * Math.PI) / 180;
      const major = v % 2 === 0;
      const r1 = major ? r - 26 : r - 20;
      p.line(cx + Math.cos(a) * r1, cy - Math.sin(a) * r1, cx + Math.cos(a) * (r - 13), cy - Math.sin(a) * (r - 13), major ? 1.2 : 0.5);
      if (major) {
        const s = String(v);
        p.label(s, cx + Math.cos(a) * (r - 37) - s.length * 2.6, cy - Math.sin(a) * (r - 37) + 3, 8, true);
      }
    }
    const a = ((225 - (9.5 / 16) * 270) * Math.PI) / 180;
    p.line(cx, cy, cx + Math.cos(a) * (r - 18), cy - Math.sin(a) * (r - 18), 2, rgb(0.8, 0.1, 0.1));
    p.ellipse(cx, cy, 5, 5, INK);
    p.label('bar', cx - 7, cy + 28, 9, true);
    p.label('PG-63  cl. 1.6', cx - 26, cy + 42, 7);
    // Diameter dimension.
    p.line(cx - r, 200, cx + r, 200, 0.5, GREY);
    p.line(cx - r, 194, cx - r, 206, 0.5, GREY);
    p.line(cx + r, 194, cx + r, 206, 0.5, GREY);
    p.label('Ø 63', cx - 8, 214, 8, false, GREY);
    // Side view: case, bottom socket with wrench flats and thread.
    const sx = 290;
    const depth = 40;
    p.rect(sx, cy - r, depth, 2 * r, DARK_STEEL);
    p.rect(sx + depth, cy - r + 6, 4, 2 * r - 12, rgb(0.85, 0.88, 0.92));
    p.rect(sx + 14, cy - r - 7, 10, 7, RUBBER);
    p.rect(sx + 12, cy + r, 16, 14, BRASS);
    p.rect(sx + 14, cy + r + 14, 12, 20, BRASS);
    for (let y = cy + r + 16; y < cy + r + 34; y += 3) p.line(sx + 14, y, sx + 26, y + 2, 0.4);
    p.label('Vent plug', sx + 30, cy - r - 1, 7.5);
    p.label('14 mm flats', sx + 34, cy + r + 10, 7.5);
    p.label('1/4 in NPT, max. 25 N·m', sx + 34, cy + r + 28, 7.5, true);
  },
  'hf37-fitting': async (p, width, height, doc) => {
    // Rendered from SVG with sharp and embedded as a PNG; the labels are PDF text.
    const png = await sharp(Buffer.from(HF37_SVG), { density: 144 }).png({ compressionLevel: 9, palette: true }).toBuffer();
    const image = await doc.embedPng(png);
    const w = Math.min(width, 420);
    const h = (w * image.height) / image.width;
    p.page.drawImage(image, { x: p.x0, y: p.top - h, width: w, height: h });
    const scale = w / 600;
    const at = (x: number, y: number): [number, number] => [x * scale, y * scale];
    p.callout('1', ...at(60, 40), ...at(90, 130), 'Hose HH-2SN');
    p.callout('2', ...at(250, 30), ...at(250, 105), 'Ferrule (crimped)');
    p.callout('3', ...at(380, 250), ...at(360, 165), 'Nipple');
    p.callout('4', ...at(520, 30), ...at(500, 100), 'Swivel nut, 37° flare');
    p.label('Crimp tolerance ±0.1 mm', 0, Math.min(height, h + 14), 7.5, true);
  },
};

/** Section view of a crimped JIC fitting on a two-wire hose (no text: labels are drawn by the PDF). */
const HF37_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="260" viewBox="0 0 600 260">
  <defs>
    <pattern id="braid" width="8" height="8" patternUnits="userSpaceOnUse">
      <path d="M0 8 L8 0 M-2 2 L2 -2 M6 10 L10 6" stroke="#8a8f96" stroke-width="1.4"/>
    </pattern>
    <linearGradient id="metal" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#e9ecef"/><stop offset="0.5" stop-color="#b8bec6"/><stop offset="1" stop-color="#e2e5e9"/>
    </linearGradient>
    <linearGradient id="nut" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#d9c27a"/><stop offset="0.5" stop-color="#b39544"/><stop offset="1" stop-color="#d6bd70"/>
    </linearGradient>
  </defs>
  <rect width="600" height="260" fill="#ffffff"/>
  <line x1="10" y1="130" x2="590" y2="130" stroke="#9aa0a6" stroke-width="1" stroke-dasharray="12 4 2 4"/>
  <rect x="10" y="78" width="300" height="104" fill="#2b2d30"/>
  <rect x="10" y="88" width="300" height="84" fill="url(#braid)"/>
  <rect x="10" y="100" width="300" height="60" fill="#44474c"/>
  <rect x="10" y="112" width="300" height="36" fill="#f4f6f8"/>
  <path d="M180 66 L320 66 L330 78 L330 182 L320 194 L180 194 Z" fill="url(#metal)" stroke="#555" stroke-width="1.5"/>
  <path d="M190 74 q10 8 20 0 q10 8 20 0 q10 8 20 0 q10 8 20 0 q10 8 20 0" fill="none" stroke="#777" stroke-width="1.5"/>
  <path d="M190 186 q10 -8 20 0 q10 -8 20 0 q10 -8 20 0 q10 -8 20 0 q10 -8 20 0" fill="none" stroke="#777" stroke-width="1.5"/>
  <path d="M200 112 L420 112 L420 100 L470 100 L490 118 L490 142 L470 160 L420 160 L420 148 L200 148 Z" fill="url(#metal)" stroke="#555" stroke-width="1.5"/>
  <rect x="200" y="122" width="290" height="16" fill="#f4f6f8"/>
  <path d="M440 84 L560 84 L575 100 L575 160 L560 176 L440 176 Z" fill="url(#nut)" stroke="#6b5a22" stroke-width="1.5"/>
  <path d="M490 118 L520 100 L575 100 L575 160 L520 160 L490 142 Z" fill="#ffffff" fill-opacity="0.55" stroke="#6b5a22" stroke-width="1"/>
  <g stroke="#6b5a22" stroke-width="1">
    <line x1="528" y1="100" x2="532" y2="96"/><line x1="540" y1="100" x2="544" y2="96"/><line x1="552" y1="100" x2="556" y2="96"/>
    <line x1="528" y1="160" x2="532" y2="164"/><line x1="540" y1="160" x2="544" y2="164"/><line x1="552" y1="160" x2="556" y2="164"/>
  </g>
</svg>`;

async function renderFigure(l: Layout, doc: PDFDocument, id: string, caption: string): Promise<void> {
  const drawer = FIGURES[id];
  if (!drawer) throw new Error(`Unknown figure ${id}`);
  const height = 250;
  l.ensure(height + 30);
  const top = l.y - 6;
  l.page.drawRectangle({ x: MARGIN.left, y: top - height, width: CONTENT_WIDTH, height, borderColor: RULE, borderWidth: 0.6 });
  const pen = new Pen(l.page, MARGIN.left + 14, top - 12, l.fonts);
  await drawer(pen, CONTENT_WIDTH - 28, height - 24, doc);
  l.y = top - height - 4;
  renderParagraph(l, caption, { size: 9, font: l.fonts.italic, after: 12 });
}

/** A Markdown source → a multi-page PDF with header, footer, title and metadata. */
export async function buildPdf(markdown: string, code: string): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const fonts: Fonts = {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
    italic: await doc.embedFont(StandardFonts.HelveticaOblique),
  };
  const blocks = parseBlocks(markdown);
  const title = blocks.find((b): b is Extract<Block, { type: 'heading' }> => b.type === 'heading' && b.level === 1)?.text ?? code;
  doc.setTitle(title);
  doc.setAuthor(PUBLISHER);
  doc.setSubject(`${code}: demo document for Fieldscope`);
  doc.setKeywords(['fieldscope', 'demo', code]);
  doc.setCreator('Fieldscope demo/make-demo.ts');
  doc.setProducer('pdf-lib');
  doc.setCreationDate(FIXED_DATE);
  doc.setModificationDate(FIXED_DATE);

  const layout = new Layout(doc, fonts);
  for (const block of blocks) {
    switch (block.type) {
      case 'heading':
        renderHeading(layout, block.level, block.text);
        break;
      case 'paragraph':
        renderParagraph(layout, block.text);
        break;
      case 'list':
        renderList(layout, block.ordered, block.start, block.items);
        break;
      case 'table':
        renderTable(layout, block.rows);
        break;
      case 'note':
        renderNote(layout, block.label, block.text);
        break;
      case 'figure':
        await renderFigure(layout, doc, block.id, block.caption);
        break;
    }
  }
  const total = layout.pages.length;
  layout.pages.forEach((page, i) => {
    const small = 7.5;
    page.drawText(PUBLISHER, { x: MARGIN.left, y: PAGE.height - 40, size: small, font: fonts.regular, color: GREY });
    const codeWidth = fonts.bold.widthOfTextAtSize(code, small);
    page.drawText(code, { x: PAGE.width - MARGIN.right - codeWidth, y: PAGE.height - 40, size: small, font: fonts.bold, color: GREY });
    page.drawLine({ start: { x: MARGIN.left, y: 44 }, end: { x: PAGE.width - MARGIN.right, y: 44 }, thickness: 0.4, color: RULE });
    const footer = `Page ${i + 1} of ${total}`;
    page.drawText(title.length > 80 ? `${title.slice(0, 77)}...` : title, { x: MARGIN.left, y: 32, size: small, font: fonts.regular, color: GREY });
    page.drawText(footer, { x: PAGE.width - MARGIN.right - fonts.regular.widthOfTextAtSize(footer, small), y: 32, size: small, font: fonts.regular, color: GREY });
  });
  return doc.save({ useObjectStreams: true });
}

// ---------------------------------------------------------------------------------------------
// HTML and plain-text versions

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/°/g, '&deg;');

/** A saved-web-page style HTML file: navigation, styles and a script around the content. */
export function toHtml(markdown: string, code: string): string {
  const blocks = parseBlocks(markdown);
  const title = blocks.find((b) => b.type === 'heading' && b.level === 1);
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'heading':
        body.push(`<h${b.level}>${escapeHtml(b.text)}</h${b.level}>`);
        break;
      case 'paragraph':
        body.push(`<p>${escapeHtml(b.text)}</p>`);
        break;
      case 'list': {
        const tag = b.ordered ? 'ol' : 'ul';
        body.push(`<${tag}${b.ordered && b.start !== 1 ? ` start="${b.start}"` : ''}>\n${b.items.map((i) => `  <li>${escapeHtml(i)}</li>`).join('\n')}\n</${tag}>`);
        break;
      }
      case 'table': {
        const [head, ...rest] = b.rows;
        const row = (cells: string[], tag: string) => `    <tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
        body.push(`<table>\n  <thead>\n${row(head ?? [], 'th')}\n  </thead>\n  <tbody>\n${rest.map((r) => row(r, 'td')).join('\n')}\n  </tbody>\n</table>`);
        break;
      }
      case 'note':
        body.push(`<div class="note note-${b.label.toLowerCase()}"><strong>${b.label}:</strong> ${escapeHtml(b.text)}</div>`);
        break;
      case 'figure':
        body.push(`<figure><img src="figure-${b.id}.png" alt="${escapeHtml(b.caption)}"><figcaption>${escapeHtml(b.caption)}</figcaption></figure>`);
        break;
    }
  }
  const pageTitle = title && title.type === 'heading' ? title.text : code;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(pageTitle)} | ${escapeHtml(code)}</title>
<style>
  body { font-family: sans-serif; max-width: 48em; margin: 2em auto; color: #1b1d21; }
  .note { border-left: 4px solid #d95a0d; background: #fff3e1; padding: .5em 1em; }
  table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: .2em .5em; }
</style>
<script>
  // Page analytics stub: must never end up in the indexed text.
  window.dataLayer = window.dataLayer || []; window.dataLayer.push({ page: "${code}" });
</script>
</head>
<body>
<nav><a href="/">Home</a> &gt; <a href="/docs">Documents</a> &gt; Controllers</nav>
<main>
${body.join('\n')}
</main>
<footer><p>${escapeHtml(PUBLISHER)}. ${escapeHtml(code)}.</p></footer>
</body>
</html>
`;
}

/** Plain text as a text editor user would write it: wrapped at 78 columns, blank lines between blocks. */
export function toText(markdown: string): string {
  const out: string[] = [];
  const wrapCols = (s: string, indent = '', first = indent) => {
    const lines: string[] = [];
    let line = first;
    for (const word of s.split(/\s+/).filter(Boolean)) {
      if (line.trim() && line.length + 1 + word.length > 78) {
        lines.push(line);
        line = indent + word;
      } else {
        line = line.trim() ? `${line} ${word}` : line + word;
      }
    }
    if (line.trim()) lines.push(line);
    return lines.join('\n');
  };
  for (const b of parseBlocks(markdown)) {
    switch (b.type) {
      case 'heading':
        out.push(b.level === 1 ? `${b.text.toUpperCase()}\n${'='.repeat(Math.min(78, b.text.length))}` : `${b.text}\n${'-'.repeat(Math.min(78, b.text.length))}`);
        break;
      case 'paragraph':
        out.push(wrapCols(b.text));
        break;
      case 'list':
        out.push(b.items.map((item, i) => wrapCols(item, '   ', b.ordered ? `${b.start + i}. ` : ' - ')).join('\n'));
        break;
      case 'table':
        out.push(b.rows.map((r) => r.join('  |  ')).join('\n'));
        break;
      case 'note':
        out.push(wrapCols(`${b.label}: ${b.text}`));
        break;
      case 'figure':
        out.push(`[${b.caption}]`);
        break;
    }
  }
  return out.join('\n\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Reference photos (rendered scenes, no text in them)

export const PHOTOS = [
  {
    file: 'valve-bv50.jpg',
    caption: 'BV-50 2-inch stainless steel ball valve with red lever handle, installed on a horizontal line',
    partNumber: 'BV-50',
    svg: valveScene,
  },
  {
    file: 'gauge-pg63.png',
    caption: 'PG-63 glycerine-filled pressure gauge, 0 to 16 bar, on the pump discharge line',
    partNumber: 'PG-63-0160-B-G',
    svg: gaugeScene,
  },
  {
    file: 'pump-p200.jpg',
    caption: 'P-200 end-suction centrifugal pump with electric motor on a common baseplate',
    partNumber: 'P-200',
    svg: pumpScene,
  },
] as const;

const PHOTO_SIZE = { width: 640, height: 480 };

function wall(): string {
  return `<defs>
    <linearGradient id="wall" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#c9ccc4"/><stop offset="0.7" stop-color="#a9ada6"/><stop offset="1" stop-color="#7d807b"/></linearGradient>
    <linearGradient id="pipe" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6d7379"/><stop offset="0.35" stop-color="#d8dde2"/><stop offset="0.6" stop-color="#9aa1a8"/><stop offset="1" stop-color="#4e5358"/></linearGradient>
    <linearGradient id="vpipe" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="#6d7379"/><stop offset="0.35" stop-color="#d8dde2"/><stop offset="0.6" stop-color="#9aa1a8"/><stop offset="1" stop-color="#4e5358"/></linearGradient>
    <linearGradient id="steel" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f1f3f5"/><stop offset="0.5" stop-color="#b3b9c0"/><stop offset="1" stop-color="#7c838b"/></linearGradient>
    <linearGradient id="blue" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#4d86c9"/><stop offset="0.6" stop-color="#1f5597"/><stop offset="1" stop-color="#123a6b"/></linearGradient>
    <linearGradient id="floor" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#8e8f8a"/><stop offset="1" stop-color="#5f605c"/></linearGradient>
    <radialGradient id="bezel" cx="0.4" cy="0.35" r="0.7"><stop offset="0" stop-color="#ffffff"/><stop offset="0.6" stop-color="#b9bfc6"/><stop offset="1" stop-color="#6a7077"/></radialGradient>
    <radialGradient id="face" cx="0.45" cy="0.4" r="0.7"><stop offset="0" stop-color="#ffffff"/><stop offset="1" stop-color="#e4e6e2"/></radialGradient>
  </defs>
  <rect width="640" height="480" fill="url(#wall)"/>
  <rect y="380" width="640" height="100" fill="url(#floor)"/>`;
}

function valveScene(): string {
  const bolts = [236, 404].flatMap((x) => [176, 304].map((y) => `<circle cx="${x}" cy="${y}" r="9" fill="#5b6168" stroke="#2f3337" stroke-width="2"/>`)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">${wall()}
  <rect x="0" y="205" width="640" height="70" fill="url(#pipe)"/>
  <rect x="180" y="190" width="40" height="100" rx="4" fill="url(#steel)" stroke="#555b61" stroke-width="2"/>
  <rect x="420" y="190" width="40" height="100" rx="4" fill="url(#steel)" stroke="#555b61" stroke-width="2"/>
  <rect x="215" y="160" width="210" height="160" rx="18" fill="url(#steel)" stroke="#4f555b" stroke-width="3"/>
  ${bolts}
  <rect x="305" y="110" width="30" height="55" fill="url(#steel)" stroke="#4f555b" stroke-width="2"/>
  <rect x="295" y="96" width="50" height="20" rx="3" fill="#7d848b" stroke="#3e4348" stroke-width="2"/>
  <rect x="300" y="76" width="290" height="28" rx="10" fill="#c62d21" stroke="#7c1a12" stroke-width="3"/>
  <rect x="300" y="78" width="290" height="8" rx="4" fill="#e8695d" opacity="0.7"/>
  <ellipse cx="320" cy="440" rx="260" ry="18" fill="#3b3c39" opacity="0.35"/>
</svg>`;
}

function gaugeScene(): string {
  const ticks = Array.from({ length: 33 }, (_, k) => {
    const a = ((225 - (k / 32) * 270) * Math.PI) / 180;
    const major = k % 4 === 0;
    const r1 = major ? 118 : 130;
    const f = (n: number) => n.toFixed(1);
    return `<line x1="${f(320 + Math.cos(a) * r1)}" y1="${f(210 - Math.sin(a) * r1)}" x2="${f(320 + Math.cos(a) * 140)}" y2="${f(210 - Math.sin(a) * 140)}" stroke="#15171a" stroke-width="${major ? 4 : 2}"/>`;
  }).join('');
  const a = ((225 - (9.5 / 16) * 270) * Math.PI) / 180;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">${wall()}
  <rect x="290" y="360" width="60" height="120" fill="url(#vpipe)"/>
  <rect x="0" y="420" width="640" height="60" fill="url(#pipe)"/>
  <rect x="300" y="330" width="40" height="40" fill="#c9a44a" stroke="#7a6220" stroke-width="2"/>
  <circle cx="320" cy="210" r="175" fill="url(#bezel)" stroke="#50565c" stroke-width="4"/>
  <circle cx="320" cy="210" r="155" fill="url(#face)"/>
  <path d="M 320 210 m -150 0 a 150 150 0 0 1 300 0" fill="none" stroke="#2d9d4f" stroke-width="0"/>
  ${ticks}
  <line x1="320" y1="210" x2="${(320 + Math.cos(a) * 128).toFixed(1)}" y2="${(210 - Math.sin(a) * 128).toFixed(1)}" stroke="#c21d16" stroke-width="7" stroke-linecap="round"/>
  <circle cx="320" cy="210" r="14" fill="#202326"/>
  <ellipse cx="270" cy="140" rx="90" ry="40" fill="#ffffff" opacity="0.25" transform="rotate(-25 270 140)"/>
  <circle cx="320" cy="42" r="6" fill="#2d2f31"/>
</svg>`;
}

function pumpScene(): string {
  const fins = Array.from({ length: 9 }, (_, k) => `<rect x="${372 + k * 22}" y="150" width="8" height="150" fill="#163f72" opacity="0.55"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">${wall()}
  <rect x="40" y="350" width="570" height="36" fill="#2e3135" stroke="#1b1d20" stroke-width="2"/>
  <rect x="0" y="226" width="90" height="56" fill="url(#pipe)"/>
  <rect x="140" y="20" width="56" height="120" fill="url(#vpipe)"/>
  <circle cx="170" cy="250" r="100" fill="url(#blue)" stroke="#0e2d54" stroke-width="4"/>
  <rect x="130" y="120" width="80" height="40" fill="url(#blue)" stroke="#0e2d54" stroke-width="3"/>
  <rect x="70" y="220" width="40" height="66" fill="url(#blue)" stroke="#0e2d54" stroke-width="3"/>
  <circle cx="170" cy="250" r="36" fill="#1a4a86" stroke="#0e2d54" stroke-width="3"/>
  <rect x="255" y="215" width="90" height="70" fill="url(#blue)" stroke="#0e2d54" stroke-width="3"/>
  <rect x="330" y="228" width="30" height="44" fill="#f2b620" stroke="#8a6507" stroke-width="2"/>
  <rect x="360" y="140" width="230" height="170" rx="20" fill="url(#blue)" stroke="#0e2d54" stroke-width="4"/>
  ${fins}
  <rect x="420" y="112" width="90" height="34" rx="4" fill="#1f5597" stroke="#0e2d54" stroke-width="3"/>
  <rect x="120" y="320" width="100" height="32" fill="#1f5597" stroke="#0e2d54" stroke-width="3"/>
  <rect x="400" y="308" width="150" height="44" fill="#1f5597" stroke="#0e2d54" stroke-width="3"/>
</svg>`;
}

async function renderPhoto(file: string, svg: string): Promise<Buffer> {
  const image = sharp(Buffer.from(svg)).resize(PHOTO_SIZE.width, PHOTO_SIZE.height).flatten({ background: '#ffffff' });
  return file.endsWith('.png') ? image.png({ compressionLevel: 9 }).toBuffer() : image.jpeg({ quality: 82, mozjpeg: true }).toBuffer();
}

// ---------------------------------------------------------------------------------------------

/** Every demo file, by path relative to demo/. */
export async function buildDemo(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const d of DEMO_DOCUMENTS) {
    const markdown = await readFile(path.join(SOURCE_DIR, d.source), 'utf8');
    const out = `docs/${d.output}`;
    if (d.output.endsWith('.pdf')) files.set(out, await buildPdf(markdown, d.code));
    else if (d.output.endsWith('.html')) files.set(out, Buffer.from(toHtml(markdown, d.code)));
    else if (d.output.endsWith('.txt')) files.set(out, Buffer.from(toText(markdown)));
    else files.set(out, Buffer.from(markdown));
  }
  for (const photo of PHOTOS) files.set(`photos/${photo.file}`, await renderPhoto(photo.file, photo.svg()));
  // Keyed by file name, as src/demo/load-demo.ts reads it; `metadata` is stored with the photo.
  const captions = Object.fromEntries(PHOTOS.map(({ file, caption, partNumber }) => [file, { caption, partNumber, metadata: { partNumber } }]));
  files.set('photos/captions.json', Buffer.from(JSON.stringify(captions, null, 2) + '\n'));
  return files;
}

async function main(): Promise<void> {
  const files = await buildDemo();
  let total = 0;
  for (const [rel, bytes] of files) {
    const target = path.join(DEMO_DIR, rel);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    total += bytes.length;
    process.stdout.write(`${rel.padEnd(48)} ${String(bytes.length).padStart(8)} bytes\n`);
  }
  process.stdout.write(`${files.size} files, ${total} bytes\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
