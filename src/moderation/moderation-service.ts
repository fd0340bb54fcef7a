/**
 * Moderation of uploads, questions and answers against a ModerationPolicy (policy.ts).
 *
 * Images: each policy label is scored on its own, like tagImage: a two-way softmax at CLIP's
 * logit scale between the label's prompt ensemble and the neutral prompts, so several labels
 * can fire at once and adding a label never changes another's score. The decision is `block`
 * when any score reaches its label's block threshold, else `review` when any reaches its
 * review threshold, else `allow`; a threshold of 1 never fires, 0 always does.
 *
 * Text: blocked and allowed terms (term-matcher.ts). Text screening is synchronous and needs
 * no model.
 */
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { l2Normalize } from '../clip/clip-encoder.js';
import { InvalidInputError } from '../errors.js';
import { CLIP_LOGIT_SCALE, dot, softmax } from '../identify/zero-shot.js';
import { ContentBlockedError, type ModeratedSubject } from './errors.js';
import type { ModerationPolicy } from './policy.js';
import { lastWordBoundary, TermMatcher, type TermScreening } from './term-matcher.js';

export type ModerationDecision = 'allow' | 'review' | 'block';

export interface LabelScore {
  label: string;
  /** Probability of the label against the neutral prompts, 0..1. */
  score: number;
}

export interface ImageScreening {
  decision: ModerationDecision;
  /** One per policy label, in policy order. Empty when the policy has no image labels. */
  scores: LabelScore[];
  /** Why: one line per label at or over a threshold, naming the label, never the content. */
  reasons: string[];
}

export type TextScreening = TermScreening;

interface PromptVectors {
  neutral: Float32Array;
  labels: Float32Array[];
}

/** Held back before release when no word boundary turns up (text in scripts without spaces). */
const MAX_HELD_CHARS = 256;
const HELD_TAIL_CHARS = 64;
/** How far back from the released text each streamed screening looks (longer than any term, spaced out). */
const SCREEN_WINDOW_CHARS = 1024;

function meanVector(vectors: readonly Float32Array[]): Float32Array {
  const mean = new Float32Array(vectors[0]!.length);
  for (const v of vectors) for (let d = 0; d < mean.length; d++) mean[d]! += v[d]!;
  return l2Normalize(mean);
}

export class ModerationService {
  private readonly terms: TermMatcher;
  private vectors: Promise<PromptVectors> | null = null;

  constructor(
    private readonly encoder: ClipEncoder,
    readonly policy: ModerationPolicy,
  ) {
    this.terms = new TermMatcher(policy.blockedTerms, policy.allowedTerms);
  }

  /** Whether images are scored at all (false: screenImage allows without touching the model). */
  get screensImages(): boolean {
    return this.policy.imageLabels.length > 0;
  }

  /** Whether text is screened at all. */
  get screensText(): boolean {
    return this.terms.active;
  }

  /** Embeds the policy's prompts now (start-up) rather than on the first upload. */
  async warmUp(): Promise<void> {
    if (this.screensImages) await this.promptVectors();
  }

  /** Scores an image (file bytes, or its CLIP embedding from this encoder) against every policy label. */
  async screenImage(input: Uint8Array | Float32Array): Promise<ImageScreening> {
    if (!this.screensImages) return { decision: 'allow', scores: [], reasons: [] };
    const image = input instanceof Float32Array ? this.checkVector(input) : (await this.encoder.embedImages([input]))[0]!;
    const { neutral, labels } = await this.promptVectors();
    const neutralLogit = CLIP_LOGIT_SCALE * dot(image, neutral);
    const scores = this.policy.imageLabels.map((l, i) => ({ label: l.label, score: softmax([CLIP_LOGIT_SCALE * dot(image, labels[i]!), neutralLogit])[0]! }));

    let decision: ModerationDecision = 'allow';
    const reasons: string[] = [];
    for (const [i, l] of this.policy.imageLabels.entries()) {
      const score = scores[i]!.score;
      if (l.block < 1 && score >= l.block) {
        decision = 'block';
        reasons.push(`"${l.label}" scored ${score.toFixed(3)}, at or over its block threshold ${l.block}.`);
      } else if (l.review < 1 && score >= l.review) {
        if (decision === 'allow') decision = 'review';
        reasons.push(`"${l.label}" scored ${score.toFixed(3)}, at or over its review threshold ${l.review}.`);
      }
    }
    return { decision, scores, reasons };
  }

  /** Screens an image and throws ContentBlockedError when it is blocked; returns the screening otherwise. */
  async assertImageAllowed(input: Uint8Array | Float32Array, subject: ModeratedSubject = 'upload'): Promise<ImageScreening> {
    const screening = await this.screenImage(input);
    if (screening.decision === 'block') throw new ContentBlockedError(subject, { labels: this.blockingLabels(screening) });
    return screening;
  }

