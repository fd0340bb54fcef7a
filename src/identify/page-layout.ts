/**
 * Near-copies of mostly white images (pages of text, scanned forms), whatever the model and
 * without OCR. The 64-bit difference hash cannot tell two such pages apart: a 9×8 thumbnail of a
 * page of text is an almost even grey, and different pages get hashes within a bit or two of
 * each other (perceptual-hash.ts marks those hashes uninformative). This is the evidence for
 * exactly those images.
 *
 * The layout signature is the page's 64×64 greyscale thumbnail (4,096 bytes), compared by
 * Pearson correlation: invariant to brightness and contrast (a scan's grey paper and faded ink are
 * an affine change of the pixels), so it needs no per-model or per-scanner calibration. Measured
 * on the eval set and on same-style pdf-lib pages (docs/search.md): copies (re-encodes as JPEG
 * q50 / WebP, half size, greyscale, the scan against its stored render) correlate ≥ 0.978;
 * different pages of dense text with the same font and margins ≤ 0.908; other pages ≤ 0.83.
 * Coarser grids (24–48 px) and binarised grids overlap between the two groups; 64 px does not.
 *
 * Lookup at scale: each signature also gets a 64-bit SimHash key (Charikar, STOC 2002: the signs
 * of 64 fixed random projections; the Hamming distance between two keys estimates the angle
 * between the projected vectors). The vector projected is the signature without its row and
 * column means (double-centred): pages of one manual share margins and line pitch, and keys of
 * the raw signature clustered so tightly that a lookup read a third of all pages (measured,
 * bench/layout-lookup-bench.ts); what is left (where lines and words end) is each page's own.
 * The stores index the key's eight 8-bit bands like the difference hash's (multi-index hashing:
 * a key within 7 bits shares at least one band), keep candidates whose key is within
 * LAYOUT_KEY_MAX_DISTANCE, and only then compare the signatures. Copies measured 0–4 key bits
 * apart.
 *
 * Limit (measured, documented): two fillings of the same printed form that differ in a few words
 * correlate 0.98–0.999, as closely as a re-scan; the closest still ranks first, but such a page
 * is called a copy of the other when only the other is stored. Telling them apart takes reading
 * the text (OCR).
 */
import sharp from 'sharp';
import { undecodableImage, UPLOADED_IMAGE_INPUT } from '../clip/image-decode.js';
import { InvalidInputError } from '../errors.js';
import { perceptualHash } from './perceptual-hash.js';

/** Side of the square greyscale thumbnail the signature is made of. */
export const LAYOUT_SIDE = 64;
export const LAYOUT_BYTES = LAYOUT_SIDE * LAYOUT_SIDE;
/** Correlation at or above which two layouts are copies (copies ≥ 0.978, distinct pages ≤ 0.908 measured). */
export const LAYOUT_COPY_CORRELATION = 0.95;
/**
 * Keys further apart than this are not compared. Correlation 0.95 is an angle of 0.32 rad, an
 * expected 6.5 differing bits of 64 (sd ≈ 2.4); 16 bits is four deviations beyond it (copies
 * measured 0–4 bits apart).
 */
export const LAYOUT_KEY_MAX_DISTANCE = 16;

export interface ImageLayout {
  /** 64-bit SimHash of the signature, 16 lower-case hex digits (indexed in 8-bit bands). */
  key: string;
  /** 64×64 greyscale thumbnail, row by row. */
  signature: Uint8Array;
}

