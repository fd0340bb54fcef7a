import { OnnxClipEncoder, type EncoderOptions } from '../../src/clip/clip-encoder.js';
import { resolveModelFolder, type ModelVariant } from '../../src/clip/model-files.js';

/** Encoder options sized for tests on a 2-core machine. */
export function testEncoderOptions(overrides: Partial<EncoderOptions> = {}): EncoderOptions {
  return {
    textThreads: 1,
    backgroundTextWorker: false,
    imageThreads: 1,
    imageWorkers: 1,
    imageNice: 0,
    imageBatch: 8,
    textBatch: 32,
    batchWaitMs: 1,
    queueLimit: 1024,
    cacheSize: 100,
    imageLimits: { maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000 },
    ...overrides,
  };
}

export async function loadEncoder(dir: string, overrides: Partial<EncoderOptions> = {}, variant: ModelVariant = 'fp32'): Promise<OnnxClipEncoder> {
  return OnnxClipEncoder.load(await resolveModelFolder(dir, variant), testEncoderOptions(overrides));
}
