import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { OCR_MODEL_FILES } from '../../src/ocr/paddle-text-reader.js';

describe('OCR settings', () => {
  it('default to on, with the PP-OCRv4 files npm ci installs', () => {
    const { ocr } = loadConfig({});
    expect(ocr).toMatchObject({ enabled: true, threads: 2, queueLimit: 16, maxPages: 100, pageTimeoutMs: 60_000 });
    expect(ocr.modelDir).toMatch(/node_modules\/@gutenye\/ocr-models\/assets$/);
    for (const file of Object.values(OCR_MODEL_FILES)) expect(existsSync(path.join(ocr.modelDir, file)), file).toBe(true);
  });

  it('read OCR, OCR_MODEL_DIR, OCR_THREADS and OCR_QUEUE_LIMIT', () => {
    const { ocr } = loadConfig({ OCR: 'off', OCR_MODEL_DIR: 'models/ocr', OCR_THREADS: '1', OCR_QUEUE_LIMIT: '3', OCR_MAX_PAGES: '7', OCR_PAGE_TIMEOUT_MS: '5000' });
    expect(ocr).toEqual({ enabled: false, modelDir: path.resolve('models/ocr'), threads: 1, queueLimit: 3, maxPages: 7, pageTimeoutMs: 5000 });
  });

  it('refuse values other than on and off, by name', () => {
    expect(() => loadConfig({ OCR: 'yes', OCR_THREADS: '0' })).toThrow(/OCR[\s\S]*OCR_THREADS|OCR_THREADS[\s\S]*OCR/);
  });
});
