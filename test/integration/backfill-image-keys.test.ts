/**
 * `fieldscope backfill image-keys` on a real SQLite knowledge base with the bundled test model:
 * records stored before near-copy keys existed (their hash and layout rows removed, as a store
 * migrated from schema 1 has them) are not found by a copy of themselves; after the backfill
 * they are, a rerun has nothing left to do, and bad usage is refused.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackfillCommand } from '../../src/cli/backfill.js';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core/create-core.js';
import { sqliteFile } from '../../src/store/create-store.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';
import { REPO_ROOT } from '../helpers/shared.js';

const SCAN = path.join(REPO_ROOT, 'demo', 'search-eval', 'queries', 'wo-5531-scan.png');
const PHOTO = path.join(REPO_ROOT, 'demo', 'photos', 'pump-p200.jpg');

function sink() {
  let text = '';
  return { stream: { write: (chunk: string) => ((text += chunk), true), isTTY: false }, text: () => text };
}

describe('fieldscope backfill image-keys', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const ids: Record<string, string> = {};

  const withCore = async <T>(use: (core: Core) => Promise<T>): Promise<T> => {
    const core = await createCore(loadConfig(env), pino({ level: 'silent' }));
    try {
      return await use(core);
    } finally {
      await core.close();
    }
  };
  const run = async (args: string[]) => {
    const out = sink();
    const err = sink();
    const code = await runBackfillCommand(args, { stdout: out.stream, stderr: err.stream, env });
    return { code, stdout: out.text(), stderr: err.text() };
  };
  const scanRank = () =>
    withCore(async (core) => {
      const { hits } = await core.home.services.search.search({ image: readFileSync(SCAN), limit: 10 });
      const at = hits.findIndex((h) => h.document?.id === ids.workOrder);
      return at < 0 ? null : at + 1;
    });
  const photoCopyIsDecisive = () =>
    withCore(async (core) => {
      const copy = await sharp(readFileSync(PHOTO)).webp({ quality: 80 }).toBuffer();
      const ranked = await core.home.services.search.rank({ image: copy, limit: 5 });
      return ranked.lists.find((l) => l.basis === 'perceptual-hash')!.candidates.length > 0;
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-backfill-'));
    env = { CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: dataDir, LOAD_DEMO: 'false', OCR: 'off', CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', LOG_LEVEL: 'error' };
    await withCore(async (core) => {
      const { ingest } = core.home.services;
      ids.workOrder = (await ingest.ingestDocument({ bytes: readFileSync(path.join(REPO_ROOT, 'demo', 'search-eval', 'docs', 'wo-5531-scanned-work-order.pdf')), filename: 'wo.pdf' })).document.id;
      await ingest.ingestDocument({ bytes: readFileSync(path.join(REPO_ROOT, 'demo', 'docs', 'p200-centrifugal-pump-manual.pdf')), filename: 'p200.pdf' });
      await ingest.ingestDocument({ bytes: readFileSync(path.join(REPO_ROOT, 'demo', 'docs', 'sop-07-lockout-tagout.md')), filename: 'sop.md' });
      await ingest.ingestPhoto({ bytes: readFileSync(PHOTO) });
    });
    // As stored before the keys existed.
    const db = new Database(sqliteFile(dataDir));
    db.exec('DELETE FROM image_hashes; DELETE FROM image_layouts;');
    db.close();
  }, 120_000);

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('computes the keys of every page render and photo stored without them; copies are then found by them', async () => {
    expect(await scanRank()).not.toBe(1);
    expect(await photoCopyIsDecisive()).toBe(false);

    const first = await run(['image-keys']);
    expect(first.code, first.stderr).toBe(0);
    // The 4 manual pages (figures: informative hashes) and the photo by hash, the scanned page by layout; the Markdown has no render.
    expect(first.stdout).toMatch(/^5 hashed, 1 by layout, 0 gone, 0 failed/m);
    expect(first.stdout).toContain(`layout    document ${ids.workOrder} page 1 (mostly white: layout signature)`);

    expect(await scanRank()).toBe(1);
    expect(await photoCopyIsDecisive()).toBe(true);
    // Nothing left: a rerun reads no record.
    const again = await run(['image-keys']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^0 hashed, 0 by layout, 0 gone, 0 failed/m);
  }, 120_000);

  it('refuses bad usage with exit code 2', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['everything'])).code).toBe(2);
    expect((await run(['image-keys', '--tenant', '../x'])).code).toBe(2);
  });

  it('refuses a DATA_DIR or tenant without a knowledge base (exit 1) and creates nothing there', async () => {
    // A mistyped DATA_DIR used to get a new, empty knowledge base and "0 hashed ... (exit 0)":
    // the operator was told the backfill was done while the real store was never looked at.
    const missing = path.join(dataDir, 'no-such-dir');
    const out = sink();
    const err = sink();
    const code = await runBackfillCommand(['image-keys'], { stdout: out.stream, stderr: err.stream, env: { ...env, DATA_DIR: missing } });
    expect(code).toBe(1);
    expect(err.text()).toContain('no knowledge base');
    expect(err.text()).toContain(missing);
    expect(existsSync(missing)).toBe(false);

    const tenant = await run(['image-keys', '--tenant', 'acme']);
    expect(tenant.code).toBe(1);
    expect(tenant.stderr).toContain('tenant "acme"');
    expect(existsSync(path.join(dataDir, 'tenants', 'acme'))).toBe(false);
  });
});
