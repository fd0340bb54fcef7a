/**
 * Images made in the test itself, so the suite needs no binary fixtures: an asymmetric
 * gradient photo, EXIF-rotated copies, odd colour formats, and hostile files.
 */
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/** A width×height RGB image whose quadrants differ, so rotations and crops are detectable. */
export async function quadrantImage(width = 320, height = 240): Promise<Sharp> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const right = x >= width / 2;
      const bottom = y >= height / 2;
      px[i] = right ? 230 : 20;
      px[i + 1] = bottom ? 210 : 40;
      px[i + 2] = Math.round((x / width) * 255);
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

export async function jpeg(width = 320, height = 240): Promise<Buffer> {
  return (await quadrantImage(width, height)).jpeg({ quality: 90 }).toBuffer();
}

/**
 * A real decompression bomb: a valid PNG declaring width×height 1-bit pixels, all zero, whose
 * compressed size is tiny (30000×30000 → ~110 kB on disk, 2.7 GB as RGB pixels).
 */
export function pngBomb(width = 30000, height = 30000): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const row = Math.ceil(width / 8) + 1; // filter byte + packed bits
  const idat = deflateSync(Buffer.alloc(row * height), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

export const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
