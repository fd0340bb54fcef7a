/**
 * Untrusted image bytes → the RGB pixels CLIP sees, with sharp.
 *
 * The header is read first (sharp's metadata() does not decode pixels), so a
 * decompression bomb or an SVG is refused before any memory is spent on it.
 * Decoding then mirrors the reference pipeline (PIL `convert('RGB')` → bicubic resize of the
 * shortest edge → centre crop): EXIF orientation is applied first (phone photos arrive
 * rotated), alpha is dropped rather than composited (as PIL does), greyscale is expanded,
 * CMYK goes through its ICC profile, and 16-bit samples are scaled to 8 bits. (PIL clips
 * 16-bit greyscale instead of scaling it, a known PIL bug we deliberately do not copy.)
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { InvalidImageError, TooLargeError } from '../errors.js';
import { centerCropOffset, cropRgb, resizedSize, type ImagePreprocessConfig } from './preprocess.js';

/** Formats a field photo can arrive in. SVG (scriptable, decoder CVEs) and PDF are refused. */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif']);

/**
 * How every pipeline over uploaded bytes decodes them (CLIP, perceptual hash, layout signature,
 * thumbnails, the language model's copy): a file that ends early fails, but a decoder *warning*
 * does not (sharp's default `failOn: 'warning'` refuses the many camera JPEGs with a few extraneous
 * bytes before a marker, which CLIP decoded fine: one file, two verdicts). First frame only.
 */
export const UPLOADED_IMAGE_INPUT = { failOn: 'truncated', pages: 1 } as const;

/** The error for pixels that cannot be decoded after the header was read: the file's fault, not ours. */
export function undecodableImage(cause: unknown): InvalidImageError {
  return new InvalidImageError('INVALID_IMAGE', 'The image could not be decoded (it is corrupt or truncated).', { cause });
}

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

export interface ImageInfo {
  format: string;
  /** Size after EXIF auto-orientation. */
  width: number;
  height: number;
  hasAlpha: boolean;
  /** True when EXIF asks for a rotation or flip (orientation 2–8). */
  reoriented: boolean;
}

/** Reads and checks the header only. Throws InvalidImageError / TooLargeError with stable codes. */
export async function inspectImage(bytes: Uint8Array, limits: ImageLimits): Promise<ImageInfo> {
  if (bytes.length === 0) throw new InvalidImageError('EMPTY_FILE', 'The uploaded file is empty.');
  if (bytes.length > limits.maxBytes) {
    throw new TooLargeError('PAYLOAD_TOO_LARGE', `The image is ${bytes.length} bytes; the limit is ${limits.maxBytes}.`, {
      details: { limitBytes: limits.maxBytes },
    });
  }
  // Checked before sharp: sharp names the format "svg" only when librsvg manages to parse the file,
  // so an SVG it cannot render came out as INVALID_IMAGE, and every SVG was handed to the SVG decoder
  // this refusal exists to keep untrusted bytes away from.
  if (isSvgMarkup(bytes)) {
    throw new InvalidImageError('UNSUPPORTED_MEDIA_TYPE', 'Images in svg format are not accepted; send JPEG, PNG, WebP, GIF, TIFF, AVIF or HEIF.', {
      details: { format: 'svg' },
    });
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new InvalidImageError('INVALID_IMAGE', 'The file is not a readable image (unknown format or corrupt header).', { cause });
  }
  const format = meta.format ?? 'unknown';
  if (!ACCEPTED_FORMATS.has(format)) {
    throw new InvalidImageError('UNSUPPORTED_MEDIA_TYPE', `Images in ${format} format are not accepted; send JPEG, PNG, WebP, GIF, TIFF, AVIF or HEIF.`, {
      details: { format },
    });
  }
  const { width, height } = meta;
  if (!width || !height) throw new InvalidImageError('INVALID_IMAGE', 'The image header does not declare its size.');
  if (width * height > limits.maxPixels) {
    throw new TooLargeError('IMAGE_TOO_LARGE', `The image is ${width}×${height} pixels; the limit is ${limits.maxPixels} pixels.`, {
      details: { width, height, limitPixels: limits.maxPixels },
    });
  }
  // EXIF orientations 5–8 swap the axes.
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5;
  return { format, width: swap ? height : width, height: swap ? width : height, hasAlpha: meta.hasAlpha ?? false, reoriented: orientation !== 1 };
}

const SVG_SNIFF_BYTES = 4096;

/**
 * True when the bytes are SVG markup: the first element (after a BOM, the XML declaration,
 * comments, processing instructions and a doctype) is `svg`, with or without a namespace prefix,
 * or the doctype names svg. Written by hand because file-type does not detect text formats and a
 * full XML parser is more than deciding what the first tag is; only the first 4 KB are read.
 */
export function isSvgMarkup(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || cannotStartMarkup(bytes[0]!)) return false;
  return isSvgText(new TextDecoder('utf-8').decode(bytes.subarray(0, SVG_SNIFF_BYTES))); // drops a UTF-8 BOM
}

