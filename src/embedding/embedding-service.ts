/**
 * The embeddings API: input limits in front of the CLIP encoder. Limits live here, not in the
 * encoder, because they are product policy (what one request may ask for), not model facts.
 */
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { inspectImage } from '../clip/image-decode.js';
import { InvalidInputError, withItemIndex } from '../errors.js';

export interface EmbeddingLimits {
  maxTexts: number;
  maxTextChars: number;
  /** Most images per embedImages call. */
  maxImagesPerCall: number;
  /** Largest image file and image size, checked from each header before anything is decoded. */
  maxUploadBytes: number;
  maxImagePixels: number;
}

export interface EmbeddingResult {
  vector: Float32Array;
  model: string;
}

export class EmbeddingService {
  constructor(
    private readonly encoder: ClipEncoder,
    private readonly limits: EmbeddingLimits,
  ) {}

  async embedTexts(texts: readonly string[], signal?: AbortSignal): Promise<EmbeddingResult[]> {
    if (texts.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'texts is empty: pass at least one text.');
    if (texts.length > this.limits.maxTexts) {
      throw new InvalidInputError('TOO_MANY_INPUTS', `${texts.length} texts in one call; the limit is ${this.limits.maxTexts}. Split the list into several calls.`, {
        details: { limit: this.limits.maxTexts },
      });
    }
    texts.forEach((t, index) => {
      if (t.length > this.limits.maxTextChars) {
        throw new InvalidInputError('TEXT_TOO_LONG', `texts[${index}] has ${t.length} characters; the limit is ${this.limits.maxTextChars} (CLIP reads only the first 77 tokens).`, {
          details: { index, limit: this.limits.maxTextChars },
        });
      }
    });
    const vectors = await this.encoder.embedTexts(texts, { signal });
    return vectors.map((vector) => ({ vector, model: this.encoder.model.id }));
  }

  /** EMPTY_INPUT / TOO_MANY_INPUTS for an embedImages call of `count` images (before its uploads are read). */
  checkImageCount(count: number): void {
    if (count === 0) throw new InvalidInputError('EMPTY_INPUT', 'images is empty: pass at least one image.');
    if (count > this.limits.maxImagesPerCall) {
      throw new InvalidInputError('TOO_MANY_INPUTS', `${count} images in one call; the limit is ${this.limits.maxImagesPerCall} (EMBED_MAX_IMAGES). Split the list into several calls.`, {
        details: { limit: this.limits.maxImagesPerCall },
      });
    }
  }

  /**
   * One embedding per image, in order. Every header is checked first (format, size), so a bad
   * image fails the call before any decoding or inference; an image that fails later (a truncated
   * body) fails the call too and stops the others. Errors name the image (`details.index`).
   * The images go to the encoder as separate items, so they fill inference batches together
   * (and with other callers' images) and each failure is known by position.
   */
  async embedImages(images: readonly Uint8Array[], signal?: AbortSignal): Promise<EmbeddingResult[]> {
    this.checkImageCount(images.length);
    const limits = { maxBytes: this.limits.maxUploadBytes, maxPixels: this.limits.maxImagePixels };
    for (const [index, bytes] of images.entries()) await inspectImage(bytes, limits).catch((error: unknown) => Promise.reject(withItemIndex(error, index, 'images')));
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const vectors = await Promise.all(
        images.map(async (bytes, index) => {
          try {
            const [vector] = await this.encoder.embedImages([bytes], { signal: stop.signal });
            return vector!;
          } catch (error) {
            if (!stop.signal.aborted) stop.abort(error); // the call has failed: the others stop too
            throw withItemIndex(error, index, 'images');
          }
        }),
      );
      return vectors.map((vector) => ({ vector, model: this.encoder.model.id }));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async embedImage(bytes: Uint8Array, signal?: AbortSignal): Promise<EmbeddingResult> {
    const [vector] = await this.encoder.embedImages([bytes], { signal });
    return { vector: vector!, model: this.encoder.model.id };
  }
}
