/**
 * The core an evaluation (`fieldscope eval search`, `eval ocr`) runs on: the user's settings (model,
 * OCR, encoder) over a fresh temporary DATA_DIR, with no keys file and no demo, so an evaluation never
 * reads or writes the user's data. `dispose` closes it and deletes the folder; a core that fails to
 * open leaves nothing behind either.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Config } from '../config.js';
import { createCore, type Core } from '../core/create-core.js';

export interface ThrowawayCore {
  core: Core;
  dispose(): Promise<void>;
}

/** `name` goes into the temporary folder's name (fieldscope-eval-NAME-…); `store` defaults to embedded SQLite. */
export async function openThrowawayCore(userConfig: Config, name: string, store: Config['store'] = { kind: 'sqlite', qdrant: undefined }): Promise<ThrowawayCore> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `fieldscope-eval-${name}-`));
  let core: Core | null = null;
  try {
    const config: Config = { ...userConfig, dataDir, store, loadDemo: false, auth: { ...userConfig.auth, keysFile: undefined } };
    // The report goes to stdout; the core's log (warnings and up, unless asked for more) to stderr.
    const level = config.logLevel === 'info' ? 'warn' : config.logLevel;
    core = await createCore(config, pino({ level, base: { service: 'fieldscope' } }, pino.destination(2)));
    await core.storeReady;
  } catch (error) {
    await core?.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const opened = core;
  return {
    core: opened,
    dispose: async () => {
      await opened.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
