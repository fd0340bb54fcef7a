/**
 * Image moderation on the bundled tiny CLIP model. Its weights are random, so these tests check
 * mechanics that hold on any model (thresholds, decisions, determinism, the scoring formula,
 * label independence), never whether a label is right about a photo.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { l2Normalize, type OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { CLIP_LOGIT_SCALE, dot, softmax } from '../../src/identify/zero-shot.js';
import { ContentBlockedError, ModerationPolicyError } from '../../src/moderation/errors.js';
import { ModerationService } from '../../src/moderation/moderation-service.js';
import { DEFAULT_LABEL_TEMPLATES, loadPolicy, parsePolicy } from '../../src/moderation/policy.js';
import { InvalidInputError } from '../../src/errors.js';
import { loadEncoder } from '../helpers/encoder.js';
import { jpeg } from '../helpers/images.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const LABELS = ['nudity', 'graphic violence', 'weapon', "a person's face", 'vehicle licence plate'];

function policyWith(block: number, review: number, labels: readonly string[] = LABELS) {
  return parsePolicy({ imageLabels: labels.map((label) => ({ label, block, review })) }, 'test policy');
}

async function solid(r: number, g: number, b: number): Promise<Buffer> {
  return sharp({ create: { width: 96, height: 64, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

describe('image moderation on the bundled tiny model (mechanics, not semantics)', () => {
  let encoder: OnnxClipEncoder;
  let images: Buffer[];

  beforeAll(async () => {
    encoder = await loadEncoder(TINY_MODEL_DIR);
    images = [await jpeg(), await jpeg(200, 300), await solid(200, 10, 10), await solid(20, 200, 240), await solid(0, 0, 0)];
  });
  afterAll(async () => {
    await encoder?.close();
  });

  it('with every block threshold at 0, every image is blocked, with a reason per label', async () => {
    const service = new ModerationService(encoder, policyWith(0, 0));
    for (const image of images) {
      const s = await service.screenImage(image);
      expect(s.decision).toBe('block');
      expect(s.reasons).toHaveLength(LABELS.length);
      expect(s.reasons[0]).toMatch(/^"nudity" scored \d\.\d{3}, at or over its block threshold 0\.$/);
    }
  });

  it('a blocked upload is refused with CONTENT_BLOCKED naming the labels', async () => {
    const service = new ModerationService(encoder, policyWith(0, 0, ['nudity', 'weapon']));
    const error = await service.assertImageAllowed(images[0]!).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ContentBlockedError);
    expect(error).toMatchObject({ code: 'CONTENT_BLOCKED', category: 'BAD_USER_INPUT', details: { subject: 'upload', labels: ['nudity', 'weapon'], terms: [] } });
    expect((error as Error).message).toBe('The upload was refused by the moderation policy (policy labels "nudity", "weapon").');
  });

  it('thresholds over 1 are rejected before anything is scored', () => {
    expect(() => policyWith(1.01, 0.5)).toThrow(ModerationPolicyError);
    expect(() => policyWith(1.01, 0.5)).toThrow('imageLabels[0] ("nudity").block: must be between 0 and 1; got 1.01');
    expect(() => policyWith(0.5, 1.01)).toThrow(ModerationPolicyError);
  });

  it('with review 0 and block 1, every image goes to review (1 never blocks)', async () => {
    const service = new ModerationService(encoder, policyWith(1, 0));
    for (const image of images) {
      const s = await service.screenImage(image);
      expect(s.decision).toBe('review');
      expect(s.reasons.every((r) => r.includes('review threshold 0.'))).toBe(true);
      await expect(service.assertImageAllowed(image)).resolves.toMatchObject({ decision: 'review' });
    }
  });

  it('with both thresholds at 1 nothing ever fires', async () => {
    const service = new ModerationService(encoder, policyWith(1, 1));
    for (const image of images) expect(await service.screenImage(image)).toMatchObject({ decision: 'allow', reasons: [] });
  });

  it('scores are probabilities, one per label in policy order, and deterministic', async () => {
    const service = new ModerationService(encoder, policyWith(1, 1));
    const again = new ModerationService(encoder, policyWith(1, 1));
    for (const image of images) {
      const first = await service.screenImage(image);
      expect(first.scores.map((s) => s.label)).toEqual(LABELS);
      for (const { score } of first.scores) {
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
      }
      expect(await service.screenImage(image)).toEqual(first);
      expect(await again.screenImage(Buffer.from(image))).toEqual(first);
    }
  });

  it('an embedding gives the same result as the file, without embedding it again', async () => {
    const service = new ModerationService(encoder, policyWith(1, 0));
    const [vector] = await encoder.embedImages([images[2]!]);
    expect(await service.screenImage(vector!)).toEqual(await service.screenImage(images[2]!));
    const scaled = vector!.map((x) => x * 3);
    expect((await service.screenImage(scaled)).scores).toEqual((await service.screenImage(vector!)).scores.map((s) => ({ label: s.label, score: expect.closeTo(s.score, 6) as number })));
  });

  it('rejects an embedding of the wrong size or with non-finite values', async () => {
    const service = new ModerationService(encoder, policyWith(1, 0));
    await expect(service.screenImage(new Float32Array(encoder.model.dim + 1))).rejects.toThrow(InvalidInputError);
    await expect(service.screenImage(new Float32Array(encoder.model.dim))).rejects.toMatchObject({ code: 'INVALID_VECTOR' });
    await expect(service.screenImage(new Float32Array(encoder.model.dim).fill(Number.NaN))).rejects.toMatchObject({ code: 'INVALID_VECTOR' });
  });

  it('scores each label on its own: a two-way softmax at CLIP scale of its prompt ensemble against the neutral prompts', async () => {
    const policy = parsePolicy({ neutralPrompts: ['a photo of a pump.', 'a photo of a valve.'], imageLabels: [{ label: 'weapon', block: 1, review: 1 }] }, 'formula');
    const service = new ModerationService(encoder, policy);
    const [image] = await encoder.embedImages([images[0]!]);
    const mean = (vs: Float32Array[]) => l2Normalize(vs.reduce((acc, v) => acc.map((x, i) => x + v[i]!), new Float32Array(vs[0]!.length)));
    const neutral = mean(await encoder.embedTexts(['a photo of a pump.', 'a photo of a valve.']));
    const label = mean(await encoder.embedTexts(DEFAULT_LABEL_TEMPLATES.map((t) => t.replace('{}', 'weapon'))));
    const expected = softmax([CLIP_LOGIT_SCALE * dot(image!, label), CLIP_LOGIT_SCALE * dot(image!, neutral)])[0]!;
    const [score] = (await service.screenImage(image!)).scores;
    expect(score!.score).toBeCloseTo(expected, 6);
  });

  it('a label scores the same alone or among others, and its own prompts replace the templates', async () => {
    const alone = new ModerationService(encoder, policyWith(1, 1, ['weapon']));
    const among = new ModerationService(encoder, policyWith(1, 1));
    const templated = parsePolicy({ imageLabels: [{ label: 'weapon', prompts: DEFAULT_LABEL_TEMPLATES.map((t) => t.replace('{}', 'weapon')), block: 1, review: 1 }] });
    const own = parsePolicy({ imageLabels: [{ label: 'weapon', prompts: ['a photo of a rifle.'], block: 1, review: 1 }] });
    for (const image of images) {
      const a = (await alone.screenImage(image)).scores[0]!.score;
      expect(a).toBeCloseTo((await among.screenImage(image)).scores.find((s) => s.label === 'weapon')!.score, 9);
      expect(a).toBeCloseTo((await new ModerationService(encoder, templated).screenImage(image)).scores[0]!.score, 9);
    }
    const differs = await Promise.all(images.map(async (image) => (await new ModerationService(encoder, own).screenImage(image)).scores[0]!.score !== (await alone.screenImage(image)).scores[0]!.score));
    expect(differs.some(Boolean)).toBe(true);
  });

  it('decides by the thresholds around an observed score: block at it, review at it, allow just above it', async () => {
    // Find a (label, image) whose score is strictly inside (0, 1), whatever the random weights.
    const probe = new ModerationService(encoder, policyWith(1, 1));
    let found: { label: string; image: Buffer; score: number } | null = null;
    for (const image of images) {
      for (const s of (await probe.screenImage(image)).scores) {
        if (s.score > 1e-6 && s.score < 1 - 1e-6 && (!found || Math.abs(s.score - 0.5) < Math.abs(found.score - 0.5))) found = { label: s.label, image, score: s.score };
      }
    }
    expect(found, 'some label scores strictly between 0 and 1 on some image').not.toBeNull();
    const { label, image, score } = found!;
    const decide = async (block: number, review: number) => (await new ModerationService(encoder, policyWith(block, review, [label])).screenImage(image)).decision;
    expect(await decide(score, score)).toBe('block');
    expect(await decide(1, score)).toBe('review');
    expect(await decide(Math.min(1, score + 1e-9), score)).toBe('review');
    expect(await decide(Math.min(1, score + 1e-9), Math.min(1, score + 1e-9))).toBe('allow');
  });

  it('an empty policy allows without touching the model; the default policy screens every label', async () => {
    const none = new ModerationService(encoder, parsePolicy({}));
    expect(await none.screenImage(new Uint8Array([0, 1, 2]))).toEqual({ decision: 'allow', scores: [], reasons: [] });
    const service = new ModerationService(encoder, await loadPolicy());
    await service.warmUp();
    for (const image of images) {
      const s = await service.screenImage(image);
      expect(['allow', 'review', 'block']).toContain(s.decision);
      expect(s.scores.map((x) => x.label)).toEqual(LABELS);
    }
  });

  it('a failed prompt embedding is retried on the next call', async () => {
    let fail = true;
    const flaky = new Proxy(encoder, {
      get(target, prop, receiver) {
        if (prop === 'embedTexts') {
          return async (texts: readonly string[]) => {
            if (fail) {
              fail = false;
              throw new Error('transient');
            }
            return target.embedTexts(texts);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const service = new ModerationService(flaky, policyWith(1, 0, ['weapon']));
    await expect(service.screenImage(images[0]!)).rejects.toThrow('transient');
    await expect(service.screenImage(images[0]!)).resolves.toMatchObject({ decision: 'review' });
  });
});
