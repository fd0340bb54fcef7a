/**
 * A near-copy of a stored page of text wins whatever the model, with OCR off (issue 11): the
 * scanned work order's own image finds its image-only PDF page first on the bundled test model,
 * whose image cosines are ≈ 0.9997 for every page render, although the page's difference hash is
 * uninformative (a near-white page). The evidence is the page's layout signature
 * (identify/page-layout.ts). And the other half of the rule: a scan of a DIFFERENT page of text,
 * whose difference hash is as close to the first as a copy's, is not called a copy.
 *
 * Real SQLite, real ONNX (test model), real PDFs: the committed eval-set scan and image-only
 * scans made here the way demo/search-eval/make-set.ts makes them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { imageLayout, layoutCorrelation, LAYOUT_COPY_CORRELATION } from '../../src/identify/page-layout.js';
import { hammingDistance, perceptualHash } from '../../src/identify/perceptual-hash.js';
import { extractPdf } from '../../src/ingest/pdf.js';
import { createCore, type Core } from '../../src/core/create-core.js';
import { makePdf } from '../helpers/documents.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';
import { REPO_ROOT } from '../helpers/shared.js';

const SET = path.join(REPO_ROOT, 'demo', 'search-eval');

/** An image-only PDF of the text page `lines` (rendered, greyed and blurred like a scan), and the scan itself. */
async function scannedPage(lines: string[]): Promise<{ pdf: Uint8Array; scan: Buffer }> {
  const rendered = await extractPdf(await makePdf([lines]), { maxPages: 1, renderLongSide: 1200, thumbnailLongSide: 64 });
  const scan = await sharp(rendered.pages[0]!.image!).greyscale().blur(0.6).linear(0.9, 12).png().toBuffer();
  const pdf = await PDFDocument.create();
  const image = await pdf.embedPng(scan);
  pdf.addPage([595, 842]).drawImage(image, { x: 0, y: 0, width: 595, height: 842 });
  return { pdf: await pdf.save(), scan };
}

const SERVICE_REPORT = [
  'SERVICE REPORT SR-118',
  'Pump P-200 at the north basin was noisy at start-up.',
  'Cleaned the suction strainer and checked the NPSH margin.',
  'Replaced the mechanical seal kit and the O-ring.',
  'Bearing temperatures normal after two hours.',
];
const INSPECTION = [
  'INSPECTION NOTE IN-42',
  'Valve BV-50 stem rings leaking at the gland.',
  'Tightened the packing nuts half a turn.',
  'Cycled the valve three times, no leak.',
  'Next inspection in six months.',
];

describe('a copy of a scanned page wins on the test model, with OCR off; a different scanned page is not a copy', () => {
  let core: Core;
  let dataDir: string;
  const scans: Record<string, { pdf: Uint8Array; scan: Buffer }> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-scan-copy-'));
    const config = loadConfig({ CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: dataDir, LOAD_DEMO: 'false', OCR: 'off', CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', LOG_LEVEL: 'error' });
    core = await createCore(config, pino({ level: 'silent' }));
    scans.report = await scannedPage(SERVICE_REPORT);
    scans.inspection = await scannedPage(INSPECTION);
    const ingest = async (name: string, bytes: Uint8Array) => {
      ids[name] = (await core.home.services.ingest.ingestDocument({ bytes, filename: `${name}.pdf` })).document.id;
    };
    await ingest('workOrder', readFileSync(path.join(SET, 'docs', 'wo-5531-scanned-work-order.pdf')));
    await ingest('report', scans.report.pdf);
    // Pages of text with a text layer too (their renders are as white as the scans).
    await ingest('manual', readFileSync(path.join(REPO_ROOT, 'demo', 'docs', 'p200-centrifugal-pump-manual.pdf')));
    await ingest('sop', readFileSync(path.join(REPO_ROOT, 'demo', 'docs', 'sop-12-ball-valve-2in.pdf')));
  }, 120_000);

  afterAll(async () => {
    await core?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the scanned work order’s own image (and a JPEG re-encode) ranks its image-only page first, as a decisive VISUAL match', async () => {
    const scan = readFileSync(path.join(SET, 'queries', 'wo-5531-scan.png'));
    // Why it needs more than the difference hash and the model: the hash is uninformative.
    expect((await perceptualHash(scan)).informative).toBe(false);
    for (const image of [scan, await sharp(scan).jpeg({ quality: 50 }).toBuffer()]) {
      const { hits, noGoodMatch } = await core.home.services.search.search({ image, limit: 5 });
      expect(hits[0]?.document?.id).toBe(ids.workOrder);
      expect(hits[0]?.page?.number).toBe(1);
      expect(hits[0]?.matchedBy).toContain('VISUAL');
      // Decisive evidence scores ≥ 1/3 (docs/search.md); nothing else here has any.
      expect(hits[0]!.score).toBeGreaterThanOrEqual(1 / 3);
      expect(hits[1]!.score).toBeLessThan(1 / 3);
      expect(noGoodMatch).toBe(false);
    }
  });

  it('a scan of a different page of text is not called a copy of a stored scan, though their difference hashes collide', async () => {
    const [report, inspection] = [scans.report!.scan, scans.inspection!.scan];
    // The old evidence could not tell these two apart: their hashes are uninformative and close.
    const [h1, h2] = await Promise.all([perceptualHash(report), perceptualHash(inspection)]);
    expect([h1.informative, h2.informative]).toEqual([false, false]);
    expect(hammingDistance(h1.hash, h2.hash)).toBeLessThanOrEqual(6);
    const [l1, l2] = await Promise.all([imageLayout(report), imageLayout(inspection)]);
    expect(layoutCorrelation(l1.signature, l2.signature)).toBeLessThan(LAYOUT_COPY_CORRELATION);

    const ranked = await core.home.services.search.rank({ image: inspection, limit: 5 });
    const layoutList = ranked.lists.find((l) => l.basis === 'page-layout');
    expect(layoutList?.candidates).toEqual([]);
    expect(ranked.fused.every((h) => h.score < 1 / 3)).toBe(true);
    // Its own scan, by contrast, is found as a copy of the stored report.
    const own = await core.home.services.search.rank({ image: report, limit: 5 });
    expect(own.lists.find((l) => l.basis === 'page-layout')?.candidates.map((c) => c.target)).toEqual([{ kind: 'page', documentId: ids.report, pageNumber: 1 }]);
  });
});
