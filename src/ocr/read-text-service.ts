/**
 * readText: what is written on a photo. A thin service over the `TextReader` port so the
 * resolver stays a few lines and `OCR=off` has one place that says so.
 */
import { AppError } from '../errors.js';
import type { ReadTextResult, TextReader } from './text-reader.js';

export class ReadTextService {
  /** `reader` is null when OCR=off. */
  constructor(private readonly reader: TextReader | null) {}

  get enabled(): boolean {
    return this.reader !== null;
  }

  async readText(image: Uint8Array, signal?: AbortSignal): Promise<ReadTextResult> {
    if (!this.reader) throw new AppError('OCR_DISABLED', 'UNAVAILABLE', 'Reading text is turned off on this server (OCR=off).');
    signal?.throwIfAborted();
    return this.reader.readText(image, signal ? { signal } : {});
  }
}
