import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, detectFileType } from '../../src/ingest/detect.js';
import { refusal } from '../helpers/errors.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (string | number[] | Uint8Array)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

/** A real (stored, uncompressed) ZIP archive with the given entries. */
function zip(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = Buffer.from(content);
    const fileName = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const DOCX = zip({
  '[Content_Types].xml': '<?xml version="1.0"?><Types/>',
  'word/document.xml': '<?xml version="1.0"?><w:document>P-200 seal</w:document>',
});

/** Deterministic pseudo-random bytes. */
function junk(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('detectFileType: PDFs and images by signature', () => {
  it('recognises a PDF by its header, whatever the name says', () => {
    const pdf = utf8('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n');
    expect(detectFileType(pdf)).toEqual({ kind: 'pdf' });
    expect(detectFileType(pdf, 'notes.md')).toEqual({ kind: 'pdf' });
    expect(detectFileType(pdf, 'photo.jpg')).toEqual({ kind: 'pdf' });
  });

  it('accepts a PDF header after some leading junk when the file ends like a PDF', () => {
    expect(detectFileType(bytes([0, 0, 0, 0], 'junk\n%PDF-1.4\n...\n%%EOF\n'))).toEqual({ kind: 'pdf' });
  });

  it('keeps a text file that merely mentions %PDF- as text', () => {
    expect(detectFileType(utf8('Every PDF starts with "%PDF-1.7" followed by objects.\n'))).toEqual({ kind: 'text' });
  });

  it('recognises JPEG, PNG, WebP, GIF, TIFF and AVIF made by sharp', async () => {
    const base = sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } });
    const cases = [
      ['jpeg', await base.clone().jpeg().toBuffer()],
      ['png', await base.clone().png().toBuffer()],
      ['webp', await base.clone().webp().toBuffer()],
      ['gif', await base.clone().gif().toBuffer()],
      ['tiff', await base.clone().tiff().toBuffer()],
      ['avif', await base.clone().avif().toBuffer()],
    ] as const;
    for (const [format, data] of cases) expect(detectFileType(data, 'upload.bin')).toEqual({ kind: 'image', format });
  });

  it('recognises HEIF/HEIC by its ftyp brand, and big-endian TIFF', () => {
    const heic = bytes([0, 0, 0, 24], 'ftypheic', [0, 0, 0, 0], 'mif1heic', [0, 0, 0, 0]);
    expect(detectFileType(heic)).toEqual({ kind: 'image', format: 'heif' });
    const avifViaMif1 = bytes([0, 0, 0, 28], 'ftypmif1', [0, 0, 0, 0], 'mif1avifmiaf', [0, 0, 0, 0]);
    expect(detectFileType(avifViaMif1)).toEqual({ kind: 'image', format: 'avif' });
    expect(detectFileType(bytes('MM', [0, 42, 0, 0, 0, 8]))).toEqual({ kind: 'image', format: 'tiff' });
  });
});

