/**
 * The embeddings API: input limits in front of the CLIP encoder. Limits live here, not in the
 * encoder, because they are product policy (what one request may ask for), not model facts.
 */
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { InvalidInputError } from '../errors.js';

export interface EmbeddingLimits {
  maxTexts: number;
  maxTextChars: number;
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

  async embedImage(bytes: Uint8Array, signal?: AbortSignal): Promise<EmbeddingResult> {
    const [vector] = await this.encoder.embedImages([bytes], { signal });
    return { vector: vector!, model: this.encoder.model.id };
  }
}
