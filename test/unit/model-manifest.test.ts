import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelManifestError, ModelManifestNotFoundError } from '../../src/models/errors.js';
import { listManifests, loadManifest, MANIFESTS_DIR, manifestTotalSize, parseManifest } from '../../src/models/manifest.js';

const REVISION = 'd15189d7028b43f1d3e65039190477f6af591c2a';

describe('the repository manifests', () => {
  it('are found next to the source, not in the cwd', () => {
    expect(MANIFESTS_DIR).toBe(path.resolve(import.meta.dirname, '../../models/manifests'));
  });

  it.each([
    ['clip-vit-b32', 'onnx/vision_model.onnx', 'onnx/text_model.onnx'],
    ['clip-vit-b32-quantized', 'onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx'],
  ])('%s validates and pins every file', async (name, vision, text) => {
    const m = await loadManifest(name);
    expect(m.name).toBe(name);
    expect(m.embeddingDim).toBe(512);
    expect(m.source.repo).toBe('Xenova/clip-vit-base-patch32');
    expect(m.source.revision).toBe(REVISION);
    expect(m.source.baseUrl).toBe(`https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/${REVISION}/`);
    expect(m.files.map((f) => f.path).sort()).toEqual(
      ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', vision, text].sort(),
    );
    for (const f of m.files) {
      expect(f.size, f.path).toBeGreaterThan(0);
      expect(f.sha256, f.path).toMatch(/^[0-9a-f]{64}$/);
      expect(m.provenance?.files[f.path]?.sha256.length, f.path).toBeGreaterThan(0);
    }
    expect(m.vision).toEqual({ file: vision, input: 'pixel_values', output: 'image_embeds' });
    expect(m.text.file).toBe(text);
    expect(m.text.attentionMask).toBe('attention_mask');
  });

  it('share the tokenizer and config files byte for byte', async () => {
    const [fp32, q] = await Promise.all([loadManifest('clip-vit-b32'), loadManifest('clip-vit-b32-quantized')]);
    const shared = (m: typeof fp32) => m.files.filter((f) => !f.path.startsWith('onnx/'));
    expect(shared(q)).toEqual(shared(fp32));
    expect(manifestTotalSize(fp32)).toEqual({ bytes: 607_974_200, complete: true });
  });

  it('are all listed, and all valid', async () => {
    const entries = await listManifests();
    expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(['clip-vit-b32', 'clip-vit-b32-quantized']));
    expect(entries.filter((e) => e.error !== null).map((e) => `${e.name}: ${e.error?.message ?? ''}`)).toEqual([]);
  });
});

function validManifest(): Record<string, unknown> {
  return {
    name: 'tiny',
    embeddingDim: 512,
    source: { repo: 'example/tiny', revision: 'b'.repeat(40), baseUrl: 'https://example.com/tiny/' },
    files: [
      { path: 'v.onnx', size: 10, sha256: 'c'.repeat(64) },
      { path: 't.onnx', size: 10, sha256: null },
      { path: 'tokenizer.json', size: null, sha256: 'd'.repeat(64) },
      { path: 'preprocessor_config.json', size: 1, sha256: 'e'.repeat(64) },
    ],
    vision: { file: 'v.onnx', input: 'pixel_values', output: 'image_embeds' },
    text: { file: 't.onnx', inputIds: 'input_ids', attentionMask: null, output: 'text_embeds', fixedLength: 77, padId: 0 },
    tokenizer: 'tokenizer.json',
    preprocessor: 'preprocessor_config.json',
  };
}

