/**
 * `fieldscope eval` on a labelled set drawn in the test (no binary fixtures): the report's
 * structure and sanity on the tiny random-weight model (whose accuracies mean nothing), few-shot
 * evaluated only on held-out photos, near-duplicate recall on near-identical variants (the
 * perceptual hash catches them whatever the model), and clear errors with exit code 2 for
 * folders that cannot be evaluated.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, runEvalCommand, VARIANT_KINDS, type EvalReport } from '../../src/cli/eval.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const PARTS = [
  { label: 'BV-50 ball valve', colour: '#d03030', shape: 'circle' },
  { label: 'P-200 centrifugal pump', colour: '#2050c0', shape: 'square' },
  { label: 'PG-10 pressure gauge', colour: '#20a040', shape: 'triangle' },
  { label: 'M-7 electric motor', colour: '#e0a020', shape: 'hexagon' },
  { label: 'F-3 flange', colour: '#8030b0', shape: 'ring' },
  { label: 'H-12 hydraulic hose', colour: '#202020', shape: 'bar' },
] as const;
const PER_LABEL = 4;

function shapeSvg(shape: string, colour: string, cx: number, cy: number, r: number, angle: number): string {
  const turn = `transform="rotate(${angle} ${cx} ${cy})"`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${colour}"/>`;
    case 'square':
      return `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" fill="${colour}" ${turn}/>`;
    case 'triangle':
      return `<polygon points="${cx},${cy - r} ${cx + r},${cy + r} ${cx - r},${cy + r}" fill="${colour}" ${turn}/>`;
    case 'hexagon': {
      const points = Array.from({ length: 6 }, (_, i) => `${cx + r * Math.cos((i * Math.PI) / 3)},${cy + r * Math.sin((i * Math.PI) / 3)}`).join(' ');
      return `<polygon points="${points}" fill="${colour}" ${turn}/>`;
    }
    case 'ring':
      return `<circle cx="${cx}" cy="${cy}" r="${r * 0.8}" fill="none" stroke="${colour}" stroke-width="${r * 0.35}"/>`;
    default:
      return `<rect x="${cx - r * 1.4}" y="${cy - r * 0.3}" width="${r * 2.8}" height="${r * 0.6}" rx="${r * 0.3}" fill="${colour}" ${turn}/>`;
  }
}

/**
 * One folder per part, each photo a distinct shape and colour per part, moved, resized and
 * turned a little per photo, over a different background of translucent stripes (so that the
 * photos of one part are distinct images, not near-duplicates of each other).
 */
