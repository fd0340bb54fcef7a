/**
 * The layout signature (identify/page-layout.ts): what makes it a copy test for mostly white
 * pages. Pure maths on hand-made signatures, plus sharp on small generated images.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkImageLayout, imageLayout, isLayoutCopy, LAYOUT_BYTES, LAYOUT_KEY_MAX_DISTANCE, layoutCorrelation, layoutOf, nearCopyKeys, queryNearCopyKeys } from '../../src/identify/page-layout.js';
import { hammingDistance } from '../../src/identify/perceptual-hash.js';
import { quadrantImage } from '../helpers/images.js';

function ruled(rows: number[]): Uint8Array {
  const page = new Uint8Array(LAYOUT_BYTES).fill(250);
  for (const row of rows) for (let x = 6; x < 58; x++) page[row * 64 + x] = 30;
  return page;
}

/** A 420×594 "page": white, with dark bars where text lines would be. */
async function pageImage(lines: [number, number][]): Promise<Buffer> {
  const svgLines = lines.map(([y, width]) => `<rect x="40" y="${y}" width="${width}" height="7" fill="#222"/>`).join('');
  return sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="420" height="594"><rect width="420" height="594" fill="#fff"/>${svgLines}</svg>`)).png().toBuffer();
}

describe('layout signature', () => {
  it('the key is a fixed function of the signature (stored keys stay valid across releases)', () => {
    expect(layoutOf(ruled([6, 14, 22, 30])).key).toBe(layoutOf(ruled([6, 14, 22, 30])).key);
    expect(layoutOf(ruled([6, 14, 22, 30])).key).toBe('b9b3ba2715c5dc68');
  });

  it('correlation ignores brightness and contrast (a scan of grey paper), and a flat image copies nothing', () => {
    const page = ruled([6, 14, 22, 30]);
    const scanned = page.map((v) => Math.round(v * 0.8 + 30));
    expect(layoutCorrelation(page, scanned)).toBeCloseTo(1, 3);
    expect(layoutCorrelation(page, new Uint8Array(LAYOUT_BYTES).fill(255))).toBe(0);
    expect(isLayoutCopy(layoutCorrelation(page, ruled([6, 14, 40, 48])))).toBe(false);
  });

  it('a re-encoded, greyed copy of a page is a copy with a close key; a page with other lines is not', async () => {
    const lines: [number, number][] = Array.from({ length: 20 }, (_, i) => [40 + i * 18, 200 + ((i * 37) % 140)]);
    const original = await pageImage(lines);
    const copy = await sharp(original).greyscale().linear(0.9, 12).jpeg({ quality: 50 }).toBuffer();
    const other = await pageImage(lines.map(([y], i) => [y, 200 + ((i * 53) % 140)]));
    const [a, b, c] = await Promise.all([imageLayout(original), imageLayout(copy), imageLayout(other)]);
    expect(isLayoutCopy(layoutCorrelation(a.signature, b.signature))).toBe(true);
    expect(hammingDistance(a.key, b.key)).toBeLessThanOrEqual(LAYOUT_KEY_MAX_DISTANCE);
    expect(isLayoutCopy(layoutCorrelation(a.signature, c.signature))).toBe(false);
    // Such a page's difference hash is uninformative: it is kept by layout, not by hash.
    expect(await nearCopyKeys(original)).toMatchObject({ hash: null, layout: { key: a.key } });
  });

  it('refuses a malformed layout with the given code', () => {
    const good = layoutOf(ruled([6]));
    expect(() => checkImageLayout({ ...good, key: 'ABC' }, 'INVALID_INPUT', 'the query')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => checkImageLayout({ ...good, signature: new Uint8Array(3) }, 'INVALID_RECORD', 'page 1')).toThrow(expect.objectContaining({ code: 'INVALID_RECORD' }));
    expect(() => checkImageLayout(good, 'INVALID_INPUT', 'the query')).not.toThrow();
  });

  it('a query near the informative boundary still looks up the hash its stored original was kept by', async () => {
    // Measured: this photo has 24 weak comparisons (informative, stored by hash); its 300-px JPEG
    // q60 copy has more (uninformative), so looking up by layout alone would lose the original.
    const original = await (await quadrantImage(400, 300)).jpeg({ quality: 92 }).toBuffer();
    const copy = await sharp(original).resize(300).jpeg({ quality: 60 }).toBuffer();
    const stored = await nearCopyKeys(original);
    expect(stored.hash).not.toBeNull();
    expect((await nearCopyKeys(copy)).hash).toBeNull();
    const query = await queryNearCopyKeys(copy);
    expect(query.hash).not.toBeNull();
    expect(hammingDistance(query.hash!, stored.hash!)).toBeLessThanOrEqual(6);
    expect(query.layout).not.toBeNull();
    // A blank page is far from informative: layout only, so it can never match a stored hash.
    const blank = await sharp({ create: { width: 200, height: 280, channels: 3, background: '#ffffff' } }).png().toBuffer();
    expect(await queryNearCopyKeys(blank)).toMatchObject({ hash: null });
  });
});
