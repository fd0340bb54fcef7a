/**
 * The embedding cache is partitioned by `cacheScope` (one tenant cannot hit, and so time,
 * another's entries), and `evictImages` drops an image's entry in its scope. Hits and misses are
 * counted through the encoder's StageObserver, as the metrics do.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import type { StageObserver } from '../../src/observability/metrics.js';
import { loadEncoder } from '../helpers/encoder.js';
import { jpeg } from '../helpers/images.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

describe('embedding cache scopes', () => {
  let encoder: OnnxClipEncoder;
  const lookups: { kind: 'text' | 'image'; hit: boolean }[] = [];
  const observer: StageObserver = { observeStage: () => undefined, countCache: (kind, hit) => lookups.push({ kind, hit }) };
  const hits = () => lookups.map((l) => l.hit);
  let image: Buffer;
  let otherImage: Buffer;

  beforeAll(async () => {
    encoder = await loadEncoder(TINY_MODEL_DIR, { observer });
    [image, otherImage] = await Promise.all([jpeg(320, 240), jpeg(330, 250)]);
  });
  afterAll(async () => {
    await encoder?.close();
  });
  beforeEach(() => {
    lookups.length = 0;
  });

  it('does not share a text entry between two scopes, or with unscoped calls', async () => {
    const [a] = await encoder.embedTexts(['texts scope test'], { cacheScope: 'tenant-a' });
    const [b] = await encoder.embedTexts(['texts scope test'], { cacheScope: 'tenant-b' });
    const [none] = await encoder.embedTexts(['texts scope test']);
    expect(hits()).toEqual([false, false, false]);
    expect(Array.from(b!)).toEqual(Array.from(a!));
    expect(Array.from(none!)).toEqual(Array.from(a!));
  });

  it('hits within the same scope', async () => {
    await encoder.embedTexts(['same scope text'], { cacheScope: 'tenant-a' });
    await encoder.embedTexts(['same scope text'], { cacheScope: 'tenant-a', priority: 'background' });
    await encoder.embedImages([image], { cacheScope: 'tenant-a' });
    await encoder.embedImages([image], { cacheScope: 'tenant-a' });
    expect(lookups).toEqual([
      { kind: 'text', hit: false },
      { kind: 'text', hit: true },
      { kind: 'image', hit: false },
      { kind: 'image', hit: true },
    ]);
  });

  it('does not share an image entry between scopes, and gives identical vectors in each', async () => {
    const [a] = await encoder.embedImages([otherImage], { cacheScope: 'tenant-a' });
    const [b] = await encoder.embedImages([otherImage], { cacheScope: 'tenant-b' });
    expect(hits()).toEqual([false, false]);
    expect(Array.from(b!)).toEqual(Array.from(a!));
  });

  it('keeps scopes apart even when scope and text are built to look alike', async () => {
    // With a naive `${scope}\0t:${text}` key, each of these pairs would share one key.
    await encoder.embedTexts(['y'], { cacheScope: 't:x' });
    await encoder.embedTexts(['x\u0000t:y']);
    await encoder.embedTexts(['b\u0000t:c'], { cacheScope: 'a' });
    await encoder.embedTexts(['c'], { cacheScope: 'a\u0000t:b' });
    expect(hits()).toEqual([false, false, false, false]);
  });

  it('still computes duplicates in one call once', async () => {
    const batches: number[] = [];
    const counting = await loadEncoder(TINY_MODEL_DIR, { onBatch: (_lane, size) => batches.push(size) });
    try {
      batches.length = 0;
      const vectors = await counting.embedTexts(['dup', 'dup', 'other', 'dup'], { cacheScope: 'tenant-a' });
      expect(batches).toEqual([2]);
      expect(Array.from(vectors[3]!)).toEqual(Array.from(vectors[0]!));
    } finally {
      await counting.close();
    }
  });

  it('evictImages makes the next call in that scope a miss, and leaves other scopes alone', async () => {
    const photo = await jpeg(300, 200);
    await encoder.embedImages([photo], { cacheScope: 'tenant-a' });
    await encoder.embedImages([photo], { cacheScope: 'tenant-b' });
    encoder.evictImages([photo], { cacheScope: 'tenant-a' });
    lookups.length = 0;
    await encoder.embedImages([photo], { cacheScope: 'tenant-a' });
    await encoder.embedImages([photo], { cacheScope: 'tenant-b' });
    expect(hits()).toEqual([false, true]);
  });

  it('evictImages without a scope evicts only the unscoped entry', async () => {
    const photo = await jpeg(310, 200);
    await encoder.embedImages([photo]);
    await encoder.embedImages([photo], { cacheScope: 'tenant-a' });
    encoder.evictImages([photo]);
    lookups.length = 0;
    await encoder.embedImages([photo]);
    await encoder.embedImages([photo], { cacheScope: 'tenant-a' });
    expect(hits()).toEqual([false, true]);
  });

  it('does not cache an image evicted while it was being embedded', async () => {
    const photo = await jpeg(290, 200);
    const pending = encoder.embedImages([photo], { cacheScope: 'tenant-a' });
    encoder.evictImages([photo], { cacheScope: 'tenant-a' });
    const [vector] = await pending;
    expect(vector).toHaveLength(32);
    lookups.length = 0;
    await encoder.embedImages([photo], { cacheScope: 'tenant-a' });
    expect(hits()).toEqual([false]);
  });
});
