/**
 * An abandoned ingest stops where it is: the operation's abort signal reaches the PDF extraction
 * worker (real pdfjs in a worker thread), so a long PDF is not read to its last page after the
 * deadline or after the client went away, and nothing is stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core/create-core.js';
import { extractPdfIsolated } from '../../src/ingest/isolated-pdf.js';
import { makePdf } from '../helpers/documents.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const PAGES = 100;

describe('ingestDocument with an aborted signal', () => {
  let core: Core;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ingest-abort-'));
    core = await createCore(loadConfig({ CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: dataDir, LOAD_DEMO: 'false', CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', LOG_LEVEL: 'error' }), pino({ level: 'silent' }));
  }, 60_000);
  afterAll(async () => {
    await core?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops reading a long PDF at the abort instead of after its last page, and stores nothing', async () => {
    const pages = Array.from({ length: PAGES }, (_, i) => [`Page ${i + 1} of the long manual`, 'Check the seal and the impeller.', 'Torque the bolts to 25 Nm.']);
    const pdf = await makePdf(pages, 'Long manual');
    // How long reading it whole takes on this machine now (rendering every page), on a warm worker
    // (the first run also starts the worker and loads pdfjs).
    const readWhole = () => extractPdfIsolated(pdf, { maxPages: 200, renderLongSide: 448, thumbnailLongSide: 320 }, { workerMemoryMb: 256, pageTimeoutMs: 30_000 });
    await readWhole();
    const started = performance.now();
    const whole = await readWhole();
    const wholeMs = performance.now() - started;
    expect(whole.pages).toHaveLength(PAGES);

    const controller = new AbortController();
    const reason = new Error('deadline passed');
    setTimeout(() => controller.abort(reason), 100);
    const abortedAt = performance.now();
    const outcome = await core.home.services.ingest.ingestDocument({ bytes: pdf, filename: 'long.pdf', signal: controller.signal }).then(
      () => 'stored',
      (error: unknown) => error,
    );
    const tookMs = performance.now() - abortedAt;
    expect(outcome).toBe(reason);
    // Stopped near the abort, not after reading every page (uncancelled this took about wholeMs).
    expect(tookMs).toBeLessThan(Math.max(400, wholeMs / 2));
    expect((await core.home.store.listDocuments({ first: 1 })).totalCount).toBe(0);
  }, 120_000);
});
