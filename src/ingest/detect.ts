/**
 * What is this upload? Decided from the bytes (magic numbers and content), never from the file
 * name: a name is whatever the client says. The name hint is used for two things only: to choose
 * between Markdown and plain text (both are just UTF-8 text), and to word an error better
 * ("a ZIP archive, not a PDF" when a .docx was renamed .pdf).
 *
 * Refused with an AppError that says what the file actually is: empty files, archives and Office
 * files, executables and scripts, SVG and other image formats the image pipeline does not take,
 * binary data, and text that is not UTF-8.
 */
import type { DetectedType, ImageFormat } from './extracted.js';
import { EmptyFileError, InvalidDocumentError, UnsupportedFileError } from './errors.js';

const ACCEPTED_IMAGES = 'JPEG, PNG, WebP, GIF, TIFF, AVIF or HEIF';
const ACCEPTED_DOCUMENTS = 'PDF, Markdown, HTML or plain UTF-8 text';

/** Bytes of the file searched for signatures that are not at offset 0 (PDF header, ZIP entries). */
const HEAD = 1024;
/** Text is sampled (not scanned whole) for control characters. */
const TEXT_SAMPLE = 64 * 1024;

export function detectFileType(bytes: Uint8Array, filenameHint?: string): DetectedType {
  if (bytes.length === 0) throw new EmptyFileError();
  const ext = extensionOf(filenameHint);

  const binary = detectBinary(bytes, ext);
  if (binary) return binary;

  const text = decodeUtf8(bytes);
  return detectTextKind(text, ext);
}

/**
 * Decodes UTF-8 text (dropping a byte-order mark). Refuses NULs, UTF-16/32 and invalid UTF-8
 * with INVALID_ENCODING, and binary data with UNSUPPORTED_MEDIA_TYPE.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new EmptyFileError();
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff]) || startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) {
    throw new InvalidDocumentError('The text file is encoded as UTF-16 or UTF-32. Save it as UTF-8 and upload it again.', {
      code: 'INVALID_ENCODING',
      details: { encoding: 'utf-16/32' },
    });
  }
  const body = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? bytes.subarray(3) : bytes;
  const nul = body.indexOf(0);
  if (nul !== -1) {
    throw new UnsupportedFileError(`The file contains binary data (a NUL byte at offset ${nul}); it is not a ${ACCEPTED_DOCUMENTS} document.`, {
      details: { detected: 'binary' },
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    const controls = countControlBytes(body.subarray(0, Math.min(body.length, TEXT_SAMPLE)));
    // Text in a legacy encoding (Latin-1, Windows-125x) has high bytes but no control characters.
    if (looksBinary(controls, Math.min(body.length, TEXT_SAMPLE))) {
      throw new UnsupportedFileError(`The file is binary data, not a ${ACCEPTED_DOCUMENTS} document.`, { details: { detected: 'binary' } });
    }
    const offset = firstInvalidUtf8(body);
    throw new InvalidDocumentError(
      `The text is not valid UTF-8 (first invalid byte at offset ${offset}; perhaps it is Latin-1 or Windows-1252). Save it as UTF-8 and upload it again.`,
      { code: 'INVALID_ENCODING', details: { encoding: 'not-utf-8', offset } },
    );
  }
  const sample = text.length > TEXT_SAMPLE ? text.slice(0, TEXT_SAMPLE) : text;
  if (looksBinary(countControls(sample), sample.length)) {
    throw new UnsupportedFileError(`The file is binary data (many control characters), not a ${ACCEPTED_DOCUMENTS} document.`, {
      details: { detected: 'binary' },
    });
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Binary formats

function detectBinary(bytes: Uint8Array, ext: string | null): DetectedType | null {
  if (isPdf(bytes)) return { kind: 'pdf' };

  const image = detectImage(bytes);
  if (image) return image;

  const refusal = recogniseRefused(bytes, ext);
  if (refusal) throw refusal;
  return null;
}

/**
 * `%PDF-` at the start; or, as readers tolerate, after some junk within the first 1 KB when the
 * file also ends like a PDF (so a text file that merely mentions "%PDF-1.7" stays text).
 */
function isPdf(bytes: Uint8Array): boolean {
  if (asciiAt(bytes, 0, '%PDF-')) return true;
  const at = indexOfAscii(bytes, '%PDF-', HEAD);
  if (at === -1 || !/^%PDF-\d\.\d/.test(latin1(bytes, at, at + 8))) return false;
  return indexOfAscii(bytes.subarray(Math.max(0, bytes.length - HEAD)), '%%EOF', HEAD) !== -1;
}