export async function imageLayout(image: Uint8Array): Promise<ImageLayout> {
  const pixels = await sharp(image, UPLOADED_IMAGE_INPUT)
    .rotate()
    .flatten({ background: '#ffffff' })
    .greyscale()
    .resize(LAYOUT_SIDE, LAYOUT_SIDE, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer()
    .catch((cause: unknown) => {
      throw undecodableImage(cause);
    });
  return layoutOf(new Uint8Array(pixels.buffer, pixels.byteOffset, LAYOUT_BYTES).slice());
}

/** The layout of a 64×64 greyscale signature (its SimHash key computed). */
export function layoutOf(signature: Uint8Array): ImageLayout {
  if (signature.length !== LAYOUT_BYTES) throw new Error(`A layout signature has ${LAYOUT_BYTES} bytes.`);
  return { key: layoutKey(signature), signature };
}

/**
 * What a stored page render or photo is found again by, whatever the model: its difference hash
 * when that is informative, else (a page of text, a scan, a flat image) its layout signature.
 */
export async function nearCopyKeys(image: Uint8Array): Promise<{ hash: string | null; layout: ImageLayout | null }> {
  const [{ hash, informative }, layout] = await Promise.all([perceptualHash(image), imageLayout(image)]);
  return informative ? { hash, layout: null } : { hash: null, layout };
}

/**
 * What an image QUERY (or a photo being linked to its original) is looked up by: the hash while
 * it is close enough to informative to match a stored informative hash (perceptual-hash.ts
 * MAX_WEAK_BITS_LOOKUP), and the layout whenever the image could have been stored by its layout.
 * Near the boundary both are looked up, so a re-encode that crosses it still finds its original.
 */
export async function queryNearCopyKeys(image: Uint8Array): Promise<{ hash: string | null; layout: ImageLayout | null }> {
  const { hash, informative, lookup } = await perceptualHash(image);
  return { hash: lookup ? hash : null, layout: informative ? null : await imageLayout(image) };
}

/** Pearson correlation of two signatures (−1..1); 0 when either is flat (a blank image copies nothing). */
export function layoutCorrelation(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== LAYOUT_BYTES || b.length !== LAYOUT_BYTES) throw new Error(`A layout signature has ${LAYOUT_BYTES} bytes.`);
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < LAYOUT_BYTES; i++) {
    sa += a[i]!;
    sb += b[i]!;
  }
  const ma = sa / LAYOUT_BYTES;
  const mb = sb / LAYOUT_BYTES;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < LAYOUT_BYTES; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

export function isLayoutCopy(correlation: number): boolean {
  return correlation >= LAYOUT_COPY_CORRELATION;
}

/** 64 fixed random projections (a seeded generator: the same on every machine, for every store). */
const PROJECTIONS: Float32Array[] = (() => {
  // xorshift32 + Box–Muller: Gaussian directions make the SimHash an unbiased angle estimate.
  let state = 0x5eed1a70;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  return Array.from({ length: 64 }, () => Float32Array.from({ length: LAYOUT_BYTES }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())));
})();

/** The signature without what pages of one kind share: the mean of each row (text lines, blank bands) and of each column (margins). */
function residual(signature: Uint8Array): Float32Array {
  const n = LAYOUT_SIDE;
  const rows = new Float32Array(n);
  const cols = new Float32Array(n);
  let all = 0;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const v = signature[y * n + x]!;
      rows[y]! += v / n;
      cols[x]! += v / n;
      all += v / (n * n);
    }
  const out = new Float32Array(LAYOUT_BYTES);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) out[y * n + x] = signature[y * n + x]! - rows[y]! - cols[x]! + all;
  return out;
}

function layoutKey(signature: Uint8Array): string {
  const centred = residual(signature);
  let hex = '';
  for (let nibble = 0; nibble < 16; nibble++) {
    let value = 0;
    for (let bit = 0; bit < 4; bit++) {
      const projection = PROJECTIONS[nibble * 4 + bit]!;
      let dot = 0;
      for (let i = 0; i < LAYOUT_BYTES; i++) dot += centred[i]! * projection[i]!;
      value = (value << 1) | (dot > 0 ? 1 : 0);
    }
    hex += value.toString(16);
  }
  return hex;
}

/** Checks a layout before it is stored or looked up (both stores): INVALID_INPUT / INVALID_RECORD when unusable. */
export function checkImageLayout(layout: ImageLayout, code: 'INVALID_INPUT' | 'INVALID_RECORD', what: string): void {
  if (!/^[0-9a-f]{16}$/.test(layout.key)) throw new InvalidInputError(code, `The layout key of ${what} is 16 lower-case hex digits.`);
  if (!(layout.signature instanceof Uint8Array) || layout.signature.length !== LAYOUT_BYTES) {
    throw new InvalidInputError(code, `The layout signature of ${what} has ${LAYOUT_BYTES} bytes.`);
  }
}
