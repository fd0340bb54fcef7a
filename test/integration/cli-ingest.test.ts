/**
 * `fieldscope ingest` on real files: a line per item, a summary, safe to rerun, bad files
 * reported and skipped, and a non-zero exit only when it cannot run at all.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runIngestCommand } from '../../src/cli/ingest.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

function capture() {
  let text = '';
  return { stream: { write: (s: string) => (text += s), isTTY: false }, text: () => text };
}

async function run(args: string[], env: Record<string, string>) {
  const out = capture();
  const err = capture();
  const code = await runIngestCommand(args, { stdout: out.stream, stderr: err.stream, env: { ...env, LOG_LEVEL: 'error' } });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('fieldscope ingest', () => {
  const env = { CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'fieldscope-cli-')), CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1' };
  const demo = path.join(REPO_ROOT, 'demo');

  it('ingests a folder of documents and photos, one line per item and a summary', async () => {
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'bad-')), 'broken.pdf');
    writeFileSync(bad, Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(100, 0x41)]));
    const { code, stdout } = await run([path.join(demo, 'docs'), path.join(demo, 'photos'), bad, '/no/such/file.pdf'], env);
    expect(code).toBe(0);
    expect(stdout).toMatch(/ingested +.*p200-centrifugal-pump-manual\.pdf +"[^"]+", \d+ pages/);
    expect(stdout).toMatch(/ingested +.*valve-bv50\.jpg +photo .*BV-50/);
    expect(stdout).toMatch(/failed +.*broken\.pdf: INVALID_DOCUMENT/);
    expect(stdout).toMatch(/failed +\/no\/such\/file\.pdf: no such file or folder/);
    expect(stdout).toMatch(/^10 ingested, 0 duplicate, 2 failed \(11 files in [\d.]+ s\)$/m);
  });

  it('is safe to rerun: everything already present is a duplicate', async () => {
    const { code, stdout } = await run([path.join(demo, 'docs'), path.join(demo, 'photos')], env);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^0 ingested, 10 duplicate, 0 failed/m);
  });

  it('exits non-zero, saying why, when it cannot run at all', async () => {
    const { code, stderr } = await run([demo], { ...env, CLIP_MODEL: '/no/such/model' });
    expect(code).toBe(1);
    expect(stderr).toContain('MODEL_LOAD_FAILED');
  });
});