  /** Blocked terms in a text, allowed terms taking precedence. */
  screenText(text: string): TextScreening {
    return this.terms.screen(text);
  }

  /** Throws ContentBlockedError naming the terms (not the text) when the text is blocked. */
  assertTextAllowed(text: string, subject: ModeratedSubject): void {
    const screening = this.screenText(text);
    if (screening.decision === 'block') throw new ContentBlockedError(subject, { terms: screening.matchedTerms });
  }

  /** A guard for streamed text (askStream deltas): see TextStreamGuard. */
  streamGuard(): TextStreamGuard {
    return new TextStreamGuard(this.terms);
  }

  /** Labels that reached their block threshold in a screening (named by ContentBlockedError). */
  private blockingLabels(screening: ImageScreening): string[] {
    return screening.scores.filter((s, i) => {
      const block = this.policy.imageLabels[i]!.block;
      return block < 1 && s.score >= block;
    }).map((s) => s.label);
  }

  private checkVector(vector: Float32Array): Float32Array {
    const dim = this.encoder.model.dim;
    if (vector.length !== dim) throw new InvalidInputError('INVALID_VECTOR', `The image vector has ${vector.length} dimensions; the model's have ${dim}.`);
    let norm = 0;
    for (const x of vector) {
      if (!Number.isFinite(x)) throw new InvalidInputError('INVALID_VECTOR', 'The image vector contains a value that is not a finite number.');
      norm += x * x;
    }
    if (norm === 0) throw new InvalidInputError('INVALID_VECTOR', 'The image vector is all zeros.');
    return l2Normalize(vector);
  }

  /** The neutral and label prompt ensembles, embedded once (a failure is retried on the next call). */
  private promptVectors(): Promise<PromptVectors> {
    this.vectors ??= (async () => {
      const { neutralPrompts, imageLabels } = this.policy;
      const all = [...neutralPrompts, ...imageLabels.flatMap((l) => l.prompts)];
      const embedded = await this.encoder.embedTexts(all);
      let at = neutralPrompts.length;
      const labels = imageLabels.map((l) => {
        const v = meanVector(embedded.slice(at, at + l.prompts.length));
        at += l.prompts.length;
        return v;
      });
      return { neutral: meanVector(embedded.slice(0, neutralPrompts.length)), labels };
    })().catch((error: unknown) => {
      this.vectors = null;
      throw error;
    });
    return this.vectors;
  }
}

/**
 * Screens text as it streams, so a blocked term is never sent to the client: text is released
 * up to the last word boundary once everything up to there screens clean (a word still being
 * written is held, so "ass" is not judged before "emble" arrives). When the released-so-far
 * text would contain a blocked term (which a later allowed phrase may still excuse), release
 * stops and everything is held until `finish`, which screens the whole text and releases the
 * rest only if it is allowed. At most a fragment of a spaced-out term ("f u c") can go out
 * before the rest of it arrives.
 */
export class TextStreamGuard {
  private text = '';
  private released = 0;
  private holding = false;
  private finished = false;

  constructor(private readonly terms: TermMatcher) {}

  /** Adds a delta; returns the text that may be sent now (possibly empty). */
  push(delta: string): string {
    if (this.finished) throw new Error('TextStreamGuard: push after finish');
    this.text += delta;
    if (this.holding) return '';
    if (!this.terms.active) return this.release(this.text.length);
    let boundary = lastWordBoundary(this.text, this.released);
    if (boundary === this.released && this.text.length - this.released > MAX_HELD_CHARS) {
      boundary = this.text.length - HELD_TAIL_CHARS;
      if (/[\udc00-\udfff]/.test(this.text[boundary] ?? '')) boundary--;
    }
    if (boundary <= this.released) return '';
    // Everything before `released` screened clean: screen only a window reaching back from it,
    // starting at a word boundary so no word is cut into an innocent-looking fragment.
    const windowStart = this.released <= SCREEN_WINDOW_CHARS ? 0 : lastWordBoundary(this.text.slice(0, this.released - SCREEN_WINDOW_CHARS), 0);
    if (this.terms.screen(this.text.slice(windowStart, boundary)).decision === 'block') {
      this.holding = true;
      return '';
    }
    return this.release(boundary);
  }

  /** Screens the whole text; returns the verdict and what is left to send ('' when blocked). */
  finish(): TextScreening & { rest: string } {
    this.finished = true;
    const screening = this.terms.screen(this.text);
    if (screening.decision === 'block') return { ...screening, rest: '' };
    return { ...screening, rest: this.release(this.text.length) };
  }

  private release(to: number): string {
    const out = this.text.slice(this.released, to);
    this.released = to;
    return out;
  }
}
