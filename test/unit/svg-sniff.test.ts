/**
 * isSvgMarkup skips the UTF-8 decoding when the first byte rules markup out (every binary image
 * format). The shortcut must never change the answer: for every possible first byte, followed by
 * SVG markup (plain, after a non-ASCII space, after a BOM), it agrees with the full test on the
 * decoded text.
 */
import { describe, expect, it } from 'vitest';
import { isSvgMarkup, isSvgText } from '../../src/clip/image-decode.js';

describe('isSvgMarkup first-byte shortcut', () => {
  it('agrees with the decoded-text test for every first byte', () => {
    const tails = ['<svg/>', '\u00a0<svg/>', '\u3000 <svg xmlns="http://www.w3.org/2000/svg"/>', '\n<svg/>', 'svg/>'].map((t) => Buffer.from(t));
    const utf8Starts = [Buffer.from('\uFEFF'), Buffer.from('\u00a0'), Buffer.from('\u2028')];
    let svgs = 0;
    for (let first = 0; first < 256; first++) {
      for (const tail of tails) {
        const bytes = Buffer.concat([Buffer.from([first]), tail]);
        const expected = isSvgText(new TextDecoder('utf-8').decode(bytes));
        expect(isSvgMarkup(bytes), `first byte 0x${first.toString(16)} + ${JSON.stringify(tail.toString())}`).toBe(expected);
        if (expected) svgs++;
      }
    }
    // Multi-byte whitespace (and a BOM) before the markup keeps it SVG.
    for (const start of utf8Starts) expect(isSvgMarkup(Buffer.concat([start, Buffer.from('<svg/>')]))).toBe(true);
    expect(svgs).toBeGreaterThan(0); // whitespace first bytes (tab, newline, space...) still find the markup
  });

  it('binary image headers are not markup; an empty file is not either', () => {
    for (const head of [[0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47], [0x47, 0x49, 0x46], [0x52, 0x49, 0x46, 0x46], [0x49, 0x49, 0x2a, 0], [0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]]) {
      expect(isSvgMarkup(Buffer.from(head))).toBe(false);
    }
    expect(isSvgMarkup(new Uint8Array(0))).toBe(false);
  });
});