async function makeLabelledSet(root: string): Promise<void> {
  for (const [p, part] of PARTS.entries()) {
    const dir = path.join(root, part.label);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < PER_LABEL; i++) {
      const s = p * 17 + i * 5;
      const background = `hsl(${(s * 37) % 360}, 25%, ${70 + (i % 3) * 8}%)`;
      const stripes = Array.from(
        { length: 5 },
        (_, j) =>
          `<rect x="${((s + j * 71) * 13) % 300}" y="0" width="${8 + ((s + j) % 5) * 6}" height="240" fill="rgba(0,0,0,${0.06 + 0.03 * j})" transform="rotate(${((s * 11 + j * 23) % 60) - 30} 160 120)"/>`,
      ).join('');
      const shape = shapeSvg(part.shape, part.colour, 130 + ((i * 29) % 60), 100 + ((i * 19) % 40), 50 + (i % 3) * 8, i * 12);
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="320" height="240" fill="${background}"/>${stripes}${shape}</svg>`;
      writeFileSync(path.join(dir, `photo-${i + 1}.jpg`), await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer());
    }
  }
}

function capture() {
  let text = '';
  return { stream: { write: (s: string) => (text += s), isTTY: false }, text: () => text };
}

const made: string[] = [];
const tmp = (prefix: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
/** The user's DATA_DIR: eval must never create or touch it. */
const userDataDir = path.join(tmp('fieldscope-eval-user-'), 'data');
const env = { CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: userDataDir, CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', LOG_LEVEL: 'error' };

async function run(args: string[], extraEnv: Record<string, string> = {}) {
  const out = capture();
  const err = capture();
  const code = await runEvalCommand(args, { stdout: out.stream, stderr: err.stream, env: { ...env, ...extraEnv } });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('fieldscope eval', () => {
  const set = tmp('fieldscope-eval-set-');
  let report: EvalReport;

  beforeAll(async () => {
    await makeLabelledSet(set);
    // Not a photo (ignored) and a corrupt photo (reported, left out).
    writeFileSync(path.join(set, 'README.txt'), 'labelled set');
    writeFileSync(path.join(set, PARTS[5].label, 'notes.txt'), 'notes');
    writeFileSync(path.join(set, PARTS[5].label, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    const { code, stdout, stderr } = await run([set, '--k', '1,3', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    report = JSON.parse(stdout) as EvalReport;
  }, 30_000);

  it('describes the set, the model and what it left out', () => {
    const total = PARTS.length * PER_LABEL;
    expect(report.labels.map((l) => l.label).sort()).toEqual(PARTS.map((p) => p.label).sort());
    expect(report.labels.every((l) => l.photos === PER_LABEL)).toBe(true);
    expect(report.photos).toBe(total);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]!.file).toBe(path.join(PARTS[5].label, 'broken.jpg'));
    expect(report.failed[0]!.reason).toMatch(/^[A-Z_]+: /);
    expect(report.ignored).toEqual(expect.arrayContaining(['README.txt', path.join(PARTS[5].label, 'notes.txt')]));
    expect(report.model).toMatchObject({ id: 'tiny-clip', isTestModel: true, maxHashDistance: 6 });
    expect(report.model.nearDuplicateSimilarity).toBeGreaterThan(0);
    expect(report.model.nearDuplicateSimilarity).toBeLessThanOrEqual(1);
    // Ran in its own temporary DATA_DIR.
    expect(existsSync(userDataDir)).toBe(false);
  });

  it('reports zero-shot top-1/top-5 accuracy and the most frequent confusions', () => {
    const z = report.identification.zeroShot;
    expect(report.identification.candidates).toBe(PARTS.length);
    expect(report.identification.topN).toBe(5);
    expect(z.evaluated).toBe(PARTS.length * PER_LABEL);
    expect(z.predictions).toHaveLength(z.evaluated);
    for (const p of z.predictions) expect(p.predicted).toHaveLength(5);
    for (const x of [z.top1, z.topN]) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(1);
    }
    expect(z.topN).toBeGreaterThanOrEqual(z.top1);
    const wrong = z.predictions.filter((p) => p.predicted[0] !== p.label).length;
    expect(z.top1).toBeCloseTo(1 - wrong / z.evaluated, 10);
    expect(z.confusions.reduce((n, c) => n + c.count, 0)).toBeLessThanOrEqual(wrong);
    for (const c of z.confusions) expect(c.true).not.toBe(c.predicted);
  });

  it('evaluates the few-shot cache after k confirmations only on the held-out photos', () => {
    const total = PARTS.length * PER_LABEL;
    expect(report.identification.fewShot.map((f) => f.k)).toEqual([1, 3]);
    for (const f of report.identification.fewShot) {
      expect(f.confirmed).toBe(f.k * PARTS.length);
      expect(f.evaluated).toBe(total - f.k * PARTS.length);
      expect(f.capped).toEqual([]);
      const evaluated = f.predictions.map((p) => p.file);
      expect(evaluated).toHaveLength(f.evaluated);
      // Never on a confirmed photo; together they are the whole set.
      expect(evaluated.filter((file) => f.confirmedFiles.includes(file))).toEqual([]);
      expect(new Set([...evaluated, ...f.confirmedFiles]).size).toBe(total);
      for (const part of PARTS) expect(f.confirmedFiles.filter((file) => file.startsWith(`${part.label}${path.sep}`))).toHaveLength(f.k);
      for (const x of [f.top1, f.topN, f.zeroShotTop1, f.zeroShotTopN]) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(1);
      }
    }
    // Different k: different samples, not a leak from the previous run (feedback is undone in between).
    const [k1, k3] = report.identification.fewShot;
    expect(k3!.confirmedFiles.length).toBeGreaterThan(k1!.confirmedFiles.length);
  });

  it('measures near-duplicate detection per method on generated variants', () => {
    const nd = report.nearDuplicates;
    expect(nd.variants).toEqual([...VARIANT_KINDS]);
    expect(nd.variantsTested).toBe(report.photos * VARIANT_KINDS.length);
    expect(nd.variantsFailed).toEqual([]);
    expect(nd.methods.map((m) => m.method)).toEqual(['indexPhoto', 'dhash', 'clip', 'either']);
    for (const m of nd.methods) {
      expect(m.truePositives + m.falseNegatives).toBe(nd.variantsTested);
      expect(m.recall).toBeGreaterThanOrEqual(0);
      expect(m.recall).toBeLessThanOrEqual(1);
      if (m.precision !== null) {
        expect(m.precision).toBeGreaterThanOrEqual(0);
        expect(m.precision).toBeLessThanOrEqual(1);
      }
    }
    const byMethod = Object.fromEntries(nd.methods.map((m) => [m.method, m]));
    // Re-encoded and resized copies are near-identical: the perceptual hash catches them whatever the model.
    for (const method of ['indexPhoto', 'dhash', 'either']) {
      expect(byMethod[method]!.recallByVariant['jpeg-q60']).toBeGreaterThanOrEqual(0.9);
      expect(byMethod[method]!.recallByVariant['resize-50']).toBeGreaterThanOrEqual(0.9);
      expect(byMethod[method]!.precision).not.toBeNull();
    }
    // The hash does not confuse distinct drawings.
    expect(byMethod.dhash!.precision).toBeGreaterThanOrEqual(0.9);
    const pairs = report.photos * VARIANT_KINDS.length * (report.photos - 1) + (report.photos * (report.photos - 1)) / 2;
    expect(byMethod.dhash!.negatives).toBe(pairs);
    expect(nd.hashDistance.variants!.median).toBeLessThanOrEqual(report.model.maxHashDistance);
    expect(nd.clipSimilarity.variants!.max).toBeLessThanOrEqual(1.0001);
  });

  it('prints a readable table, flagging the test model', () => {
    const text = formatReport(report);
    expect(text).toContain('TEST MODEL');
    expect(text).toMatch(/^ {2}zero-shot +24 +[\d.]+% +[\d.]+%$/m);
    expect(text).toMatch(/^ {2}few-shot k=1 +18 +6 +[\d.]+%/m);
    expect(text).toMatch(/^ {2}few-shot k=3 +6 +18 +[\d.]+%/m);
    expect(text).toMatch(/^ {2}method +jpeg-q60 +resize-50 +crop-5 +colour-shift +recall +precision/m);
    expect(text).toMatch(/^ {2}dHash alone +100\.0% +100\.0%/m);
    expect(text).toContain('Most frequent confusions');
  });
});

describe('fieldscope eval: folders it cannot evaluate', () => {
  it('refuses a missing folder, a file, one label, and no photos, with exit code 2', async () => {
    const missing = await run([path.join(os.tmpdir(), 'no-such-eval-set')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such-eval-set does not exist/);

    const file = path.join(tmp('fieldscope-eval-file-'), 'photo.jpg');
    writeFileSync(file, 'x');
    const notFolder = await run([file]);
    expect(notFolder.code).toBe(2);
    expect(notFolder.stderr).toMatch(/is not a folder/);

    const oneLabel = tmp('fieldscope-eval-one-');
    mkdirSync(path.join(oneLabel, 'BV-50 ball valve'));
    writeFileSync(path.join(oneLabel, 'BV-50 ball valve', 'a.jpg'), await sharp({ create: { width: 32, height: 32, channels: 3, background: '#f00' } }).jpeg().toBuffer());
    mkdirSync(path.join(oneLabel, 'empty part'));
    const one = await run([oneLabel]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/at least 2 labels/);

    const noPhotos = tmp('fieldscope-eval-none-');
    mkdirSync(path.join(noPhotos, 'a'));
    mkdirSync(path.join(noPhotos, 'b'));
    writeFileSync(path.join(noPhotos, 'b', 'notes.txt'), 'not a photo');
    writeFileSync(path.join(noPhotos, 'loose.jpg'), 'x');
    const none = await run([noPhotos]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/holds no photos/);

    const clash = tmp('fieldscope-eval-clash-');
    for (const name of ['Gate valve', 'gate  VALVE']) {
      mkdirSync(path.join(clash, name));
      writeFileSync(path.join(clash, name, 'a.jpg'), 'x');
    }
    const same = await run([clash]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/name the same label/);
  });

  it('refuses bad arguments with exit code 2', async () => {
    expect((await run([])).code).toBe(2);
    const badK = await run([tmp('fieldscope-eval-k-'), '--k', '0,x']);
    expect(badK.code).toBe(2);
    expect(badK.stderr).toMatch(/--k: "0" is not a whole number/);
    expect((await run(['a', 'b'])).code).toBe(2);
    expect((await run(['a', '--frobnicate'])).code).toBe(2);
  });

  it('exits 1, saying why, when the model cannot be loaded', async () => {
    const set = tmp('fieldscope-eval-model-');
    for (const label of ['a', 'b']) {
      mkdirSync(path.join(set, label));
      writeFileSync(path.join(set, label, 'p.jpg'), await sharp({ create: { width: 32, height: 32, channels: 3, background: label === 'a' ? '#f00' : '#00f' } }).jpeg().toBuffer());
    }
    const { code, stderr } = await run([set], { CLIP_MODEL: '/no/such/model' });
    expect(code).toBe(1);
    expect(stderr).toContain('MODEL_LOAD_FAILED');
    expect(existsSync(userDataDir)).toBe(false);
  });
});
