/**
 * Builds the OCR eval set (demo/ocr-eval/) that `fieldscope eval ocr` reads: nameplates and
 * part-number labels rendered from SVG text and photographed badly (perspective, blur, glare, dim
 * light, noise, low-quality JPEG) in a photo-like scene, QR codes and 1-D barcodes (bwip-js), and a
 * scanned two-page PDF without a text layer (pdf-lib). Writes the images, the PDF and set.jsonl
 * (one item a line: what is written on it, the identifiers search would find in that, the codes).
 *
 * Deterministic (a seeded generator for noise; fonts come from the system's fontconfig, so a
 * machine with other fonts may draw slightly different pixels); the files are committed and the
 * eval reads only them. Lines marked "ci" form the small subset CI runs.
 *
 * Run: npx tsx demo/ocr-eval/make-set.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import bwipjs from 'bwip-js';
import sharp from 'sharp';
import { extractIdentifiers } from '../../src/search/identifiers.js';
import { renderNoTextPhoto, renderPlate, scannedPdf } from '../../test/helpers/ocr-images.js';
import { seededRandom as random } from '../../src/demo/seeded-random.js';

const DIR = path.dirname(fileURLToPath(import.meta.url));

type Corners = [[number, number], [number, number], [number, number], [number, number]];
interface Look {
  /** Where the image's corners land (fractions of width/height): TL, TR, BR, BL. */
  perspective?: Corners;
  rotate?: number;
  blur?: number;
  /** A bright reflection: centre (fractions) and strength 0..1. */
  glare?: { x: number; y: number; strength: number };
  brightness?: number;
  noise?: number;
  jpeg: number;
}


/** The 3×3 homography taking the unit square's corners to `to` (solved as the usual 8×8 system). */
function homography(from: Corners, to: Corners): number[] {
  const a: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i]!;
    const [u, v] = to[i]!;
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  // Gaussian elimination with partial pivoting.
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    [b[c], b[p]] = [b[p]!, b[c]!];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = a[r]![c]! / a[c]![c]!;
      for (let k = c; k < 8; k++) a[r]![k]! -= f * a[c]![k]!;
      b[r]! -= f * b[c]!;
    }
  }
  return [...b.map((v, i) => v / a[i]![i]!), 1];
}

