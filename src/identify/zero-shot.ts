/**
 * Zero-shot classification with CLIP: a label becomes the mean embedding of a few prompts
 * ("a photo of a {}", …: a prompt ensemble, as in the CLIP paper, which is steadier than one
 * prompt), and an image is scored against each label by cosine similarity, turned into a
 * probability by a softmax at CLIP's logit scale.
 */
import { LRUCache } from 'lru-cache';
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { l2Normalize } from '../clip/clip-encoder.js';

export const DEFAULT_TEMPLATES = ['a photo of a {}.', 'a close-up photo of a {}.', 'a photo of the {} in the field.', 'an industrial {}.'];

/** CLIP's learned temperature (exp(logit_scale) ≈ 100 for the released models). */
export const CLIP_LOGIT_SCALE = 100;

export interface LabelScore {
  label: string;
  /** Softmax probability over the labels given (sums to 1). */
  score: number;
  /** Raw cosine similarity between the image and the label's prompt ensemble. */
  similarity: number;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Label vectors kept per classifier (one per tenant): a catalogue of a few thousand parts. */
const LABEL_CACHE_SIZE = 5000;

export class ZeroShotClassifier {
  /**
   * A label's vector depends only on the model and its text, so it is computed once: a catalogue
   * of hundreds of labels (4 prompts each) costs the encoder nothing on the next identifyPart.
   */
  private readonly cache = new LRUCache<string, Float32Array>({ max: LABEL_CACHE_SIZE });

  constructor(
    private readonly encoder: ClipEncoder,
    private readonly templates: readonly string[] = DEFAULT_TEMPLATES,
  ) {}

  /** One normalised vector per label: the mean of its prompts' embeddings. */
  async labelVectors(labels: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    // Read once up front: what this call returns does not depend on evictions while it waits.
    const known = new Map<string, Float32Array>();
    for (const l of labels) {
      const v = this.cache.get(l);
      if (v) known.set(l, v);
    }
    const missing = [...new Set(labels.filter((l) => !known.has(l)))];
    if (missing.length > 0) {
      const prompts = missing.flatMap((label) => this.templates.map((t) => t.replace('{}', label)));
      // The encoder feeds a long list through its queue a slice at a time (never OVERLOADED by its size).
      const vectors = await this.encoder.embedTexts(prompts, { signal: options.signal });
      missing.forEach((label, i) => {
        const mean = new Float32Array(vectors[0]!.length);
        for (let t = 0; t < this.templates.length; t++) {
          const v = vectors[i * this.templates.length + t]!;
          for (let d = 0; d < mean.length; d++) mean[d]! += v[d]!;
        }
        const vector = l2Normalize(mean);
        known.set(label, vector);
        this.cache.set(label, vector);
      });
    }
    return labels.map((l) => known.get(l)!);
  }

  /** Scores an image embedding against labels, best first. */
  async classify(imageVector: Float32Array, labels: readonly string[]): Promise<LabelScore[]> {
    const vectors = await this.labelVectors(labels);
    const similarities = vectors.map((v) => dot(imageVector, v));
    const probabilities = softmax(similarities.map((s) => s * CLIP_LOGIT_SCALE));
    return labels.map((label, i) => ({ label, score: probabilities[i]!, similarity: similarities[i]! })).sort((a, b) => b.score - a.score);
  }
}

/** What field photos usually show; captions are tagged against these plus the knowledge base's titles. */
export const FIELD_EQUIPMENT_LABELS = [
  'ball valve',
  'gate valve',
  'butterfly valve',
  'check valve',
  'centrifugal pump',
  'electric motor',
  'pressure gauge',
  'thermostat',
  'air compressor',
  'hydraulic hose',
  'pipe fitting',
  'electrical panel',
  'circuit breaker',
  'wiring terminal block',
  'control panel',
  'heat exchanger',
  'tank',
  'flange',
  'mechanical seal',
  'bearing',
  'corroded metal',
  'leaking pipe',
  'person',
  'document page',
];