function detectImage(bytes: Uint8Array): DetectedType | null {
  const image = (format: ImageFormat): DetectedType => ({ kind: 'image', format });
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return image('jpeg');
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image('png');
  if (asciiAt(bytes, 0, 'GIF87a') || asciiAt(bytes, 0, 'GIF89a')) return image('gif');
  if (asciiAt(bytes, 0, 'RIFF') && asciiAt(bytes, 8, 'WEBP')) return image('webp');
  // Little- and big-endian TIFF, and BigTIFF.
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return image('tiff');
  if (startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])) return image('tiff');
  const brands = isoBmffBrands(bytes);
  if (brands) {
    if (brands.some((b) => b === 'avif' || b === 'avis')) return image('avif');
    if (brands.some((b) => HEIF_BRANDS.has(b))) return image('heif');
  }
  return null;
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);

/** Major and compatible brands of an ISO base media file (`ftyp` box first), or null. */
function isoBmffBrands(bytes: Uint8Array): string[] | null {
  if (bytes.length < 16 || !asciiAt(bytes, 4, 'ftyp')) return null;
  const size = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const end = Math.min(bytes.length, size >= 16 ? size : 16, 256);
  const brands = [latin1(bytes, 8, 12)];
  for (let i = 16; i + 4 <= end; i += 4) brands.push(latin1(bytes, i, i + 4));
  return brands;
}

interface Signature {
  test: (bytes: Uint8Array) => boolean;
  /** A signature of printable ASCII that a text file could start with: only trusted on binary-looking data. */
  binaryOnly?: boolean;
  /** What the file is, for the message. */
  what: string;
  detected: string;
  advice?: string;
}

const EXPORT_PDF = 'Export or print it as PDF and upload that.';

const SIGNATURES: Signature[] = [
  // Executables and programs.
  { test: (b) => startsWith(b, [0x7f, 0x45, 0x4c, 0x46]), what: 'a Linux executable (ELF)', detected: 'executable' },
  { test: (b) => asciiAt(b, 0, 'MZ'), what: 'a Windows executable or DLL', detected: 'executable', binaryOnly: true },
  {
    test: (b) => [[0xfe, 0xed, 0xfa, 0xce], [0xfe, 0xed, 0xfa, 0xcf], [0xce, 0xfa, 0xed, 0xfe], [0xcf, 0xfa, 0xed, 0xfe]].some((s) => startsWith(b, s)),
    what: 'a macOS executable (Mach-O)',
    detected: 'executable',
  },
  { test: (b) => startsWith(b, [0xca, 0xfe, 0xba, 0xbe]), what: 'a Java class file or macOS executable', detected: 'executable' },
  { test: (b) => startsWith(b, [0x00, 0x61, 0x73, 0x6d]), what: 'a WebAssembly module', detected: 'executable' },
  { test: (b) => asciiAt(b, 0, '#!/') || asciiAt(b, 0, '#! /'), what: 'an executable script', detected: 'executable' },
  // Archives and containers.
  { test: (b) => startsWith(b, [0x1f, 0x8b]), what: 'a gzip archive', detected: 'archive' },
  { test: (b) => asciiAt(b, 0, 'BZh'), what: 'a bzip2 archive', detected: 'archive', binaryOnly: true },
  { test: (b) => startsWith(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), what: 'an xz archive', detected: 'archive' },
  { test: (b) => startsWith(b, [0x28, 0xb5, 0x2f, 0xfd]), what: 'a zstd archive', detected: 'archive' },
  { test: (b) => startsWith(b, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]), what: 'a 7-Zip archive', detected: 'archive' },
  { test: (b) => asciiAt(b, 0, 'Rar!'), what: 'a RAR archive', detected: 'archive' },
  { test: (b) => asciiAt(b, 257, 'ustar'), what: 'a tar archive', detected: 'archive' },
  {
    test: (b) => startsWith(b, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
    what: 'a legacy Microsoft Office file (.doc, .xls, .ppt or .msg)',
    detected: 'office',
    advice: EXPORT_PDF,
  },
  { test: (b) => asciiAt(b, 0, '{\\rtf'), what: 'an RTF document', detected: 'office', advice: EXPORT_PDF },
  { test: (b) => asciiAt(b, 0, '%!PS'), what: 'a PostScript file', detected: 'postscript', advice: 'Convert it to PDF and upload that.' },
  { test: (b) => asciiAt(b, 0, 'SQLite format 3\0'), what: 'an SQLite database', detected: 'binary' },
  // Images the image pipeline does not take.
  { test: (b) => asciiAt(b, 0, 'BM'), what: 'a BMP image', detected: 'image', binaryOnly: true },
  { test: (b) => asciiAt(b, 0, '8BPS'), what: 'a Photoshop (PSD) image', detected: 'image', binaryOnly: true },
  { test: (b) => startsWith(b, [0x00, 0x00, 0x01, 0x00]), what: 'an icon (ICO) image', detected: 'image' },
  {
    test: (b) => startsWith(b, [0xff, 0x0a]) || (asciiAt(b, 4, 'JXL ') && startsWith(b, [0, 0, 0, 0x0c])),
    what: 'a JPEG XL image',
    detected: 'image',
  },
  { test: (b) => startsWith(b, [0, 0, 0, 0x0c]) && asciiAt(b, 4, 'jP  '), what: 'a JPEG 2000 image', detected: 'image' },
  // Media.
  { test: (b) => isoBmffBrands(b) !== null, what: 'a video or audio file (MP4/QuickTime)', detected: 'media' },
  { test: (b) => asciiAt(b, 0, 'RIFF'), what: 'a RIFF media file (WAV/AVI)', detected: 'media', binaryOnly: true },
  { test: (b) => asciiAt(b, 0, 'OggS') || asciiAt(b, 0, 'fLaC') || asciiAt(b, 0, 'ID3'), what: 'an audio file', detected: 'media', binaryOnly: true },
  { test: (b) => startsWith(b, [0x1a, 0x45, 0xdf, 0xa3]), what: 'a Matroska/WebM video', detected: 'media' },
];