/**
 * True when a file starting with this byte cannot be markup: it is neither `<`, nor whitespace,
 * nor the first byte of a UTF-8 character (a BOM or a non-ASCII space). Every binary image format
 * starts so (JPEG 0xFF, PNG 0x89, GIF `G`, WebP `R`, TIFF `I`/`M`, AVIF/HEIF 0x00), which spares
 * each photo the UTF-8 decoding of its first 4 KB (~0.1 ms of the main thread per embedImage).
 * Exact, not a heuristic: such a byte decodes to a character that trimStart() keeps and that is
 * not `<` (a stray continuation byte or an invalid one becomes U+FFFD).
 */
function cannotStartMarkup(first: number): boolean {
  if (first < 0x80) return !(first === 0x3c || first === 0x20 || (first >= 0x09 && first <= 0x0d));
  return first < 0xc2 || first > 0xf4;
}

/** The markup test of isSvgMarkup on decoded text (exported for the test that pins the byte shortcut to it). */
export function isSvgText(decoded: string): boolean {
  let text = decoded;
  for (;;) {
    text = text.trimStart();
    if (!text.startsWith('<')) return false;
    if (text.startsWith('<?')) text = skipPast(text, '?>');
    else if (text.startsWith('<!--')) text = skipPast(text, '-->');
    else if (/^<!doctype\s/i.test(text)) {
      if (/^<!doctype\s+(?:[\w.-]+:)?svg\b/i.test(text)) return true;
      text = skipPast(text, text.includes('[') ? ']>' : '>');
    } else return /^<(?:[\w.-]+:)?svg(?:[\s/>]|$)/i.test(text);
  }
}

function skipPast(text: string, end: string): string {
  const at = text.indexOf(end);
  return at === -1 ? '' : text.slice(at + end.length);
}

/**
 * Decodes, orients, converts to 8-bit sRGB, resizes and crops. Returns interleaved RGB bytes
 * of exactly cfg.outputWidth × cfg.outputHeight.
 *
 * Speed: a JPEG is decoded at 1/2, 1/4 or 1/8 scale in the DCT when the resize is in the same
 * sharp pipeline (shrink-on-load), which is most of the decoding cost of a photo. Two things
 * defeat it and are avoided here: an `extract()` in the pipeline of an EXIF-rotated image (sharp
 * then rotates the full-size image first: a 12 MP phone photo took 178 ms of CPU instead of 26),
 * so for such an image the centre crop is cut from the resized pixels afterwards (`cropRgb`); and an alpha channel
 * (materialised first, below; JPEGs have none). sharp's default (fastShrinkOnLoad) shrinks in the
 * DCT as far as the target allows; keeping ≥ 2× for the bicubic step instead (fastShrinkOnLoad:
 * false) brought the pixels closer to resizing from full resolution (mean |diff| 0.15 vs 0.34
 * grey levels) but left embeddings the same to 5 decimals and parity with PyTorch unchanged,
 * for 18–65% more decode CPU; see bench/README.md.
 */
export async function decodeToClipRgb(bytes: Uint8Array, cfg: ImagePreprocessConfig, limits: ImageLimits): Promise<Uint8Array> {
  const info = await inspectImage(bytes, limits);
  const input = { ...UPLOADED_IMAGE_INPUT, limitInputPixels: limits.maxPixels } as const;
  let pipeline = sharp(bytes, input).rotate().removeAlpha().toColourspace('srgb');
  if (info.hasAlpha) {
    // sharp resizes with premultiplied alpha even when removeAlpha() is called first, which
    // changes the colour of transparent and half-transparent pixels. PIL drops alpha and then
    // resizes, so materialise the RGB first and resize that.
    const rgb = await pipeline.raw().toBuffer({ resolveWithObject: true }).catch((cause: unknown) => {
      throw undecodableImage(cause);
    });
    pipeline = sharp(rgb.data, { raw: { width: rgb.info.width, height: rgb.info.height, channels: 3 }, limitInputPixels: limits.maxPixels });
  }
  let width = info.width;
  let height = info.height;
  if (cfg.resize) {
    const size = resizedSize(width, height, cfg.resize);
    pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: cfg.kernel });
    ({ width, height } = size);
  }
  if (cfg.crop && (width < cfg.crop.width || height < cfg.crop.height)) {
    throw new InvalidImageError('INVALID_IMAGE', `The image is ${width}×${height} pixels, smaller than the model's ${cfg.crop.width}×${cfg.crop.height} input.`);
  }
  // Without an EXIF rotation or flip, sharp cuts the centre crop itself after the resize: the same
  // pixels (all 80 bench JPEGs byte-identical), no crop copy on the main thread and a 150 KB
  // instead of a ~200 KB output (~0.1 ms less CPU per photo). With one, extract() would cost
  // shrink-on-load (above), so the crop is cut from the resized pixels here.
  const crop = cfg.crop ? { ...centerCropOffset(width, height, cfg.crop), ...cfg.crop } : null;
  const cropInPipeline = crop !== null && !info.reoriented;
  if (cropInPipeline) pipeline = pipeline.extract(crop);
  const expected = cropInPipeline ? crop : { width, height };
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw undecodableImage(cause);
  }
  if (out.info.channels !== 3 || out.info.width !== expected.width || out.info.height !== expected.height) {
    throw new InvalidImageError('INVALID_IMAGE', `Decoding produced ${out.info.width}×${out.info.height}×${out.info.channels}, not the expected ${expected.width}×${expected.height} RGB.`);
  }
  const rgb = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  return crop && !cropInPipeline ? cropRgb(rgb, width, height, crop, crop) : rgb;
}