function issuesOf(data: unknown): string[] {
  try {
    parseManifest(data, 'bad.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ModelManifestError);
    expect((err as ModelManifestError).code).toBe('MODEL_MANIFEST_INVALID');
    return [...(err as ModelManifestError).issues];
  }
  throw new Error('expected the manifest to be rejected');
}

describe('manifest schema', () => {
  it('accepts null sizes and checksums (unknown values) and open_clip-style text settings', () => {
    const m = parseManifest(validManifest());
    expect(m.files[1]?.sha256).toBeNull();
    expect(m.text.fixedLength).toBe(77);
  });

  it('gives one readable line per problem, naming the field', () => {
    const bad = validManifest();
    bad.source = { repo: 'example/tiny', revision: 'main', baseUrl: 'https://example.com/tiny/' };
    bad.files = [
      { path: 'v.onnx', size: -1, sha256: 'XYZ' },
      { path: '../escape.onnx', size: 1, sha256: 'c'.repeat(64) },
    ];
    const issues = issuesOf(bad);
    expect(issues).toContain('source.revision: must be a 40-hex commit id, never a branch name');
    expect(issues.some((i) => i.startsWith('files.0.size:'))).toBe(true);
    expect(issues).toContain('files.0.sha256: must be 64 lower-case hex characters');
    expect(issues.some((i) => i.startsWith('files.1.path: must be a relative path'))).toBe(true);

    try {
      parseManifest(bad, 'bad.json');
    } catch (err) {
      expect((err as Error).message).toMatch(/^Invalid model manifest bad\.json:\n {2}- /);
      expect((err as Error).message).toContain('source.revision');
    }
  });

  it('checks the cross references', () => {
    const bad = validManifest();
    bad.vision = { file: 'missing.onnx', input: 'pixel_values', output: 'image_embeds' };
    bad.text = { file: 't.onnx', inputIds: 'input_ids', attentionMask: null, output: 'text_embeds', fixedLength: 77, padId: null };
    bad.files = [...(bad.files as unknown[]), { path: 'v.onnx', size: 1, sha256: null }, { path: 'fieldscope-model.json', size: 1, sha256: null }];
    const issues = issuesOf(bad);
    expect(issues).toContain('vision.file: "missing.onnx" is not listed in files');
    expect(issues).toContain('text.padId: is required when text.fixedLength is set');
    expect(issues).toContain('files.4.path: duplicate file "v.onnx"');
    expect(issues).toContain('files.5.path: "fieldscope-model.json" is a reserved name');
  });

  it('rejects unknown fields and a missing embeddingDim', () => {
    const bad = validManifest();
    delete bad.embeddingDim;
    bad.extra = true;
    const issues = issuesOf(bad);
    expect(issues.some((i) => i.startsWith('embeddingDim:'))).toBe(true);
    expect(issues.some((i) => i.includes('extra'))).toBe(true);
  });
});

describe('loadManifest', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fieldscope-manifests-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the known models when a name is unknown', async () => {
    await expect(loadManifest('nope')).rejects.toThrow(/Unknown model "nope"\. Known models: .*clip-vit-b32, clip-vit-b32-quantized/);
    await expect(loadManifest('nope')).rejects.toBeInstanceOf(ModelManifestNotFoundError);
  });

  it('loads a path, reports bad JSON, and lists invalid manifests instead of failing', async () => {
    await writeFile(path.join(dir, 'tiny.json'), JSON.stringify(validManifest()));
    await writeFile(path.join(dir, 'broken.json'), '{ not json');
    await writeFile(path.join(dir, 'renamed.json'), JSON.stringify(validManifest()));

    expect((await loadManifest(path.join(dir, 'tiny.json'))).name).toBe('tiny');
    expect((await loadManifest('tiny', { dir })).name).toBe('tiny');
    await expect(loadManifest('broken', { dir })).rejects.toThrow(/not valid JSON/);
    await expect(loadManifest('renamed', { dir })).rejects.toThrow(/name: is "tiny" but the file is named "renamed\.json"/);

    const entries = await listManifests({ dir });
    expect(entries.map((e) => [e.name, e.manifest?.name ?? null, e.error?.code ?? null])).toEqual([
      ['broken', null, 'MODEL_MANIFEST_INVALID'],
      ['renamed', null, 'MODEL_MANIFEST_INVALID'],
      ['tiny', 'tiny', null],
    ]);
  });
});
