import type { CacheScopeOption, ClipEncoder, ModelInfo, Priority } from './clip-encoder.js';

/**
 * A view of `encoder` whose every call uses one tenant's slice of the embedding cache
 * (`cacheScope: scope`, which callers cannot override). Tenants must not share cache entries:
 * a cache hit is visibly faster, so a shared cache would let one tenant learn by timing what
 * another has embedded, and a tenant's deleted photo must be evictable from its own slice.
 *
 * Everything else is forwarded unchanged, except `close()`: the encoder is shared by every
 * tenant, so only its owner (the core) closes it.
 */
export function scopedEncoder(encoder: ClipEncoder, scope: string): ClipEncoder {
  if (scope === '') throw new TypeError('scopedEncoder needs a non-empty cache scope');
  const view: ClipEncoder = {
    get model(): ModelInfo {
      return encoder.model;
    },
    get ready(): boolean {
      return encoder.ready;
    },
    embedTexts(texts: readonly string[], options?: { priority?: Priority } & CacheScopeOption) {
      return encoder.embedTexts(texts, { ...options, cacheScope: scope });
    },
    countTokens(text: string) {
      return encoder.countTokens(text);
    },
    embedImages(images: readonly Uint8Array[], options?: CacheScopeOption) {
      return encoder.embedImages(images, { ...options, cacheScope: scope });
    },
    queueDepth() {
      return encoder.queueDepth();
    },
    close() {
      return Promise.resolve();
    },
  };
  if (encoder.evictImages) {
    view.evictImages = (images: readonly Uint8Array[], options?: CacheScopeOption) => encoder.evictImages?.(images, { ...options, cacheScope: scope });
  }
  if (encoder.evictTexts) {
    view.evictTexts = (texts: readonly string[], options?: CacheScopeOption) => encoder.evictTexts?.(texts, { ...options, cacheScope: scope });
  }
  return view;
}