describe('detectFileType: text formats', () => {
  it('recognises HTML by content, not by name', () => {
    expect(detectFileType(utf8('<!DOCTYPE html><html><body><p>x</p></body></html>'), 'manual.txt')).toEqual({ kind: 'html' });
    expect(detectFileType(utf8('\uFEFF  <!-- saved page -->\n<html lang="en"><head><title>x</title></head></html>'), 'manual.md')).toEqual({ kind: 'html' });
    expect(detectFileType(utf8('<h1>P-200</h1>\n<p>Seal kit 4471-B</p>'))).toEqual({ kind: 'html' });
    expect(detectFileType(utf8('<?xml version="1.0"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>'))).toEqual({ kind: 'html' });
  });

  it('treats a Markdown file that starts with an HTML block as Markdown', () => {
    const readme = '<div align="center"><img src="logo.png"></div>\n\n# P-200 notes\n\nSeal kit 4471-B.\n';
    expect(detectFileType(utf8(readme), 'README.md')).toEqual({ kind: 'markdown' });
    expect(detectFileType(utf8(readme))).toEqual({ kind: 'markdown' });
    expect(detectFileType(utf8('# Web notes\n\nStart every page with `<!DOCTYPE html>` and `<html lang>`.\n'))).toEqual({ kind: 'markdown' });
    expect(detectFileType(utf8('Saved from https://example.com\n<!DOCTYPE html><html><body>x</body></html>'))).toEqual({ kind: 'html' });
  });

  it('lets the name choose only between Markdown and plain text', () => {
    const md = utf8('# Pump P-200\n\n## Seal\n\nUse kit 4471-B.\n');
    expect(detectFileType(md)).toEqual({ kind: 'markdown' });
    expect(detectFileType(md, 'notes.md')).toEqual({ kind: 'markdown' });
    expect(detectFileType(md, 'notes.txt')).toEqual({ kind: 'text' });
    const plain = utf8('Torque the casing bolts to 45 N·m.\n\nCheck for leaks.\n');
    expect(detectFileType(plain)).toEqual({ kind: 'text' });
    expect(detectFileType(plain, 'C:\\docs\\notes.MARKDOWN')).toEqual({ kind: 'markdown' });
    expect(detectFileType(plain, 'notes.txt')).toEqual({ kind: 'text' });
    // A name never makes text out of a PDF or an image, or a PDF out of text.
    expect(detectFileType(plain, 'manual.pdf')).toEqual({ kind: 'text' });
  });

  it('accepts UTF-8 with a byte-order mark, non-Latin scripts and ANSI colour codes in logs', () => {
    expect(detectFileType(bytes([0xef, 0xbb, 0xbf], Buffer.from('Température 120 °C\n')))).toEqual({ kind: 'text' });
    expect(detectFileType(utf8('ポンプ P-200 のメカニカルシール交換手順\n'))).toEqual({ kind: 'text' });
    expect(detectFileType(utf8('\x1b[31mALARM\x1b[0m pump P-200 stopped\n'))).toEqual({ kind: 'text' });
  });

  it('does not mistake text that starts like a binary signature for a binary', () => {
    expect(detectFileType(utf8('MZ-10 mixing valve: operating notes\n'))).toEqual({ kind: 'text' });
    expect(detectFileType(utf8('BM-4 bearing monitor readings\n'))).toEqual({ kind: 'text' });
    expect(detectFileType(utf8('ID3 sensor calibration\n'))).toEqual({ kind: 'text' });
  });
});

