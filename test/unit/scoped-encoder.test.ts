import { describe, expect, it } from 'vitest';
import type { ClipEncoder } from '../../src/clip/clip-encoder.js';
import { scopedEncoder } from '../../src/clip/scoped-encoder.js';

type Call = { method: string; args: unknown[] };

function recordingEncoder(withEvict = true): { encoder: ClipEncoder; calls: Call[]; state: { dim: number; ready: boolean } } {
  const calls: Call[] = [];
  const state = { dim: 0, ready: false };
  const record = (method: string) => (...args: unknown[]) => {
    calls.push({ method, args });
    return undefined;
  };
  const encoder: ClipEncoder = {
    get model() {
      return { id: 'fake', dim: state.dim, isTestModel: true, nearDuplicateSimilarity: 0.95 };
    },
    get ready() {
      return state.ready;
    },
    embedTexts: async (...args) => {
      record('embedTexts')(...args);
      return args[0].map(() => new Float32Array(2));
    },
    countTokens: (text) => {
      record('countTokens')(text);
      return text.length;
    },
    embedImages: async (...args) => {
      record('embedImages')(...args);
      return args[0].map(() => new Float32Array(2));
    },
    queueDepth: () => ({ text: 1, backgroundText: 2, image: 3 }),
    close: async () => void record('close')(),
    ...(withEvict ? { evictImages: (...args: Parameters<NonNullable<ClipEncoder['evictImages']>>) => void record('evictImages')(...args) } : {}),
  };
  return { encoder, calls, state };
}

describe('scopedEncoder', () => {
  const bytes = new Uint8Array([1, 2, 3]);

  it('passes its scope on every cached call, and the caller cannot override it', async () => {
    const { encoder, calls } = recordingEncoder();
    const scoped = scopedEncoder(encoder, 'tenant-a');
    await scoped.embedTexts(['a']);
    await scoped.embedTexts(['b'], { priority: 'background', cacheScope: 'tenant-b' });
    await scoped.embedImages([bytes]);
    await scoped.embedImages([bytes], { cacheScope: 'tenant-b' });
    scoped.evictImages!([bytes]);
    scoped.evictImages!([bytes], { cacheScope: 'tenant-b' });
    expect(calls).toEqual([
      { method: 'embedTexts', args: [['a'], { cacheScope: 'tenant-a' }] },
      { method: 'embedTexts', args: [['b'], { priority: 'background', cacheScope: 'tenant-a' }] },
      { method: 'embedImages', args: [[bytes], { cacheScope: 'tenant-a' }] },
      { method: 'embedImages', args: [[bytes], { cacheScope: 'tenant-a' }] },
      { method: 'evictImages', args: [[bytes], { cacheScope: 'tenant-a' }] },
      { method: 'evictImages', args: [[bytes], { cacheScope: 'tenant-a' }] },
    ]);
  });

  it('forwards the rest of the interface, live', async () => {
    const { encoder, calls, state } = recordingEncoder();
    const scoped = scopedEncoder(encoder, 'tenant-a');
    expect(scoped.model.dim).toBe(0);
    expect(scoped.ready).toBe(false);
    state.dim = 32;
    state.ready = true;
    expect(scoped.model).toEqual(encoder.model);
    expect(scoped.ready).toBe(true);
    expect(scoped.countTokens('abcd')).toBe(4);
    expect(scoped.queueDepth()).toEqual({ text: 1, backgroundText: 2, image: 3 });
    await scoped.close();
    // The encoder is shared by every tenant: a view's close leaves it open.
    expect(calls.map((c) => c.method)).toEqual(['countTokens']);
  });

  it('has no evictImages when the wrapped encoder has none', () => {
    expect(scopedEncoder(recordingEncoder(false).encoder, 'tenant-a').evictImages).toBeUndefined();
  });

  it('refuses an empty scope', () => {
    expect(() => scopedEncoder(recordingEncoder().encoder, '')).toThrow(TypeError);
  });
});