function recogniseRefused(bytes: Uint8Array, ext: string | null): UnsupportedFileError | null {
  const zip = zipKind(bytes);
  if (zip) {
    const advice = zip.office ? EXPORT_PDF : `Upload the ${ACCEPTED_DOCUMENTS} files it contains one by one.`;
    const message =
      ext === 'pdf'
        ? `The file is named .pdf but is a ZIP archive, not a PDF${zip.kind === 'a ZIP archive' ? '' : ` (it looks like ${zip.kind})`}. ${advice}`
        : `The file is ${zip.kind}${zip.kind === 'a ZIP archive' ? '' : ' (a ZIP archive)'}, which is not supported; send ${ACCEPTED_DOCUMENTS} or an image. ${advice}`;
    return new UnsupportedFileError(message, { details: { detected: zip.office ? 'office' : 'archive' } });
  }
  for (const sig of SIGNATURES) {
    if (!sig.test(bytes) || (sig.binaryOnly && !binaryHead(bytes))) continue;
    const notPdf = ext === 'pdf' ? ', not a PDF' : '';
    const accepted = sig.detected === 'image' ? `send ${ACCEPTED_IMAGES} photos` : `send ${ACCEPTED_DOCUMENTS} documents or ${ACCEPTED_IMAGES} images`;
    return new UnsupportedFileError(`The file is ${sig.what}${notPdf}, which is not supported; ${accepted}.${sig.advice ? ` ${sig.advice}` : ''}`, {
      details: { detected: sig.detected },
    });
  }
  return null;
}

/** ZIP and the formats built on it, recognised by the names of their first entries. */
function zipKind(bytes: Uint8Array): { kind: string; office: boolean } | null {
  const isZip = [[0x50, 0x4b, 0x03, 0x04], [0x50, 0x4b, 0x05, 0x06], [0x50, 0x4b, 0x07, 0x08]].some((s) => startsWith(bytes, s));
  if (!isZip) return null;
  // Entry names are stored uncompressed in the local headers and the central directory.
  const window = Math.min(bytes.length, 64 * 1024);
  const has = (name: string) => indexOfAscii(bytes, name, window) !== -1 || indexOfAscii(bytes.subarray(Math.max(0, bytes.length - window)), name, window) !== -1;
  if (has('word/')) return { kind: 'a Word document (.docx)', office: true };
  if (has('xl/')) return { kind: 'an Excel workbook (.xlsx)', office: true };
  if (has('ppt/')) return { kind: 'a PowerPoint presentation (.pptx)', office: true };
  if (has('application/vnd.oasis.opendocument')) return { kind: 'an OpenDocument file (.odt/.ods/.odp)', office: true };
  if (has('application/epub+zip')) return { kind: 'an EPUB e-book', office: true };
  if (has('META-INF/MANIFEST.MF') || has('AndroidManifest.xml')) return { kind: 'a Java or Android archive', office: false };
  return { kind: 'a ZIP archive', office: false };
}

// ---------------------------------------------------------------------------------------------
// Text formats

const MARKDOWN_EXTENSIONS = new Set(['md', 'markdown', 'mdown', 'mkd', 'mkdn', 'mdwn', 'mdx']);
const TEXT_EXTENSIONS = new Set(['txt', 'text', 'log']);

