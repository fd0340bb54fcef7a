/**
 * CLIP_DTYPE=q8 on a model folder without the quantized graphs: the start-up message names the
 * setting the README documents (CLIP_DTYPE, not only its older spelling) and how to write them.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveModelFolder } from '../../src/clip/model-files.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

describe('a folder without *_quantized.onnx under CLIP_DTYPE=q8', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-noq8-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused with a message naming CLIP_DTYPE=q8 and the quantize script', async () => {
    cpSync(TINY_MODEL_DIR, dir, { recursive: true, filter: (src) => !src.includes('_quantized') });
    const error = await resolveModelFolder(dir, 'quantized').then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toContain('vision_model_quantized.onnx is missing');
    expect(error?.message).toContain('CLIP_DTYPE=q8');
    expect(error?.message).toContain('models/scripts/quantize_clip.py');
  });
});
