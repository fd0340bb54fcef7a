/**
 * A model-independent check for exact and near-exact copies: the 64-bit difference hash (dHash:
 * is each pixel of a 9×8 greyscale thumbnail brighter than its right neighbour?). It survives
 * re-encoding, resizing and small colour changes, costs a few milliseconds, and does not depend
 * on any model's similarity scale.
 */
import sharp from 'sharp';
import { undecodableImage, UPLOADED_IMAGE_INPUT } from '../clip/image-decode.js';
import { InvalidInputError } from '../errors.js';

/** The difference hash when it is informative (see perceptualHash), else null. */
export async function informativeHash(image: Uint8Array): Promise<string | null> {
  const { hash, informative } = await perceptualHash(image);
  return informative ? hash : null;
}

export async function differenceHash(image: Uint8Array): Promise<string> {
  return (await perceptualHash(image)).hash;
}

/**
 * Comparisons closer than this (grey levels of the 9×8 thumbnail) are decided by noise: a page of
 * text shrinks to an almost even grey, and two different pages then get nearly the same hash.
 */
const WEAK_STEP = 2;
/** A hash with more weak comparisons than this carries too little to call two images copies. */
const MAX_WEAK_BITS = 24;
/**
 * A query (or a newly ingested photo) looks its hash up while it has at most this many weak
 * comparisons. Hysteresis: a copy of a stored image re-encoded or resized can turn a few of its
 * borderline comparisons weak (measured: 24 → 26 for a JPEG q60 at 75 % size), and would
 * otherwise lose its informative original. Stored hashes are only ever informative ones, so the
 * extra weak bits of the query are compared against strong bits of the stored hash.
 */
const MAX_WEAK_BITS_LOOKUP = 32;

/**
 * The difference hash and whether it is informative: at most MAX_WEAK_BITS of its 64 bits come
 * from neighbours within WEAK_STEP grey levels. Uninformative hashes (blank or text-only pages,
 * flat images) are kept for the record but never used to call two images copies. `lookup` says
 * whether the hash may still be looked up among stored (informative) hashes: see MAX_WEAK_BITS_LOOKUP.
 */
export async function perceptualHash(image: Uint8Array): Promise<{ hash: string; informative: boolean; lookup: boolean }> {
  const pixels = await sharp(image, UPLOADED_IMAGE_INPUT)
    .rotate()
    .greyscale()
    .resize(9, 8, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer()
    .catch((cause: unknown) => {
      throw undecodableImage(cause);
    });
  let bits = 0n;
  let weak = 0;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const left = pixels[y * 9 + x]!;
      const right = pixels[y * 9 + x + 1]!;
      bits = (bits << 1n) | (left > right ? 1n : 0n);
      if (Math.abs(left - right) < WEAK_STEP) weak++;
    }
  }
  return { hash: bits.toString(16).padStart(16, '0'), informative: weak <= MAX_WEAK_BITS, lookup: weak <= MAX_WEAK_BITS_LOOKUP };
}

export function hammingDistance(a: string, b: string): number {
  // Two 32-bit halves and a SWAR popcount: no BigInt, so checking thousands of candidates is cheap.
  const popcount = (v: number) => {
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  };
  const half = (h: string, i: number) => Number.parseInt(h.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return popcount((half(a, 0) ^ half(b, 0)) >>> 0) + popcount((half(a, 1) ^ half(b, 1)) >>> 0);
}

const HASH_HEX = /^[0-9a-f]{16}$/;

export function isDifferenceHash(hash: string): boolean {
  return HASH_HEX.test(hash);
}

/** Bands of a 64-bit hash for lookups by exact band match: eight 8-bit values, high byte first. */
export const HASH_BANDS = 8;

/**
 * Multi-index hashing (Norouzi, Punjani & Fleet, CVPR 2012): split the 64 bits into 8 bands of
 * 8 bits. Two hashes within Hamming distance 7 agree exactly on at least one band (pigeonhole),
 * so an index lookup on "any band equal" finds every candidate within 7 without scanning all
 * hashes; the exact distance is then checked on those few. Max distances above 7 need a scan.
 */
export const MAX_BANDED_DISTANCE = HASH_BANDS - 1;

export function hashBands(hash: string): number[] {
  if (!isDifferenceHash(hash)) throw new Error(`Not a 64-bit difference hash: "${hash}"`);
  return Array.from({ length: HASH_BANDS }, (_, i) => Number.parseInt(hash.slice(i * 2, i * 2 + 2), 16));
}

/** Checks a near-copy lookup's arguments (both stores): INVALID_INPUT when unusable. */
export function checkHashQuery(hash: string, maxDistance: number): void {
  if (!isDifferenceHash(hash)) throw new InvalidInputError('INVALID_INPUT', 'An image hash is 16 lower-case hex digits (a 64-bit difference hash).');
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_BANDED_DISTANCE) {
    throw new InvalidInputError('INVALID_INPUT', `The hash distance must be a whole number from 0 to ${MAX_BANDED_DISTANCE}; got ${maxDistance}.`);
  }
}
