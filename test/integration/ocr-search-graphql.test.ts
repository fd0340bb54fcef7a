/**
 * search(image:) reads the query photo, over real HTTP on the server `npm start` builds: the real
 * PP-OCRv4 models and ZXing, the bundled test CLIP model (random weights: its picture matches
 * mean nothing), real PDFs and Markdown ingested. What is read decides: a photographed nameplate
 * finds its model's manual, a part label finds the page listing the part, a QR asset tag finds
 * its valve, and the plate's other words (rating, serial) do not pull in the page full of them.
 * With OCR=off the same photo is searched by the picture alone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePdf, PUMP_MANUAL_MD } from '../helpers/documents.js';
import { pngBomb, SVG } from '../helpers/images.js';
import { renderNoTextPhoto, renderQr } from '../helpers/ocr-images.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

const SEARCH = `query Search($image: Upload, $text: String) {
  search(image: $image, text: $text, limit: 5) {
    noGoodMatch
    readText { text identifiers regions { text confidence box } codes { format value } }
    hits { score matchedBy snippet document { title } page { number } }
  }
}`;
const ASK = 'query Ask($image: Upload) { ask(image: $image) { text citations { document { title } page { number } } } }';

type SearchData = {
  search: {
    noGoodMatch: boolean;
    readText: { text: string; identifiers: string[]; regions: { text: string; confidence: number; box: number[] }[]; codes: { format: string; value: string }[] } | null;
    hits: { score: number; matchedBy: string[]; snippet: string | null; document: { title: string } | null; page: { number: number } | null }[];
  };
};

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '../fixtures/ocr', name));

/** The knowledge base: two pump manuals, a parts list, a valve manual and a page full of the plate's other words. */
async function ingestLibrary(url: string): Promise<void> {
  const ingest = 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }';
  const files: [Uint8Array, string][] = [
    [await makePdf([['Read the safety instructions before any work.', 'XV-300 Centrifugal Pump, installation and maintenance.'], ['Impeller clearance and wear rings', 'Check the clearance every 4000 hours.']], 'XV-300 Pump Manual'), 'xv300.pdf'],
    [Buffer.from(PUMP_MANUAL_MD), 'p200.md'],
    [await makePdf([['Spare parts list, page 1', 'GR-88 Lithium grease cartridge', 'BR-12 Bearing set'], ['Spare parts list, page 2', 'PK-3310 Gasket kit for pump casings', 'OR-55 O-ring set'], ['Spare parts list, page 3', 'FL-9 Oil filter']], 'Spare Parts List'), 'parts.pdf'],
    [Buffer.from('# BV-50 Ball Valve Manual\n\nThe BV-50 ball valve closes with a quarter turn. Lubricate the stem yearly.\n'), 'bv50.md'],
    // A lure: the plate's rating and serial-number words, and no model.
    [Buffer.from('# Electrical Ratings\n\nMotors are rated 230V 50Hz. The serial number and the model are on the motor plate. Serial numbers are not model numbers.\n'), 'ratings.md'],
  ];
  for (const [bytes, name] of files) {
    const res = await gqlUpload(url, ingest, { file: { bytes, name } });
    expect(res.errors).toBeUndefined();
  }
}

