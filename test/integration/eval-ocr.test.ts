/**
 * `fieldscope eval ocr` with the real PP-OCRv4 models on the project's set (demo/ocr-eval, made
 * by its make-set.ts): the CI subset meets floors fixed before the set was first measured (0.80
 * character accuracy, 0.80 identifier recall; not tuned on it), the report carries every figure,
 * bad set lines are each reported with their line number (exit 2), and a floor not met exits 3.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OCR_SET, runOcrEvalCommand, type OcrEvalReport } from '../../src/cli/eval-ocr.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const ENV = { CLIP_MODEL: TINY_MODEL_DIR, LOG_LEVEL: 'silent', OCR_THREADS: '1' };

function capture() {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true), isTTY: false }, text: () => text };
}

async function run(argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await runOcrEvalCommand(argv, { stdout: stdout.stream as never, stderr: stderr.stream as never, env: ENV });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('fieldscope eval ocr', () => {
  it('reads the CI subset of the project set above the floors, and reports every figure', async () => {
    const res = await run(['--subset', 'ci', '--json', '--min-char-accuracy', '0.8', '--min-identifier-recall', '0.8']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as OcrEvalReport;
    process.stdout.write(`eval ocr (CI subset): character accuracy ${report.overall.characterAccuracy}, identifier recall ${report.overall.identifierRecall}, code recall ${report.overall.codeRecall}\n`);
    expect(report.subset).toBe('ci');
    expect(report.items.map((i) => i.kind).sort()).toEqual(['barcode', 'label', 'plate', 'plate', 'plate', 'qr', 'scan']);
    expect(report.overall.codeRecall).toBe(1);
    expect(Object.keys(report.byKind).sort()).toEqual(['barcode', 'label', 'plate', 'qr', 'scan']);
    // The scanned PDF went through ingest: its pages were read.
    expect(report.items.find((i) => i.kind === 'scan')!.read).toContain('4471-B');
  }, 240_000);

  it('reports recall with a knowledge base: a glued read token resolves only to an identifier the set holds', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ocr-set-'));
    copyFileSync(path.join(DEFAULT_OCR_SET, 'images', 'plate-02.jpg'), path.join(dir, 'glued.jpg'));
    copyFileSync(path.join(DEFAULT_OCR_SET, 'images', 'plate-05.jpg'), path.join(dir, 'unknown.jpg'));
    writeFileSync(
      path.join(dir, 'set.jsonl'),
      [
        // Read "TYPEP-200PUMP": P-200 is in the set's knowledge base.
        JSON.stringify({ id: 'glued', file: 'glued.jpg', kind: 'plate', text: 'TYPE P-200 PUMP', identifiers: ['P-200'] }),
        // Read "COMPRESSORAC-50": AC-50 is not in it (the set claims XV-300), so nothing may be added.
        JSON.stringify({ id: 'unknown', file: 'unknown.jpg', kind: 'plate', text: 'MODEL XV-300', identifiers: ['XV-300'] }),
      ].join('\n'),
    );
    const res = await run([dir, '--json']);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as OcrEvalReport;
    const [glued, unknown] = report.items;
    expect(glued!.read).toContain('TYPEP-200PUMP');
    expect(glued!.identifiers.found).toEqual([]);
    expect(glued!.identifiers.foundWithKb).toEqual(['P-200']);
    expect(unknown!.identifiers.foundWithKb).toEqual([]);
    expect(report.overall.addedNotExpected).toBe(0);
    expect(report.overall.identifierRecall).toBe(0);
    expect(report.overall.identifierRecallWithKb).toBe(0.5);
  }, 120_000);

  it('reports each bad set line with its number and exits 2 without reading anything', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ocr-set-'));
    mkdirSync(path.join(dir, 'images'));
    copyFileSync(path.join(DEFAULT_OCR_SET, 'images', 'plate-01.jpg'), path.join(dir, 'images', 'ok.jpg'));
    writeFileSync(
      path.join(dir, 'set.jsonl'),
      [
        JSON.stringify({ id: 'ok', file: 'images/ok.jpg', kind: 'plate', text: 'MODEL XV-300', identifiers: ['XV-300'] }),
        '{not json',
        JSON.stringify({ id: 'no-kind', file: 'images/ok.jpg', text: 'x', identifiers: [] }),
        JSON.stringify({ id: 'both', file: 'images/ok.jpg', kind: 'scan', text: 'x', pages: ['x'], identifiers: [] }),
        JSON.stringify({ id: 'missing', file: 'images/nope.jpg', kind: 'label', text: 'x', identifiers: [] }),
        JSON.stringify({ id: 'ok', file: 'images/ok.jpg', kind: 'plate', text: 'again', identifiers: [] }),
        JSON.stringify({ id: 'escape', file: '../../etc/passwd', kind: 'plate', text: 'x', identifiers: [] }),
      ].join('\n'),
    );
    const res = await run([dir]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/set\.jsonl:2: not JSON/);
    expect(res.stderr).toMatch(/set\.jsonl:3: kind: /);
    expect(res.stderr).toMatch(/set\.jsonl:4: .*either "text"/);
    expect(res.stderr).toMatch(/set\.jsonl:5: file "images\/nope\.jpg" does not exist/);
    expect(res.stderr).toMatch(/set\.jsonl:6: the id "ok" appears twice/);
    expect(res.stderr).toMatch(/set\.jsonl:7: file "\.\.\/\.\.\/etc\/passwd" is outside the set folder/);
    expect(res.stderr).not.toMatch(/set\.jsonl:1:/);
  });

  it('exits 3 when a floor is not met', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-ocr-set-'));
    copyFileSync(path.join(DEFAULT_OCR_SET, 'images', 'bar-01.jpg'), path.join(dir, 'code.jpg'));
    // What the set claims is written there is not: accuracy falls below the floor.
    writeFileSync(path.join(dir, 'set.jsonl'), `${JSON.stringify({ id: 'wrong', file: 'code.jpg', kind: 'barcode', text: 'NOTHING LIKE THIS IS PRINTED HERE', identifiers: [] })}\n`);
    const res = await run([dir, '--min-char-accuracy', '0.9']);
    expect(res.code).toBe(3);
    expect(res.stdout).toMatch(/char accuracy/);
    expect(res.stderr).toMatch(/character accuracy .* is below --min-char-accuracy 0\.9/);
  }, 120_000);

  it('refuses bad arguments with exit 2', async () => {
    expect((await run(['--subset', 'most'])).code).toBe(2);
    expect((await run(['--min-identifier-recall', '1.5'])).code).toBe(2);
  });
});
