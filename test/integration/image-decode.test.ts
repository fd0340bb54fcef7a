/**
 * Decoding real encoded images with sharp: orientation, colour formats and hostile files,
 * checked against what PIL's convert('RGB') would give.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeToClipRgb, inspectImage } from '../../src/clip/image-decode.js';
import { centerCropOffset, cropRgb, parsePreprocessorConfig, resizedSize } from '../../src/clip/preprocess.js';
import { referencePath } from '../helpers/shared.js';
import { pngBomb, quadrantImage, SVG } from '../helpers/images.js';

const cfg = parsePreprocessorConfig({});
const limits = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000 };

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

function pixel(rgb: Uint8Array, x: number, y: number, width = 224): number[] {
  const i = (y * width + x) * 3;
  return [rgb[i]!, rgb[i + 1]!, rgb[i + 2]!];
}

describe('decodeToClipRgb', () => {
  it('applies EXIF orientation before resizing (a phone photo held upright)', async () => {
    // Store the image rotated 90° clockwise in pixels, with EXIF saying "rotate back" (orientation 8).
    const upright = await (await quadrantImage(240, 320)).png().toBuffer();
    const storedSideways = await sharp(upright).rotate(90).withMetadata({ orientation: 8 }).jpeg({ quality: 95 }).toBuffer();
    const reference = await decodeToClipRgb(await sharp(upright).jpeg({ quality: 95 }).toBuffer(), cfg, limits);
    const decoded = await decodeToClipRgb(storedSideways, cfg, limits);
    expect((await inspectImage(storedSideways, limits))).toMatchObject({ width: 240, height: 320 });
    expect(meanAbsDiff(decoded, reference)).toBeLessThan(4);
  });

  it('expands greyscale to three equal channels', async () => {
    const grey = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 90, g: 90, b: 90 } } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const rgb = await decodeToClipRgb(grey, cfg, limits);
    expect(pixel(rgb, 100, 100)).toEqual([90, 90, 90]);
  });

  it('drops alpha without compositing, as PIL convert("RGB") does', async () => {
    // Half-transparent red: compositing on white or black would change the colour; PIL keeps it.
    const rgba = await sharp({ create: { width: 300, height: 300, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 0.5 } } }).png().toBuffer();
    expect((await sharp(rgba).metadata()).hasAlpha).toBe(true);
    const stored = await sharp(rgba).raw().toBuffer();
    expect(stored[3]).toBe(128);
    expect(pixel(await decodeToClipRgb(rgba, cfg, limits), 50, 50)).toEqual([stored[0], stored[1], stored[2]]);
    expect(stored[0]).toBeGreaterThan(190); // still red, not blended towards black or white
  });

  it('scales 16-bit samples to 8 bits', async () => {
    const deep = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 200, g: 100, b: 50 } } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    expect(pixel(await decodeToClipRgb(deep, cfg, limits), 10, 10)).toEqual([200, 100, 50]);
  });

  it('converts CMYK JPEGs to RGB', async () => {
    const cmyk = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: 200, g: 30, b: 30 } } }).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const [r, g, b] = pixel(await decodeToClipRgb(cmyk, cfg, limits), 150, 150);
    expect(r).toBeGreaterThan(150);
    expect(g).toBeLessThan(80);
    expect(b).toBeLessThan(80);
  });

  it('produces exactly the crop size whatever the aspect ratio', async () => {
    for (const [w, h] of [[1000, 50], [50, 1000], [224, 224], [225, 300]] as const) {
      const img = await (await quadrantImage(w, h)).png().toBuffer();
      expect((await decodeToClipRgb(img, cfg, limits)).length).toBe(224 * 224 * 3);
    }
  });
});

describe('decodeToClipRgb on large photos (JPEG shrink-on-load, crop cut after the resize)', () => {
  it('cuts the centre crop in sharp (no EXIF rotation) byte for byte as from the resized pixels', async () => {
    // Without EXIF rotation the crop is an extract() in sharp's pipeline; it must be exactly the
    // crop cut from the resized image, or embeddings would change (parity tests, caches).
    const chelsea = readFileSync(referencePath('photos', 'chelsea.png'));
    for (const [w, h] of [[640, 480], [1024, 768], [1600, 1200], [768, 1024], [300, 900]] as const) {
      const jpeg = await sharp(chelsea).resize(w, h, { fit: 'fill' }).jpeg({ quality: 88 }).toBuffer();
      const size = resizedSize(w, h, cfg.resize!);
      const resized = await sharp(jpeg, { failOn: 'truncated', pages: 1 }).rotate().removeAlpha().toColourspace('srgb')
        .resize(size.width, size.height, { fit: 'fill', kernel: cfg.kernel }).raw().toBuffer();
      const expected = cropRgb(new Uint8Array(resized), size.width, size.height, centerCropOffset(size.width, size.height, cfg.crop!), cfg.crop!);
      expect(Buffer.compare(Buffer.from(await decodeToClipRgb(jpeg, cfg, limits)), Buffer.from(expected)), `${w}×${h}`).toBe(0);
    }
  });

  it('a 12 MP photo stored sideways (EXIF orientation 6) decodes like the same photo stored upright', async () => {
    // The centre crop is cut from the resized pixels in the displayed frame; a crop taken in the
    // stored frame would cut the wrong band of this image (its blue channel is a left-to-right ramp).
    const upright = await (await quadrantImage(4000, 3000)).jpeg({ quality: 90 }).toBuffer();
    const sideways = await sharp(upright).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer();
    expect(await inspectImage(sideways, limits)).toMatchObject({ width: 4000, height: 3000 });
    const expected = await decodeToClipRgb(upright, cfg, limits);
    const decoded = await decodeToClipRgb(sideways, cfg, limits);
    expect(meanAbsDiff(decoded, expected)).toBeLessThan(1);
    expect(pixel(decoded, 10, 10)[0]).toBeLessThan(40); // top left is the dark-red quadrant, not another one
    expect(pixel(decoded, 213, 213)[1]).toBeGreaterThan(190);
  });

  it('a large JPEG comes out close to resizing it from full resolution, as the reference pipeline does', async () => {
    const photo = await sharp(readFileSync(referencePath('photos', 'chelsea.png'))).resize(3000, 2000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    const full = await sharp(photo).raw().toBuffer({ resolveWithObject: true });
    const size = resizedSize(full.info.width, full.info.height, cfg.resize!);
    const { left, top } = centerCropOffset(size.width, size.height, cfg.crop!);
    const reference = await sharp(full.data, { raw: { width: full.info.width, height: full.info.height, channels: 3 } })
      .resize(size.width, size.height, { fit: 'fill', kernel: cfg.kernel })
      .extract({ left, top, width: 224, height: 224 })
      .raw()
      .toBuffer();
    expect(meanAbsDiff(await decodeToClipRgb(photo, cfg, limits), reference)).toBeLessThan(1); // measured 0.3 grey levels
  });
});

describe('inspectImage refuses hostile files before decoding', () => {
  it.each([
    ['empty', new Uint8Array(0), 'EMPTY_FILE'],
    ['text', Buffer.from('GIF89a? no, just text'), 'INVALID_IMAGE'],
    ['svg', SVG, 'UNSUPPORTED_MEDIA_TYPE'],
    // SVGs librsvg cannot render (no size, broken markup, a BOM, an XML prologue) are still SVGs: the
    // code must not depend on whether the decoder manages to parse them (it used to say INVALID_IMAGE).
    ['svg without a size', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'UNSUPPORTED_MEDIA_TYPE'],
    ['svg with broken markup', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect'), 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'svg after a BOM, an XML declaration, a comment and a doctype',
      Buffer.from('\uFEFF<?xml version="1.0"?>\n<!-- drawn by hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n<SVG:svg xmlns:SVG="http://www.w3.org/2000/svg"/>'),
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['xml that is not svg', Buffer.from('<?xml version="1.0"?><note>svg</note>'), 'INVALID_IMAGE'],
    ['bomb', pngBomb(), 'IMAGE_TOO_LARGE'],
  ] as const)('%s', async (_name, bytes, code) => {
    await expect(inspectImage(bytes, limits)).rejects.toMatchObject({ code });
  });

  it('enforces the byte limit', async () => {
    const img = await (await quadrantImage(64, 64)).png().toBuffer();
    await expect(inspectImage(img, { ...limits, maxBytes: 10 })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});
