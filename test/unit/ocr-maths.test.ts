import { describe, expect, it } from 'vitest';
import { codeFormatName, MAX_CODE_VALUE_CHARS, sanitizeCodeValue } from '../../src/ocr/code-values.js';
import {
  ctcDecode,
  dbBoxes,
  detectionSize,
  detectionTensor,
  parseDictionary,
  recognitionTensor,
  recognitionWidth,
  relativeBox,
  sortReadingOrder,
} from '../../src/ocr/ocr-maths.js';
import { assembleReadText } from '../../src/ocr/read-text-result.js';

describe('detection pre-processing', () => {
  it('keeps sides multiples of 32 and the longest side at most 960', () => {
    expect(detectionSize(640, 272)).toEqual({ width: 640, height: 288 });
    expect(detectionSize(1920, 1080)).toEqual({ width: 960, height: 544 });
    expect(detectionSize(10, 10)).toEqual({ width: 32, height: 32 });
  });

  it('builds a BGR tensor normalised with ImageNet mean and std', () => {
    // One pixel, pure red: the first (blue) plane is (0 - 0.485)/0.229, the last (red) (1 - 0.406)/0.225.
    const t = detectionTensor(new Uint8Array([255, 0, 0]), 1, 1);
    expect(t[0]).toBeCloseTo(-0.485 / 0.229, 5);
    expect(t[1]).toBeCloseTo(-0.456 / 0.224, 5);
    expect(t[2]).toBeCloseTo((1 - 0.406) / 0.225, 5);
  });
});

describe('DB post-processing', () => {
  function map(width: number, height: number, rects: { x: number; y: number; w: number; h: number; p: number }[]): Float32Array {
    const m = new Float32Array(width * height);
    for (const r of rects) for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) m[y * width + x] = r.p;
    return m;
  }

  it('finds each confident region, grows it by the unclip distance and scales it to the image', () => {
    const prob = map(40, 20, [{ x: 4, y: 4, w: 20, h: 4, p: 0.9 }]);
    const [box, ...rest] = dbBoxes(prob, 40, 20, 80, 40);
    expect(rest).toEqual([]);
    // d = 20·4·1.5 / (2·24) = 2.5 map pixels; scale 2 → x0 = (4 − 2.5)·2 = 3, width = (20 + 5)·2 = 50.
    expect(box).toEqual({ x: 3, y: 3, width: 50, height: 18 });
  });

  it('drops regions below the box threshold and specks below the minimum size', () => {
    const prob = map(40, 20, [
      { x: 2, y: 2, w: 10, h: 4, p: 0.45 },
      { x: 20, y: 10, w: 2, h: 2, p: 0.99 },
    ]);
    expect(dbBoxes(prob, 40, 20, 40, 20)).toEqual([]);
  });

  it('returns nothing for an empty map and rejects a map of the wrong size', () => {
    expect(dbBoxes(new Float32Array(64), 8, 8, 8, 8)).toEqual([]);
    expect(() => dbBoxes(new Float32Array(10), 8, 8, 8, 8)).toThrow(/expected 8×8/);
  });

  it('orders boxes as text is read: lines top to bottom, left to right within a line', () => {
    const boxes = sortReadingOrder([
      { x: 300, y: 102, width: 50, height: 20 },
      { x: 10, y: 200, width: 50, height: 20 },
      { x: 10, y: 100, width: 50, height: 20 },
    ]);
    expect(boxes.map((b) => [b.x, b.y])).toEqual([
      [10, 100],
      [300, 102],
      [10, 200],
    ]);
  });
});

describe('recognition', () => {
  it('keeps the aspect ratio at height 48, bounded', () => {
    expect(recognitionWidth(200, 50, 1600)).toBe(192);
    expect(recognitionWidth(10_000, 10, 1600)).toBe(1600);
  });

  it('scales crops to [-1, 1] in BGR order and pads on the right with zeros', () => {
    const rgb = new Uint8Array(48 * 1 * 3);
    for (let y = 0; y < 48; y++) rgb.set([255, 0, 0], y * 3);
    const t = recognitionTensor([{ rgb, width: 1 }], 2);
    const plane = 48 * 2;
    expect(t[0]).toBe(-1); // blue plane, first pixel
    expect(t[2 * plane]).toBe(1); // red plane, first pixel
    expect(t[1]).toBe(0); // padding
  });

  it('puts the CTC blank first and a space last around the dictionary', () => {
    expect(parseDictionary('a\nb\n')).toEqual(['', 'a', 'b', ' ']);
  });

  it('decodes CTC greedily: repeats merged, blanks separate letters, confidence of kept steps', () => {
    const classes = ['', 'A', 'B', ' '];
    // Steps: A A blank A B → "AAB"
    const steps = [1, 1, 0, 1, 2];
    const probs = new Float32Array(steps.length * 4);
    steps.forEach((c, t) => {
      probs.fill(0.05, t * 4, t * 4 + 4);
      probs[t * 4 + c] = 0.8;
    });
    const [out] = ctcDecode(probs, [1, steps.length, 4], classes);
    expect(out!.text).toBe('AAB');
    expect(out!.confidence).toBeCloseTo(0.8, 5);
    expect(() => ctcDecode(probs, [1, steps.length, 5], classes)).toThrow(/classes/);
  });

  it('reports boxes as fractions of the image', () => {
    expect(relativeBox({ x: 64, y: 24, width: 320, height: 48 }, 640, 480)).toEqual([0.1, 0.05, 0.5, 0.1]);
  });
});

describe('code values', () => {
  it('removes control characters and caps the length', () => {
    expect(sanitizeCodeValue('PK-\u00003310\r\n\u001b[31mred')).toBe('PK- 3310 [31mred');
    expect(sanitizeCodeValue('x'.repeat(5_000_000))).toHaveLength(MAX_CODE_VALUE_CHARS);
  });

  it('names formats as ZXing does', () => {
    expect(codeFormatName('QRCode')).toBe('QR_CODE');
    expect(codeFormatName('Code128')).toBe('CODE_128');
    expect(codeFormatName('EAN13')).toBe('EAN_13');
    expect(codeFormatName('DataMatrix')).toBe('DATA_MATRIX');
  });
});

describe('assembling a reading', () => {
  it('joins confident lines, drops doubtful ones and extracts identifiers from text and codes once', () => {
    const result = assembleReadText(
      [
        { text: 'MODEL XV-300', confidence: 0.95, box: [0, 0, 0.5, 0.1] },
        { text: 'D', confidence: 0.52, box: [0, 0.5, 0.2, 0.2] },
        { text: 'smudge', confidence: 0.4, box: [0, 0.8, 0.2, 0.1] },
      ],
      [
        { format: 'QRCode', value: 'PK-3310' },
        { format: 'QRCode', value: 'PK-3310' },
        { format: 'Code128', value: 'xv-300' },
      ],
    );
    expect(result.text).toBe('MODEL XV-300');
    expect(result.regions).toHaveLength(1);
    expect(result.codes).toEqual([
      { format: 'QR_CODE', value: 'PK-3310' },
      { format: 'CODE_128', value: 'xv-300' },
    ]);
    expect(result.identifiers).toEqual(['XV-300', 'PK-3310']);
  });

  it('returns empty lists when nothing was read', () => {
    expect(assembleReadText([], [])).toEqual({ text: '', identifiers: [], regions: [], codes: [] });
  });
});