/** Warps an image so its corners land at `corners` (fractions), the rest filled with a dull grey. */
async function warp(image: Buffer, corners: Corners): Promise<Buffer> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const unit: Corners = [
    [0, 0],
    [1, 0],
    [1, 1],
    [0, 1],
  ];
  // Output pixel (fractions) → source pixel (fractions): the homography from the corners to the unit square.
  const h = homography(corners, unit);
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const fx = x / width;
      const fy = y / height;
      const w = h[6]! * fx + h[7]! * fy + h[8]!;
      const sx = ((h[0]! * fx + h[1]! * fy + h[2]!) / w) * width;
      const sy = ((h[3]! * fx + h[4]! * fy + h[5]!) / w) * height;
      const o = (y * width + x) * 3;
      if (sx < 0 || sy < 0 || sx >= width - 1 || sy >= height - 1) {
        out[o] = 96;
        out[o + 1] = 100;
        out[o + 2] = 104;
        continue;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const dx = sx - x0;
      const dy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => data[(yy * width + xx) * 3 + c]!;
        out[o + c] = Math.round(p(y0, x0) * (1 - dx) * (1 - dy) + p(y0, x0 + 1) * dx * (1 - dy) + p(y0 + 1, x0) * (1 - dx) * dy + p(y0 + 1, x0 + 1) * dx * dy);
      }
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** The thing placed in a 1280×960 scene and photographed as `look` says. */
async function photograph(subject: Buffer, look: Look, seed: number): Promise<Buffer> {
  const scene = await renderNoTextPhoto(1280, 960);
  const meta = await sharp(subject).metadata();
  const scale = Math.min(1, 900 / meta.width!, 640 / meta.height!);
  const placed = await sharp(subject).resize(Math.round(meta.width! * scale)).png().toBuffer();
  const size = await sharp(placed).metadata();
  let img = await sharp(scene)
    .composite([{ input: placed, left: Math.round((1280 - size.width!) / 2), top: Math.round((960 - size.height!) / 2) }])
    .png()
    .toBuffer();
  if (look.perspective) img = await warp(img, look.perspective);
  if (look.rotate) img = await sharp(img).rotate(look.rotate, { background: '#60646a' }).resize(1280, 960, { fit: 'cover' }).png().toBuffer();
  if (look.glare) {
    const g = look.glare;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="960"><defs><radialGradient id="r"><stop offset="0" stop-color="#fff" stop-opacity="${g.strength}"/><stop offset="1" stop-color="#fff" stop-opacity="0"/></radialGradient></defs><ellipse cx="${g.x * 1280}" cy="${g.y * 960}" rx="260" ry="160" fill="url(#r)"/></svg>`;
    img = await sharp(img).composite([{ input: Buffer.from(svg), blend: 'screen' }]).png().toBuffer();
  }
  if (look.noise) {
    const { data, info } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const next = random(seed);
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, data[i]! + (next() - 0.5) * 2 * look.noise));
    img = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
  }
  let s = sharp(img);
  if (look.blur) s = s.blur(look.blur);
  if (look.brightness) s = s.modulate({ brightness: look.brightness });
  return s.jpeg({ quality: look.jpeg }).toBuffer();
}

/** A white part-number sticker with black text, as PNG. */
async function renderLabel(lines: readonly string[]): Promise<Buffer> {
  const width = 700;
  const height = 90 + lines.length * 70;
  const text = lines.map((l, i) => `<text x="36" y="${80 + i * 70}" font-family="DejaVu Sans, sans-serif" font-size="48" fill="#111">${l.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fbfbf7" rx="10"/>${text}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function renderCode(bcid: string, text: string, includetext: boolean): Promise<Buffer> {
  const options = { bcid, text, scale: bcid === 'qrcode' ? 6 : 4, paddingwidth: 24, paddingheight: 24, backgroundcolor: 'FFFFFF', ...(bcid === 'qrcode' ? {} : { height: 18 }), ...(includetext ? { includetext: true, textsize: 13 } : {}) };
  return sharp(await bwipjs.toBuffer(options)).png().toBuffer();
}

interface SetLine {
  id: string;
  file: string;
  kind: 'plate' | 'label' | 'qr' | 'barcode' | 'scan';
  /** Image items: what is written on it (lines); null when only a code is to be read. */
  text?: string | null;
  /** Document items: each page's text. */
  pages?: string[];
  identifiers: string[];
  codes?: { format: string; value: string }[];
  ci?: boolean;
  note: string;
}

const PLATES: { id: string; lines: string[]; look: Look; ci?: boolean; note: string }[] = [
  { id: 'plate-01', lines: ['MODEL XV-300', 'PART PK-3310', '230V 50Hz'], look: { perspective: [[0.05, 0.08], [0.92, 0.02], [0.97, 0.95], [0.02, 0.88]], jpeg: 60 }, ci: true, note: 'mild perspective, JPEG 60' },
  { id: 'plate-02', lines: ['TYPE P-200 PUMP', 'SERIAL 55-1234-A', 'IP55 4.0 kW'], look: { glare: { x: 0.45, y: 0.45, strength: 0.75 }, blur: 1.2, jpeg: 70 }, note: 'glare across the text, blur' },
  { id: 'plate-03', lines: ['VALVE BV-50', 'PN16 DN50', 'DOC SOP-12'], look: { brightness: 0.45, jpeg: 40 }, ci: true, note: 'dim light, JPEG 40' },
  { id: 'plate-04', lines: ['MOTOR M-7', 'KIT 1200-45', '1450 RPM'], look: { perspective: [[0.12, 0.0], [0.88, 0.12], [0.9, 0.86], [0.1, 1.0]], jpeg: 65 }, note: 'strong perspective (plate turned away)' },
  { id: 'plate-05', lines: ['COMPRESSOR AC-50', 'LOT 7781-C', 'MAX 10 BAR'], look: { blur: 1.8, noise: 18, jpeg: 55 }, note: 'heavy blur and sensor noise' },
  { id: 'plate-06', lines: ['GAUGE PG-63', 'RANGE 0-16 BAR', 'REF HF-210'], look: { glare: { x: 0.6, y: 0.4, strength: 0.6 }, perspective: [[0.03, 0.0], [1.0, 0.06], [0.95, 1.0], [0.0, 0.93]], jpeg: 60 }, ci: true, note: 'glare and perspective' },
];
const LABELS: { id: string; lines: string[]; look: Look; ci?: boolean; note: string }[] = [
  { id: 'label-01', lines: ['PART NO. PK-3310', 'GASKET KIT', 'QTY 25'], look: { rotate: 8, jpeg: 55 }, ci: true, note: 'sticker on a bag, rotated 8°, JPEG 55' },
  { id: 'label-02', lines: ['FILTER FE-310', 'LOT 2291-B'], look: { perspective: [[0.0, 0.1], [0.95, 0.0], [1.0, 0.9], [0.08, 1.0]], blur: 1.0, jpeg: 60 }, note: 'perspective and blur' },
  { id: 'label-03', lines: ['HOSE HF-12', 'BATCH 0458-77'], look: { brightness: 0.55, glare: { x: 0.35, y: 0.5, strength: 0.55 }, jpeg: 50 }, note: 'dim, with a reflection' },
];
const CODES: { id: string; bcid: string; value: string; format: string; text: string | null; look: Look; kind: 'qr' | 'barcode'; ci?: boolean; note: string }[] = [
  { id: 'qr-01', bcid: 'qrcode', value: 'ASSET-77 PUMP STATION 3', format: 'QR_CODE', text: null, kind: 'qr', look: { perspective: [[0.08, 0.04], [0.94, 0.1], [0.9, 0.96], [0.04, 0.9]], jpeg: 60 }, ci: true, note: 'QR asset tag in perspective' },
  { id: 'qr-02', bcid: 'qrcode', value: 'https://example.com/parts/SL-118', format: 'QR_CODE', text: null, kind: 'qr', look: { blur: 0.8, jpeg: 45 }, note: 'QR with a URL, JPEG 45' },
  { id: 'bar-01', bcid: 'code128', value: 'SOP-12', format: 'CODE_128', text: 'SOP-12', kind: 'barcode', look: { rotate: 3, jpeg: 60 }, ci: true, note: 'CODE_128 with its text line, rotated 3°' },
  { id: 'bar-02', bcid: 'ean13', value: '4006381333931', format: 'EAN_13', text: null, kind: 'barcode', look: { brightness: 0.7, jpeg: 60 }, note: 'EAN-13, dim' },
  { id: 'bar-03', bcid: 'code39', value: 'OR-2290', format: 'CODE_39', text: null, kind: 'barcode', look: { glare: { x: 0.5, y: 0.5, strength: 0.5 }, jpeg: 60 }, note: 'CODE_39 under glare' },
];
const SCAN_PAGES = [
  [
    'SECTION 4  REPLACING THE MECHANICAL SEAL',
    'Isolate the pump and drain the casing before you start.',
    'Remove the four gland bolts and withdraw the seal kit 4471-B.',
    'Fit the new O-ring (part OR-2290) and torque the bolts to 25 Nm.',
    'Check the shaft sleeve for scoring; replace it if worn (SL-118).',
  ],
  ['SECTION 5  BEARINGS', 'Grease the bearing housing BH-552 every 500 hours.', 'Use lithium grease to spec LG-2; do not overfill.'],
];

await mkdir(path.join(DIR, 'images'), { recursive: true });
await mkdir(path.join(DIR, 'docs'), { recursive: true });
const lines: SetLine[] = [];
let seed = 1;
for (const p of PLATES) {
  const file = `images/${p.id}.jpg`;
  await writeFile(path.join(DIR, file), await photograph(await renderPlate(p.lines, { width: 760, fontSize: 52 }), p.look, seed++));
  lines.push({ id: p.id, file, kind: 'plate', text: p.lines.join('\n'), identifiers: extractIdentifiers(p.lines.join('\n')), ...(p.ci ? { ci: true } : {}), note: p.note });
}
for (const l of LABELS) {
  const file = `images/${l.id}.jpg`;
  await writeFile(path.join(DIR, file), await photograph(await renderLabel(l.lines), l.look, seed++));
  lines.push({ id: l.id, file, kind: 'label', text: l.lines.join('\n'), identifiers: extractIdentifiers(l.lines.join('\n')), ...(l.ci ? { ci: true } : {}), note: l.note });
}
for (const c of CODES) {
  const file = `images/${c.id}.jpg`;
  await writeFile(path.join(DIR, file), await photograph(await renderCode(c.bcid, c.value, c.text !== null), c.look, seed++));
  lines.push({ id: c.id, file, kind: c.kind, text: c.text, identifiers: extractIdentifiers(c.value), codes: [{ format: c.format, value: c.value }], ...(c.ci ? { ci: true } : {}), note: c.note });
}
const scanFile = 'docs/scanned-manual.pdf';
await writeFile(path.join(DIR, scanFile), await scannedPdf(SCAN_PAGES));
lines.push({
  id: 'scan-01',
  file: scanFile,
  kind: 'scan',
  pages: SCAN_PAGES.map((p) => p.join('\n')),
  identifiers: extractIdentifiers(SCAN_PAGES.flat().join('\n')),
  ci: true,
  note: 'two scanned pages (JPEG in a PDF, no text layer), skewed 0.8°',
});
await writeFile(path.join(DIR, 'set.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
process.stdout.write(`wrote ${lines.length} items to ${DIR}\n`);
