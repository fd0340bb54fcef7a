/**
 * A model-independent check for exact and near-exact copies: the 64-bit difference hash (dHash:
 * is each pixel of a 9×8 greyscale thumbnail brighter than its right neighbour?). It survives
 * re-encoding, resizing and small colour changes, costs a few milliseconds, and does not depend
 * on any model's similarity scale.
 */
import sharp from 'sharp';

export async function differenceHash(image: Uint8Array): Promise<string> {
  const pixels = await sharp(image).rotate().greyscale().resize(9, 8, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
  let bits = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      bits = (bits << 1n) | (pixels[y * 9 + x]! > pixels[y * 9 + x + 1]! ? 1n : 0n);
    }
  }
  return bits.toString(16).padStart(16, '0');
}

export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (x > 0n) {
    count += Number(x & 1n);
    x >>= 1n;
  }
  return count;
}