describe('detectFileType: refusals', () => {
  it('refuses an empty file', () => {
    const e = refusal(() => detectFileType(new Uint8Array(0), 'manual.pdf'));
    expect(e.code).toBe('EMPTY_FILE');
  });

  it('says "a ZIP archive, not a PDF" for a .docx renamed .pdf', () => {
    const e = refusal(() => detectFileType(DOCX, 'P-200 manual.pdf'));
    expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(e.message).toContain('a ZIP archive, not a PDF');
    expect(e.message).toContain('Word document');
    expect(e.details).toEqual({ detected: 'office' });
  });

  it('names Office files and plain ZIP archives', () => {
    expect(refusal(() => detectFileType(DOCX, 'manual.docx')).message).toMatch(/Word document \(\.docx\).*Export or print it as PDF/);
    const xlsx = zip({ '[Content_Types].xml': '<Types/>', 'xl/workbook.xml': '<workbook/>' });
    expect(refusal(() => detectFileType(xlsx, 'parts.xlsx')).message).toContain('Excel workbook');
    const plain = zip({ 'a.txt': 'hello' });
    const e = refusal(() => detectFileType(plain, 'docs.zip'));
    expect(e.message).toContain('a ZIP archive');
    expect(e.details).toEqual({ detected: 'archive' });
    expect(refusal(() => detectFileType(plain, 'docs.pdf')).message).toContain('a ZIP archive, not a PDF');
  });

  it('refuses executables and scripts', () => {
    const cases: [Uint8Array, string][] = [
      [bytes([0x7f], 'ELF', [2, 1, 1, 0, 0, 0, 0, 0]), 'Linux executable'],
      [bytes('MZ', [0x90, 0, 3, 0, 0, 0, 4, 0]), 'Windows executable'],
      [bytes([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]), 'macOS executable'],
      [bytes([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), 'WebAssembly'],
      [utf8('#!/bin/sh\nrm -rf /tmp/x\n'), 'executable script'],
    ];
    for (const [data, what] of cases) {
      const e = refusal(() => detectFileType(data, 'manual.pdf'));
      expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(e.message).toContain(what);
      expect(e.details).toEqual({ detected: 'executable' });
    }
  });

  it('refuses SVG as an image, with or without an XML prolog', () => {
    for (const svg of [
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generator: editor -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg width="10" height="10"/>',
      '  <!-- icon -->  <svg viewBox="0 0 10 10"></svg>',
    ]) {
      const e = refusal(() => detectFileType(utf8(svg), 'valve.png'));
      expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(e.message).toContain('SVG');
      expect(e.details).toEqual({ detected: 'svg' });
    }
    // An HTML page with inline SVG is still HTML.
    expect(detectFileType(utf8('<!DOCTYPE html><body><svg></svg><p>x</p></body>'))).toEqual({ kind: 'html' });
  });

  it('refuses other XML, other image formats, archives and media', async () => {
    expect(refusal(() => detectFileType(utf8('<?xml version="1.0"?><parts><part no="4471-B"/></parts>'))).details).toEqual({ detected: 'xml' });
    const bmp = bytes('BM', [0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 0x28, 0, 0, 0]);
    expect(refusal(() => detectFileType(bmp, 'photo.bmp')).message).toContain('BMP image');
    const gzip = await new Promise<Buffer>((resolve, reject) => {
      import('node:zlib').then((z) => z.gzip('hello', (err, out) => (err ? reject(err) : resolve(out))), reject);
    });
    expect(refusal(() => detectFileType(gzip)).message).toContain('gzip archive');
    const mp4 = bytes([0, 0, 0, 24], 'ftypisom', [0, 0, 2, 0], 'isomiso2', [0, 0, 0, 0]);
    expect(refusal(() => detectFileType(mp4, 'site.mp4')).details).toEqual({ detected: 'media' });
    expect(refusal(() => detectFileType(bytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'old.doc')).message).toContain('legacy Microsoft Office');
  });

  it('refuses binary junk', () => {
    const e = refusal(() => detectFileType(junk(4096), 'manual.txt'));
    expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(e.details).toEqual({ detected: 'binary' });
    // NULs in otherwise readable text, and control characters without NULs.
    expect(refusal(() => detectFileType(utf8('pump\0data\0\0\0'))).details).toEqual({ detected: 'binary' });
    expect(refusal(() => detectFileType(bytes(Array.from({ length: 200 }, (_, i) => 1 + (i % 7))))).details).toEqual({ detected: 'binary' });
  });

  it('refuses text that is not UTF-8, saying where', () => {
    const latin1 = Buffer.from('Temperature de service : 120 \u00b0C, pression 16 bar\n', 'latin1');
    const e = refusal(() => detectFileType(latin1, 'notes.txt'));
    expect(e.code).toBe('INVALID_ENCODING');
    expect(e.message).toContain('not valid UTF-8');
    expect(e.details).toEqual({ encoding: 'not-utf-8', offset: latin1.indexOf(0xb0) });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('P-200 manual', 'utf16le')]);
    expect(refusal(() => detectFileType(utf16)).message).toContain('UTF-16');
    // A truncated multi-byte character at the end.
    expect(refusal(() => detectFileType(bytes('Torque 45 N', [0xc2]))).code).toBe('INVALID_ENCODING');
  });
});

describe('decodeUtf8', () => {
  it('drops the byte-order mark and keeps everything else', () => {
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], Buffer.from('# Titre\r\n°')))).toBe('# Titre\r\n°');
  });
});
