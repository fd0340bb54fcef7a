/**
 * readScannedPages with a hand-written TextReader: which pages are read, their text sources, and
 * that the caller's abort and the page time limit stop a read at once (the real reader only
 * checks its signal between steps).
 */
import { describe, expect, it } from 'vitest';
import { readScannedPages } from '../../src/ingest/read-pages.js';
import type { ExtractedPage } from '../../src/ingest/extracted.js';
import type { ReadTextResult, TextReader } from '../../src/ocr/text-reader.js';

const page = (number: number, text: string, ocrImage: Uint8Array | null = null): ExtractedPage => ({ number, text, image: null, thumbnail: null, ocrImage });
const read = (text: string, codes: string[] = []): ReadTextResult => ({ text, identifiers: [], regions: [], codes: codes.map((value) => ({ format: 'QR_CODE', value })) });

function reader(answer: (image: Uint8Array) => Promise<ReadTextResult>): TextReader & { calls: number } {
  const r = {
    calls: 0,
    readText: async (image: Uint8Array) => {
      r.calls++;
      return answer(image);
    },
    close: async () => undefined,
  };
  return r;
}

describe('readScannedPages', () => {
  it('reads only pages without text that have an OCR image; FILE, OCR and NONE accordingly', async () => {
    const r = reader(async (image) => (image[0] === 1 ? read('Seal kit 4471-B', ['ASSET-77']) : read('')));
    const out = await readScannedPages([page(1, 'typed text', new Uint8Array([9])), page(2, '', new Uint8Array([1])), page(3, '', new Uint8Array([2])), page(4, '')], r, { pageTimeoutMs: 1000 });
    expect(out.map((p) => [p.textSource, p.text])).toEqual([
      ['file', 'typed text'],
      ['ocr', 'Seal kit 4471-B\nASSET-77'],
      ['none', ''],
      ['none', ''],
    ]);
    expect(r.calls).toBe(2);
  });

  it('with no reader (OCR=off) every page without text is NONE', async () => {
    const out = await readScannedPages([page(1, '', new Uint8Array([1]))], null, { pageTimeoutMs: 1000 });
    expect(out[0]!.textSource).toBe('none');
  });

  it("stops at once when the caller's signal aborts, with the caller's reason", async () => {
    const controller = new AbortController();
    const r = reader(() => new Promise(() => undefined));
    const pending = readScannedPages([page(1, '', new Uint8Array([1])), page(2, '', new Uint8Array([1]))], r, { pageTimeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('client went away')), 20);
    await expect(pending).rejects.toThrow('client went away');
    expect(r.calls).toBe(1);
  });

  it('a page past its time limit fails with DOCUMENT_TOO_COMPLEX naming the page and the setting', async () => {
    const r = reader(() => new Promise(() => undefined));
    await expect(readScannedPages([page(3, '', new Uint8Array([1]))], r, { pageTimeoutMs: 50 })).rejects.toMatchObject({
      code: 'DOCUMENT_TOO_COMPLEX',
      details: { limit: 'ocrPageTime', page: 3 },
      message: expect.stringMatching(/OCR_PAGE_TIMEOUT_MS/),
    });
  });
});