describe('search(image:) reads the photo', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', OCR_THREADS: '1' });
    await ingestLibrary(server.url);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const search = (bytes: Uint8Array, name = 'photo.jpg', text?: string) => gqlUpload<SearchData>(server.url, SEARCH, { image: { bytes, name, type: 'image/jpeg' } }, text ? { text } : {});

  it('a blurred plate OCR reads with its words run together ("TYPEP-200PUMP") still finds the P-200 manual first', async () => {
    // The eval set's glare-and-blur plate (demo/ocr-eval/make-set.ts): "TYPE P-200 PUMP" is read without its spaces.
    const res = await search(readFileSync(path.join(import.meta.dirname, '../../demo/ocr-eval/images/plate-02.jpg')));
    expect(res.errors).toBeUndefined();
    const { hits, readText } = res.data!.search;
    expect(readText!.text).toContain('TYPEP-200PUMP');
    // What was read stays as read; the identifier the knowledge base holds is added after it.
    expect(readText!.identifiers).toEqual(expect.arrayContaining(['TYPEP-200PUMP', 'P-200']));
    expect(hits[0]!.document?.title).toBe('P-200 Centrifugal Pump Service Manual');
    expect(hits[0]!.matchedBy).toContain('IDENTIFIER');
  }, 60_000);

  it('a photographed nameplate finds the manual of its model first, and says what it read', async () => {
    const res = await search(fixture('nameplate-photo.jpg'));
    expect(res.errors).toBeUndefined();
    const { hits, readText, noGoodMatch } = res.data!.search;
    expect(readText!.identifiers).toEqual(expect.arrayContaining(['XV-300', '55-1234-A']));
    expect(readText!.text).toContain('MODEL XV-300');
    expect(readText!.regions.length).toBeGreaterThanOrEqual(3);
    expect(hits[0]!.document?.title).toBe('XV-300 Pump Manual');
    expect(hits[0]!.page?.number).toBe(1);
    expect(hits[0]!.matchedBy).toContain('IDENTIFIER');
    expect(hits[0]!.snippet).toContain('XV-300');
    // The page holding the plate's other words comes after it.
    const lure = hits.findIndex((h) => h.document?.title === 'Electrical Ratings');
    expect(lure === -1 || lure > 0).toBe(true);
    expect(noGoodMatch).toBe(false);
  }, 60_000);

  it('a photographed part label finds the page that lists the part', async () => {
    const { hits, readText } = (await search(fixture('part-label-photo.jpg'))).data!.search;
    expect(readText!.identifiers).toContain('PK-3310');
    expect(hits[0]!.document?.title).toBe('Spare Parts List');
    expect(hits[0]!.page?.number).toBe(2);
    expect(hits[0]!.snippet).toContain('PK-3310');
  }, 60_000);

  it('a QR asset tag finds the equipment it names', async () => {
    const { hits, readText } = (await search(await renderQr('BV-50'), 'tag.png')).data!.search;
    expect(readText!.codes).toEqual([{ format: 'QR_CODE', value: 'BV-50' }]);
    expect(hits[0]!.document?.title).toBe('BV-50 Ball Valve Manual');
  }, 60_000);

  it('a photo with no writing reads empty lists and is searched by the picture', async () => {
    const res = await search(await renderNoTextPhoto());
    expect(res.errors).toBeUndefined();
    expect(res.data!.search.readText).toEqual({ text: '', identifiers: [], regions: [], codes: [] });
    for (const hit of res.data!.search.hits) expect(hit.matchedBy).not.toContain('IDENTIFIER');
  }, 60_000);

  it('a text-only search reports no reading', async () => {
    const res = await gql<SearchData>(server.url, SEARCH, { text: 'gasket kit' });
    expect(res.data!.search.readText).toBeNull();
  });

  it('ask with a nameplate photo cites the manual of its model', async () => {
    const res = await gqlUpload<{ ask: { text: string; citations: { document: { title: string } | null }[] } }>(server.url, ASK, { image: { bytes: fixture('nameplate-photo.jpg'), name: 'plate.jpg' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.ask.citations.map((c) => c.document?.title)).toContain('XV-300 Pump Manual');
    // The extractive answer quotes what the sources say about the identifier read (not the page's first sentence).
    expect(res.data!.ask.text).toMatch(/^XV-300 Centrifugal Pump/);
  }, 60_000);

  it('bad images keep the codes embedImage gives them, and the server stays healthy', async () => {
    const truncated = fixture('nameplate-photo.jpg').subarray(0, 4000);
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'EMPTY_FILE'],
      [new Uint8Array(Buffer.from('<html>not a photo</html>')), 'INVALID_IMAGE'],
      [SVG, 'UNSUPPORTED_MEDIA_TYPE'],
      [pngBomb(), 'IMAGE_TOO_LARGE'],
      [truncated, 'INVALID_IMAGE'],
    ];
    for (const [bytes, code] of cases) {
      const embed = await gqlUpload(server.url, 'query E($image: Upload!) { embedImage(image: $image) { dim } }', { image: { bytes, name: 'photo.jpg' } });
      expect(errorCode(embed)).toBe(code);
      expect(errorCode(await search(bytes))).toBe(code);
    }
    const health = await gql<{ health: { status: string } }>(server.url, '{ health { status } }');
    expect(health.data?.health.status).toBe('ok');
    // And reading still works after them.
    expect((await search(fixture('part-label-photo.jpg'))).data!.search.readText!.identifiers).toContain('PK-3310');
  }, 90_000);

  // Last: it adds a photo to the knowledge base.
  it('ingestPhoto resolves a glued reading too: the plate photo is found by "P-200", and the same plate searched again still finds the manual', async () => {
    const plate = readFileSync(path.join(import.meta.dirname, '../../demo/ocr-eval/images/plate-02.jpg'));
    const ingest = 'mutation($file: Upload!) { ingestPhoto(file: $file) { id readText { identifiers } } }';
    const res = await gqlUpload<{ ingestPhoto: { id: string; readText: { identifiers: string[] } } }>(server.url, ingest, { file: { bytes: plate, name: 'plate.jpg' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.ingestPhoto.readText.identifiers).toEqual(expect.arrayContaining(['TYPEP-200PUMP', 'P-200']));
    const byText = await gql<{ search: { hits: { photo: { id: string } | null }[] } }>(server.url, 'query { search(text: "P-200", limit: 10) { hits { photo { id } } } }');
    expect(byText.data!.search.hits.map((h) => h.photo?.id)).toContain(res.data!.ingestPhoto.id);
    // The stored photo carries "TYPEP-200PUMP" beside P-200: a glued reading, not a distinct identifier.
    const again = await search(plate);
    expect(again.data!.search.readText!.identifiers).toContain('P-200');
    const titles = again.data!.search.hits.map((h) => h.document?.title ?? null);
    expect(titles.find((t) => t !== null)).toBe('P-200 Centrifugal Pump Service Manual');
  }, 60_000);
});

describe('search(image:) with OCR=off', () => {
  it('searches by the picture alone, as before, and reports no reading', async () => {
    const server = await startTestServer({ LOAD_DEMO: 'false', OCR: 'off' });
    try {
      await ingestLibrary(server.url);
      const res = await gqlUpload<SearchData>(server.url, SEARCH, { image: { bytes: fixture('nameplate-photo.jpg'), name: 'plate.jpg' } });
      expect(res.errors).toBeUndefined();
      expect(res.data!.search.readText).toBeNull();
      expect(res.data!.search.hits.length).toBeGreaterThan(0);
      for (const hit of res.data!.search.hits) {
        expect(hit.matchedBy).not.toContain('IDENTIFIER');
        expect(hit.matchedBy).not.toContain('KEYWORD');
      }
    } finally {
      await server.close();
    }
  }, 120_000);
});
