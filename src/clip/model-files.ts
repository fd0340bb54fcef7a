/**
 * Turns a model folder into a precise description of what to load: file paths, tensor names,
 * padding rules, declared embedding size. Two ways in, never a guess:
 *  - a `fieldscope-model.json` manifest in the folder (any layout, e.g. open_clip exports);
 *  - the standard Hugging Face ONNX layout (`onnx/vision_model.onnx`, `onnx/text_model.onnx`,
 *    `tokenizer.json`, `preprocessor_config.json`, `config.json`), fp32 or `*_quantized.onnx`.
 * Every referenced file is checked before anything loads, and errors name the file and the fix.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError } from '../errors.js';
import { MODEL_MARKER_FILE, readManifestFile } from '../models/manifest.js';

export type ModelVariant = 'fp32' | 'quantized';

export interface ClipModelSpec {
  /** Shown in the API (`ModelInfo.id`) and stored with vectors. */
  id: string;
  dir: string;
  vision: { file: string; input: string; output: string };
  text: {
    file: string;
    inputIds: string;
    attentionMask: string | null;
    output: string;
    fixedLength: number | null;
    /** null: pad with the tokenizer's end-of-text id (the CLIP convention). */
    padId: number | null;
  };
  tokenizer: string;
  tokenizerConfig: string | null;
  preprocessor: string;
  /** Embedding size the folder declares (manifest or config.json); checked against the graph at load. */
  declaredDim: number | null;
  /** Model-specific thresholds (manifest `calibration`); null when the folder declares none. */
  calibration: { nearDuplicateSimilarity: number } | null;
}

const HF = {
  vision: (v: ModelVariant) => (v === 'quantized' ? 'onnx/vision_model_quantized.onnx' : 'onnx/vision_model.onnx'),
  text: (v: ModelVariant) => (v === 'quantized' ? 'onnx/text_model_quantized.onnx' : 'onnx/text_model.onnx'),
};

async function fileSize(p: string): Promise<number | null> {
  try {
    const s = await stat(p);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

async function readJson(dir: string, rel: string): Promise<unknown> {
  const text = await readFile(path.join(dir, rel), 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ModelLoadError(`${path.join(dir, rel)} is not valid JSON (corrupt or truncated download). Replace it, e.g. by pulling the model again.`, { cause });
  }
}

/** Describes the model in `dir`. Throws ModelLoadError naming the missing/bad file and what to do. */
export async function resolveModelFolder(dir: string, variant: ModelVariant = 'fp32'): Promise<ClipModelSpec> {
  const abs = path.resolve(dir);
  const dirStat = await stat(abs).catch(() => null);
  if (!dirStat?.isDirectory()) {
    throw new ModelLoadError(`CLIP_MODEL points at ${abs}, which is not a folder. Set CLIP_MODEL to a model folder or to a manifest name (see \`fieldscope models list\`).`);
  }

  let spec: ClipModelSpec;
  if ((await fileSize(path.join(abs, MODEL_MARKER_FILE))) !== null) {
    const m = await readManifestFile(path.join(abs, MODEL_MARKER_FILE)).catch((cause: unknown) => {
      throw new ModelLoadError(`${path.join(abs, MODEL_MARKER_FILE)} is not a valid model manifest: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    });
    spec = {
      id: m.name,
      dir: abs,
      vision: m.vision,
      text: m.text,
      tokenizer: m.tokenizer,
      tokenizerConfig: m.files.some((f) => f.path === 'tokenizer_config.json') ? 'tokenizer_config.json' : null,
      preprocessor: m.preprocessor,
      declaredDim: m.embeddingDim,
      calibration: m.calibration ? { nearDuplicateSimilarity: m.calibration.nearDuplicateSimilarity } : null,
    };
  } else if ((await stat(path.join(abs, 'onnx')).catch(() => null))?.isDirectory()) {
    spec = {
      id: path.basename(abs) + (variant === 'quantized' ? '-quantized' : ''),
      dir: abs,
      vision: { file: HF.vision(variant), input: 'pixel_values', output: 'image_embeds' },
      text: { file: HF.text(variant), inputIds: 'input_ids', attentionMask: 'attention_mask', output: 'text_embeds', fixedLength: null, padId: null },
      tokenizer: 'tokenizer.json',
      tokenizerConfig: (await fileSize(path.join(abs, 'tokenizer_config.json'))) !== null ? 'tokenizer_config.json' : null,
      preprocessor: 'preprocessor_config.json',
      declaredDim: await projectionDim(abs),
      calibration: null,
    };
  } else if ((await fileSize(path.join(abs, 'visual.onnx'))) !== null) {
    throw new ModelLoadError(
      `${abs} looks like an open_clip export (visual.onnx), whose tensor names and padding differ from the Hugging Face layout. ` +
        `Add a ${MODEL_MARKER_FILE} manifest naming its files, tensors and embedding size (docs/model-manifest.md); Fieldscope does not guess.`,
    );
  } else {
    throw new ModelLoadError(
      `${abs} is not a model folder: expected ${MODEL_MARKER_FILE}, or the Hugging Face ONNX layout (onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json, preprocessor_config.json). ` +
        'Run `fieldscope models pull clip-vit-b32` or point CLIP_MODEL at a complete folder.',
    );
  }

  for (const rel of [spec.vision.file, spec.text.file, spec.tokenizer, spec.preprocessor]) {
    const size = await fileSize(path.join(abs, rel));
    if (size === null || size === 0) {
      throw new ModelLoadError(
        `Model file ${path.join(abs, rel)} is ${size === 0 ? 'empty' : 'missing'}` +
          (variant === 'quantized' && rel.includes('_quantized') ? ' (CLIP_DTYPE=q8 needs the *_quantized.onnx files; `/usr/bin/python3 models/scripts/quantize_clip.py <folder>` writes them from the fp32 graphs)' : '') +
          '. Pull the model again (`fieldscope models pull <name>`) or copy the complete folder.',
      );
    }
  }
  return spec;
}

async function projectionDim(dir: string): Promise<number | null> {
  if ((await fileSize(path.join(dir, 'config.json'))) === null) return null;
  const config = (await readJson(dir, 'config.json')) as { projection_dim?: unknown };
  return typeof config.projection_dim === 'number' ? config.projection_dim : null;
}

/** Reads the tokenizer and preprocessor JSON files of a resolved model. */
export async function readModelJson(spec: ClipModelSpec): Promise<{ tokenizerJson: unknown; tokenizerConfigJson: unknown; preprocessorJson: unknown }> {
  return {
    tokenizerJson: await readJson(spec.dir, spec.tokenizer),
    tokenizerConfigJson: spec.tokenizerConfig ? await readJson(spec.dir, spec.tokenizerConfig) : {},
    preprocessorJson: await readJson(spec.dir, spec.preprocessor),
  };
}