/** Tags that start an HTML document outright (WHATWG MIME sniffing, plus `<html>`/`<head>`/`<body>`). */
const STRONG_HTML = /^<(?:!doctype\s+html|html|head|body)[\s>/]/i;
/** Tags that usually start an HTML fragment; Markdown may also start with one (e.g. `<div align=…>`). */
const WEAK_HTML = /^<(?:script|iframe|h[1-6]|div|font|table|a|style|title|b|br|p|meta|link|section|article|header|nav|main|ul|ol|pre|center|form|span|img)[\s>/]/i;
/** An ATX heading, a setext underline, or a fenced code block: Markdown structure. */
const MARKDOWN_STRUCTURE = /^ {0,3}(?:#{1,6}[ \t]+\S|(?:```|~~~)|[=]{3,}[ \t]*$)/m;

function detectTextKind(text: string, ext: string | null): DetectedType {
  const head = skipLeadingComments(text.slice(0, 4096));
  const lower = head.toLowerCase();

  if (lower.startsWith('<svg') || /^<!doctype\s+svg/.test(lower) || (lower.startsWith('<?xml') && firstElement(lower) === 'svg')) {
    throw new UnsupportedFileError(`The file is an SVG image, which is not accepted; send ${ACCEPTED_IMAGES}.`, { details: { detected: 'svg' } });
  }
  const markdownish = MARKDOWN_STRUCTURE.test(text.slice(0, TEXT_SAMPLE));
  if (STRONG_HTML.test(head)) return { kind: 'html' };
  // A page saved with some junk before its doctype (but not a Markdown note that mentions <html>).
  if (!markdownish && /<!doctype\s+html|<html[\s>]/i.test(text.slice(0, 1024))) return { kind: 'html' };
  if (lower.startsWith('<?xml')) {
    if (firstElement(lower) === 'html') return { kind: 'html' };
    throw new UnsupportedFileError(`The file is an XML document, which is not supported; send ${ACCEPTED_DOCUMENTS}.`, { details: { detected: 'xml' } });
  }
  if (WEAK_HTML.test(head) && !markdownish) return { kind: 'html' };

  if (ext && MARKDOWN_EXTENSIONS.has(ext)) return { kind: 'markdown' };
  if (ext && TEXT_EXTENSIONS.has(ext)) return { kind: 'text' };
  return markdownish ? { kind: 'markdown' } : { kind: 'text' };
}

/** Drops leading whitespace and `<!-- … -->` comments (and a BOM that survived decoding). */
function skipLeadingComments(text: string): string {
  let rest = text.replace(/^\uFEFF/, '').trimStart();
  while (rest.startsWith('<!--')) {
    const end = rest.indexOf('-->');
    if (end === -1) return '';
    rest = rest.slice(end + 3).trimStart();
  }
  return rest;
}

/** The name of the first element after an XML declaration, doctype, comments and processing instructions. */
function firstElement(lowerXml: string): string | null {
  const re = /<(!--[\s\S]*?-->|![^>]*>|\?[\s\S]*?\?>|([a-z][\w:.-]*))/g;
  for (let m = re.exec(lowerXml); m; m = re.exec(lowerXml)) {
    if (m[2]) return m[2].includes(':') ? (m[2].split(':').pop() ?? null) : m[2];
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function extensionOf(name: string | undefined): string | null {
  if (!name) return null;
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : null;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function asciiAt(bytes: Uint8Array, offset: number, s: string): boolean {
  if (bytes.length < offset + s.length) return false;
  for (let i = 0; i < s.length; i++) if (bytes[offset + i] !== s.charCodeAt(i)) return false;
  return true;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Offset of an ASCII string within the first `limit` bytes, or -1. */
function indexOfAscii(bytes: Uint8Array, s: string, limit: number): number {
  const end = Math.min(bytes.length, limit) - s.length;
  const first = s.charCodeAt(0);
  for (let i = 0; i <= end; i++) {
    if (bytes[i] === first && asciiAt(bytes, i, s)) return i;
  }
  return -1;
}

/** A NUL or an ill-formed UTF-8 sequence in the first kilobyte. */
function binaryHead(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, Math.min(bytes.length, HEAD));
  if (head.indexOf(0) !== -1) return true;
  // Ignore a multi-byte character cut at the end of the window.
  const whole = head.length < bytes.length ? head.subarray(0, Math.max(0, head.length - 3)) : head;
  return firstInvalidUtf8(whole) !== -1;
}

/** C0 controls other than tab, LF, VT, FF, CR and ESC (ANSI colours in logs), plus DEL. */
function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0b && code !== 0x0c && code !== 0x0d && code !== 0x1b) || code === 0x7f;
}

function countControls(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (isControl(text.charCodeAt(i))) n++;
  return n;
}

/** More than 2% control characters: binary data, not text (in whatever encoding). */
function looksBinary(odd: number, total: number): boolean {
  return total > 0 && odd / total > 0.02;
}

/** Control characters among the bytes (for telling binary data from mis-encoded text). */
function countControlBytes(bytes: Uint8Array): number {
  let controls = 0;
  for (const b of bytes) if (isControl(b)) controls++;
  return controls;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) return i;
    i += len;
  }
  return -1;
}

/** Length of the well-formed UTF-8 sequence at i (Unicode Table 3-7), or 0 if ill-formed. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
