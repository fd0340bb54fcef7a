/**
 * Which model folder `npm start` runs: CLIP_MODEL as a folder path, or as a manifest name
 * installed under MODELS_DIR (pulled on first start when absent). When the configured model
 * cannot be had (offline, say) the server can fall back to the bundled test model, loudly,
 * because a server that starts with meaningless vectors is more useful to a newcomer than one
 * that does not start, and the warning (plus `health.model.isTestModel`) says what it is.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ModelLoadError } from '../errors.js';
import { pullModel, type HubOptions, type PullProgressEvent } from './download.js';
import { loadManifest, MODEL_MARKER_FILE } from './manifest.js';

/** The bundled random-weight model made by models/scripts/make_tiny_clip.py. */
export const TEST_MODEL_DIR = fileURLToPath(new URL('../../models/tiny-clip/', import.meta.url));

export interface ModelChoice {
  dir: string;
  isTestModel: boolean;
}

export interface ResolveModelOptions {
  clipModel: string;
  modelsDir: string;
  autoPull: boolean;
  fallbackToTestModel: boolean;
  baseUrl: string | undefined;
  manifestsDir?: string | undefined;
  hub?: HubOptions;
  logger: Logger;
  fetch?: typeof globalThis.fetch;
}

function looksLikePath(value: string): boolean {
  return value.includes('/') || value.includes('\\') || value.startsWith('.');
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * The manifest name to use for CLIP_MODEL at a precision: a manifest name asked for as int8
 * (CLIP_DTYPE=q8) means its "<name>-quantized" manifest; a folder path is left alone (its
 * onnx/*_quantized.onnx files are picked when the folder is read).
 */
export function modelNameForVariant(clipModel: string, variant: 'fp32' | 'quantized'): string {
  if (variant !== 'quantized' || looksLikePath(clipModel) || clipModel.endsWith('-quantized')) return clipModel;
  return `${clipModel}-quantized`;
}

export async function resolveModelChoice(options: ResolveModelOptions): Promise<ModelChoice> {
  const { clipModel, logger } = options;
  if (looksLikePath(clipModel)) {
    const dir = path.resolve(clipModel);
    return { dir, isTestModel: path.resolve(dir) === path.resolve(TEST_MODEL_DIR) };
  }
  const installed = path.join(options.modelsDir, clipModel);
  if (await exists(path.join(installed, MODEL_MARKER_FILE))) return { dir: installed, isTestModel: false };

  let failure: unknown;
  try {
    const manifest = await loadManifest(clipModel, options.manifestsDir ? { dir: options.manifestsDir } : {});
    if (!options.autoPull) {
      throw new ModelLoadError(`Model "${clipModel}" is not installed in ${options.modelsDir} and CLIP_AUTO_PULL is off. Run \`npm run models -- pull ${clipModel}\`.`);
    }
    logger.info({ model: clipModel, modelsDir: options.modelsDir }, 'model not installed: pulling it');
    let lastLogged = 0;
    const onProgress = (e: PullProgressEvent) => {
      if (e.type === 'progress' && Date.now() - lastLogged > 5000) {
        lastLogged = Date.now();
        logger.info({ file: e.file, received: e.received, size: e.size }, 'downloading model');
      }
    };
    const result = await pullModel(manifest, {
      modelsDir: options.modelsDir,
      ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.hub ? { hub: options.hub } : {}),
      onProgress,
      retries: 1,
    });
    return { dir: result.dir, isTestModel: false };
  } catch (error) {
    failure = error;
  }
  const reason = failure instanceof Error ? failure.message : String(failure);
  if (!options.fallbackToTestModel) {
    throw new ModelLoadError(`Model "${clipModel}" could not be installed: ${reason}`, { cause: failure });
  }
  logger.warn(
    { model: clipModel, reason, fallback: TEST_MODEL_DIR },
    '!!! RUNNING ON THE TEST MODEL: the configured CLIP model could not be installed, so Fieldscope falls back to a tiny model with RANDOM WEIGHTS. ' +
      'Every embedding, search result and tag is MEANINGLESS. Install the real model (`npm run models -- pull clip-vit-b32`, or set CLIP_MODEL to a model folder) and restart. !!!',
  );
  return { dir: TEST_MODEL_DIR, isTestModel: true };
}
