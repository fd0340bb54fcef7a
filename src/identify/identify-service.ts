/**
 * "What is this part?": zero-shot identification over a catalogue of part labels, improved by
 * confirmed examples (a training-free few-shot cache in the style of Tip-Adapter, Zhang et al.
 * 2022), multi-label tagging, near-duplicate photos, and the review queue.
 *
 * Scores are calibrated per model rather than by constants: identification logits are CLIP's
 * (cosine × 100) and the few-shot cache adds, per confirmed example, a share of the spread of
 * the query's own zero-shot logits (so its pull is the same on any model: one confirmation of the
 * same photo is enough to win, a similar photo of the part pulls less);
 * near-duplicate thresholds come from the model's manifest.
 *
 * What is written on the part decides before what it looks like: the photo is read (OCR and
 * QR/barcodes) beside its embedding, and a label that carries an identifier read on it (a
 * document titled "XV-300 Pump Manual", a part number from metadata) is pulled to the top by
 * several times the spread of the zero-shot logits, so it wins whatever the model. Read surely
 * (fusion.ts READ_EVIDENCE), it makes the identification confident on its own, even on the test
 * model, unless the photo names two different labelled parts (then a person decides).
 */
import { randomUUID } from 'node:crypto';
import type { BlobStore } from '../blob/blob-store.js';
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { AppError, InvalidInputError } from '../errors.js';
import type { SearchHitView, SearchService } from '../search/search-service.js';
import type { Candidate, KnowledgeStore, PhotoRecord } from '../store/knowledge-store.js';
import { normalizeText } from '../text/normalize-text.js';
import type { FeedbackRecord, IdentificationRecord, IdentifyStore, ReviewItemRecord, ReviewStatus } from './identify-store.js';
import { isNearCopy } from '../search/fusion.js';
import { imageLayout } from './page-layout.js';
import { hammingDistance, perceptualHash } from './perceptual-hash.js';
import { CLIP_LOGIT_SCALE, dot, softmax, ZeroShotClassifier } from './zero-shot.js';
import type { ReadTextResult, TextReader } from '../ocr/text-reader.js';
import { identifierConfidences } from '../ocr/read-text-result.js';
import { READ_EVIDENCE } from '../search/fusion.js';
import { extractIdentifiers, normalizeIdentifier } from '../search/identifiers.js';
import { identifierKeys, resolveGluedIdentifiers } from '../search/glued-identifiers.js';

export interface IdentifySettings {
  /** A top score below this is not confident. */
  minScore: number;
  /** A lead over the runner-up below this is not confident. */
  minMargin: number;
  maxCandidates: number;
  maxLabelChars: number;
  maxTagLabels: number;
  /** Tip-Adapter: weight of the few-shot cache, in units of the query's zero-shot logit range (max − min) per fully matching example. */
  fewShotAlpha: number;
  /** Tip-Adapter: sharpness of the affinity exp(-β(1 - cos)). */
  fewShotBeta: number;
  /** dHash Hamming distance at or below which two photos are copies, whatever the model. */
  maxHashDistance: number;
  /** How many top candidates get their best manual pages. */
  candidatesWithPages: number;
}

export const DEFAULT_IDENTIFY_SETTINGS: IdentifySettings = {
  minScore: 0.5,
  minMargin: 0.2,
  maxCandidates: 1000,
  maxLabelChars: 200,
  maxTagLabels: 200,
  fewShotAlpha: 1.5,
  fewShotBeta: 5.5,
  maxHashDistance: 6,
  candidatesWithPages: 3,
};

export interface PartCandidateView {
  label: string;
  score: number;
  pages: SearchHitView[];
  /** How many confirmed examples pulled this label up. */
  confirmations: number;
  /** Identifiers read on the photo that this label carries (as read): the evidence that pulled it up. */
  readIdentifiers: string[];
}

export interface PartIdentificationView {
  id: string;
  candidates: PartCandidateView[];
  confident: boolean;
  reviewItemId: string | null;
  /** What was read on the photo (null: OCR=off, or the read failed). */
  readText: ReadTextResult | null;
}

/**
 * Pull of a label carrying an identifier read on the photo, in units of the query's zero-shot
 * logit range (max − min): read surely, 3 ranges put it above every label without one whatever
 * the picture says; read doubtfully, a nudge of up to half a range.
 */
export const READ_LABEL_PULL = { sure: 3, doubtful: 0.5 } as const;

/** How long document-derived labels are reused before the catalogue is read again. */
const DOCUMENT_LABEL_TTL_MS = 10_000;

/** Metadata keys whose string values name a part. */
const PART_KEYS = ['part', 'partName', 'partNumber', 'part_number', 'model', 'name'];

class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(code, 'NOT_FOUND', message);
  }
}

/** Normalises (as all stored text), trims, refuses blanks and over-long labels, drops case-insensitive duplicates (first spelling wins). */
export function cleanLabels(labels: readonly string[], maxChars: number, field: string): string[] {
  const seen = new Map<string, string>();
  labels.forEach((raw, index) => {
    const label = normalizeText(raw).trim().replace(/\s+/g, ' ');
    if (!label) throw new InvalidInputError('INVALID_LABEL', `${field}[${index}] is blank.`, { details: { index } });
    if (label.length > maxChars) throw new InvalidInputError('INVALID_LABEL', `${field}[${index}] is longer than ${maxChars} characters.`, { details: { index } });
    if (!seen.has(label.toLowerCase())) seen.set(label.toLowerCase(), label);
  });
  return [...seen.values()];
}

export class IdentifyService {
  private readonly classifier: ZeroShotClassifier;
  private documentLabelCache: { at: number; labels: string[] } | null = null;

  constructor(
    private readonly encoder: ClipEncoder,
    private readonly store: KnowledgeStore,
    private readonly search: SearchService,
    private readonly records: IdentifyStore,
    private readonly blobs: BlobStore,
    private readonly settings: IdentifySettings = DEFAULT_IDENTIFY_SETTINGS,
    /** Reads the photo (null with OCR=off: identification is by the picture alone). */
    private readonly reader: TextReader | null = null,
  ) {
    this.classifier = new ZeroShotClassifier(encoder);
  }

  /** Hash distance at or below which two photos are copies (NEAR_COPY_HASH_DISTANCE). */
  get maxHashDistance(): number {
    return this.settings.maxHashDistance;
  }

  /**
   * `signal`: the caller's deadline. Everything slow (encoding, page look-ups) happens before the
   * identification is written, and an aborted call writes nothing.
   */
  async identifyPart(input: { image: Uint8Array; candidates?: readonly string[] | null; limit?: number; photoId?: string | null; signal?: AbortSignal }): Promise<PartIdentificationView> {
    const { signal } = input;
    const limit = input.limit ?? 5;
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) throw new InvalidInputError('INVALID_LIMIT', `limit must be between 1 and 50; got ${limit}.`);
    if (input.candidates && input.candidates.length === 0) {
      throw new InvalidInputError('EMPTY_INPUT', 'candidates is empty: pass part labels, or omit it to use the knowledge base catalogue.');
    }
    if (input.candidates && input.candidates.length > this.settings.maxCandidates) {
      throw new InvalidInputError('TOO_MANY_INPUTS', `${input.candidates.length} candidates; the limit is ${this.settings.maxCandidates}.`, { details: { limit: this.settings.maxCandidates } });
    }
    const given = input.candidates ? cleanLabels(input.candidates, this.settings.maxLabelChars, 'candidates') : [];
    const feedback = await this.records.activeFeedback();
    const labels = cleanLabels([...given, ...(await this.catalogue(feedback))], Number.MAX_SAFE_INTEGER, 'labels').slice(0, this.settings.maxCandidates);
    if (labels.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'There are no part labels to choose from: the knowledge base has no documents or confirmed parts, and no candidates were given.');

    // Read beside the embedding. A failed read leaves the picture alone; a bad image gets the encoder's error.
    const stopReading = new AbortController();
    const readSignal = signal ? AbortSignal.any([signal, stopReading.signal]) : stopReading.signal;
    const reading = this.reader ? this.reader.readText(input.image, { signal: readSignal }).catch(() => null) : null;
    let imageVector: Float32Array;
    let labelVectors: Float32Array[];
    try {
      [imageVector] = (await this.encoder.embedImages([input.image], { signal })) as [Float32Array];
      labelVectors = await this.classifier.labelVectors(labels, { signal });
    } catch (error) {
      stopReading.abort();
      throw error;
    }
    const plainRead = reading ? await reading : null;
    signal?.throwIfAborted();
    // Identifiers OCR glued to a neighbouring word count when a label carries them (search/glued-identifiers.ts).
    const read = plainRead ? resolveGluedForLabels(plainRead, labels) : null;
    const zeroShot = labelVectors.map((v) => CLIP_LOGIT_SCALE * dot(imageVector, v));
    const { logits: shot, confirmations } = this.fewShot(imageVector, labels, zeroShot, feedback);
    const { logits, readIdentifiers, sure } = readPull(labels, zeroShot, shot, read);
    const probabilities = softmax(logits);
    const ranked = labels
      .map((label, i) => ({ label, score: probabilities[i]!, confirmations: confirmations[i]!, readIdentifiers: readIdentifiers[i]!, sure: sure[i]! }))
      .sort((a, b) => b.score - a.score);
    const top = ranked[0]!;
    const runnerUp = ranked[1]?.score ?? 0;
    // Random weights can put 0.9999 on one label: on the test model nothing is ever confident by the picture.
    const testModel = this.encoder.model.isTestModel;
    const byPicture = !testModel && top.score >= this.settings.minScore && top.score - runnerUp >= this.settings.minMargin;
    // What was read is evidence on any model.
    const confident = byPicture || readDecides(ranked);

    const identification: IdentificationRecord = {
      id: randomUUID(),
      photoId: input.photoId ?? null,
      imageVector,
      candidates: ranked.slice(0, limit).map(({ label, score }) => ({ label, score })),
      confident,
      createdAt: new Date().toISOString(),
    };
    const candidates = await Promise.all(
      ranked.slice(0, limit).map(async ({ sure: _sure, ...c }, i) => ({
        ...c,
        pages: i < this.settings.candidatesWithPages ? (await this.search.search({ text: c.label, limit: 3, signal })).hits.filter((h) => h.page) : [],
      })),
    );
    // The last moment to give up: past this point the call commits.
    signal?.throwIfAborted();
    // The identification and its review item are written together: both or neither.
    const reviewItem = confident
      ? null
      : this.newReviewItem(randomUUID(), 'IDENTIFICATION', {
          identificationId: identification.id,
          photoId: identification.photoId,
          reason: top.readIdentifiers.length > 0
            ? `Read on the photo: ${top.readIdentifiers.join(', ')}, not surely, or naming more than one labelled part (best "${top.label}" at ${top.score.toFixed(2)}).`
            : testModel
            ? `Test model (random weights): best "${top.label}" at ${top.score.toFixed(2)} means nothing.`
            : `Unconfident identification: best "${top.label}" at ${top.score.toFixed(2)}, runner-up at ${runnerUp.toFixed(2)}.`,
        });
    await this.records.addIdentification(identification, reviewItem, { signal });
    const reviewItemId = reviewItem?.id ?? null;
    return { id: identification.id, candidates, confident, reviewItemId, readText: read };
  }

  /** Records the right label for a stored photo or an earlier identification. */
  async confirmPart(input: { photoId?: string | null; identificationId?: string | null; label: string; givenBy: string }): Promise<FeedbackRecord> {
    const record = await this.newFeedback(input);
    await this.records.addFeedback(record);
    return record;
  }

  /** The feedback record a confirmation makes (checked, not yet written). */
  private async newFeedback(input: { photoId?: string | null; identificationId?: string | null; label: string; givenBy: string }): Promise<FeedbackRecord> {
    const [label] = cleanLabels([input.label], this.settings.maxLabelChars, 'label');
    if (!input.photoId && !input.identificationId) throw new InvalidInputError('MISSING_SUBJECT', 'Give photoId or identificationId: the photo the label is for.');
    let imageVector: Float32Array;
    let photoId = input.photoId ?? null;
    if (input.identificationId) {
      const identification = await this.records.getIdentification(input.identificationId);
      if (!identification) throw new NotFoundError('IDENTIFICATION_NOT_FOUND', `There is no identification ${input.identificationId}.`);
      imageVector = identification.imageVector;
      photoId ??= identification.photoId;
    } else {
      const photo = await this.store.getPhoto(photoId!);
      if (!photo) throw new NotFoundError('PHOTO_NOT_FOUND', `There is no photo ${photoId}.`);
      imageVector = await this.photoVector(photo);
    }
    const record: FeedbackRecord = {
      id: randomUUID(),
      label: label!,
      photoId,
      identificationId: input.identificationId ?? null,
      imageVector,
      givenBy: input.givenBy,
      createdAt: new Date().toISOString(),
      undoneAt: null,
    };
    return record;
  }

  /** `onlyBy`: when set, only feedback given by that actor may be undone. */
  async undoFeedback(id: string, onlyBy: string | null = null): Promise<FeedbackRecord> {
    const existing = await this.records.getFeedback(id);
    if (!existing) throw new NotFoundError('FEEDBACK_NOT_FOUND', `There is no feedback ${id}.`);
    if (onlyBy !== null && existing.givenBy !== onlyBy) throw new AppError('FORBIDDEN', 'FORBIDDEN', 'You may only withdraw your own confirmations.');
    await this.records.undoFeedback(id, new Date().toISOString());
    return (await this.records.getFeedback(id))!;
  }

  /**
   * Multi-label tags: each label is scored on its own against a neutral "a photo of an object"
   * (a two-way softmax at CLIP's logit scale), so several can apply at once.
   */
  async tagImage(input: { image: Uint8Array; labels: readonly string[]; threshold?: number | null; signal?: AbortSignal }): Promise<{ label: string; score: number }[]> {
    const threshold = input.threshold ?? 0.5;
    if (!(threshold >= 0 && threshold <= 1)) throw new InvalidInputError('INVALID_THRESHOLD', `threshold must be between 0 and 1; got ${threshold}.`);
    if (input.labels.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'labels is empty: pass the attributes to tag (e.g. "corroded", "leaking").');
    if (input.labels.length > this.settings.maxTagLabels) {
      throw new InvalidInputError('TOO_MANY_INPUTS', `${input.labels.length} labels; the limit is ${this.settings.maxTagLabels}.`, { details: { limit: this.settings.maxTagLabels } });
    }
    const labels = cleanLabels(input.labels, this.settings.maxLabelChars, 'labels');
    const [imageVector] = await this.encoder.embedImages([input.image], { signal: input.signal });
    const [neutral, ...vectors] = await this.classifier.labelVectors(['object', ...labels], { signal: input.signal });
    const neutralLogit = CLIP_LOGIT_SCALE * dot(imageVector!, neutral!);
    return labels
      .map((label, i) => ({ label, score: softmax([CLIP_LOGIT_SCALE * dot(imageVector!, vectors[i]!), neutralLogit])[0]! }))
      .filter((t) => t.score >= threshold)
      .sort((a, b) => b.score - a.score);
  }

  async similarPhotos(input: { image: Uint8Array; limit?: number; threshold?: number | null; signal?: AbortSignal }): Promise<{ photo: PhotoRecord; similarity: number }[]> {
    const limit = input.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new InvalidInputError('INVALID_LIMIT', `limit must be between 1 and 100; got ${limit}.`);
    const threshold = input.threshold ?? 0;
    if (!(threshold >= 0 && threshold <= 1)) throw new InvalidInputError('INVALID_THRESHOLD', `threshold must be between 0 and 1; got ${threshold}.`);
    const [vector] = await this.encoder.embedImages([input.image], { signal: input.signal });
    const candidates = await this.store.searchImages(vector!, limit, { kinds: ['photo'] });
    const matches = await Promise.all(
      candidates
        .filter((c) => c.target.kind === 'photo' && c.score >= threshold)
        .map(async (c) => ({ photo: await this.store.getPhoto((c.target as { photoId: string }).photoId), similarity: c.score })),
    );
    return matches.filter((m): m is { photo: PhotoRecord; similarity: number } => m.photo !== null);
  }

  /**
   * Called when a photo is ingested: stores its perceptual hash and links it to the earlier photo
   * it copies: the CLOSEST stored hash within maxHashDistance (an index lookup in the knowledge
   * store, any model), else the nearest photo by image embedding when it passes the model's
   * calibrated threshold or, without one, the scale-free ratio test (search/fusion.ts
   * isNearCopy). A mostly white photo (a page of text: uninformative hash) is linked only by its
   * layout signature (identify/page-layout.ts): every such photo looks alike to CLIP, and the
   * ratio test links photos of different pages on a weak model. The link goes to that photo's own
   * original only when this photo is a copy of the original too, so one wrong link is never passed
   * on to every later copy.
   */
  async indexPhoto(photo: PhotoRecord, bytes: Uint8Array, vector: Float32Array, options: { signal?: AbortSignal | undefined } = {}): Promise<string | null> {
    const { hash, informative, lookup } = await perceptualHash(bytes);
    // Near the informative boundary a re-encoded copy may fall either side of it: its hash is still
    // looked up among the stored (informative) ones before its layout (perceptual-hash.ts).
    const duplicateOf = informative
      ? await this.nearestCopy(photo.id, hash, vector)
      : ((lookup ? await this.nearestCopy(photo.id, hash, null) : null) ?? (await this.nearestLayoutCopy(photo.id, bytes)));
    await this.records.putPhotoHash({ photoId: photo.id, hash, duplicateOf }, options);
    return duplicateOf;
  }

  /** The stored photo whose layout signature copies this mostly white photo's, best first (no inheritance: layouts carry no chain). */
  private async nearestLayoutCopy(photoId: string, bytes: Uint8Array): Promise<string | null> {
    const copies = await this.store.searchImageLayout(await imageLayout(bytes), 5, { kinds: ['photo'] });
    const other = copies.find((c) => c.target.kind === 'photo' && c.target.photoId !== photoId);
    return other?.target.kind === 'photo' ? other.target.photoId : null;
  }

  /** By hash, then (given a vector) by embedding; null vector: by hash only. */
  private async nearestCopy(photoId: string, hash: string | null, vector: Float32Array | null): Promise<string | null> {
    const maxDistance = this.settings.maxHashDistance;
    const otherPhoto = (c: Candidate): string | null => (c.target.kind === 'photo' && c.target.photoId !== photoId ? c.target.photoId : null);
    let match = hash ? ((await this.store.searchImageHash(hash, maxDistance, 5, { kinds: ['photo'] })).map(otherPhoto).find((id) => id !== null) ?? null) : null;
    if (!match && vector) {
      const similar = (await this.store.searchImages(vector, 3, { kinds: ['photo'] })).filter((c) => otherPhoto(c) !== null);
      const model = this.encoder.model;
      const [best, runnerUp] = similar;
      if (best && isNearCopy(best.score, runnerUp?.score, model.nearDuplicateCalibrated ? model.nearDuplicateSimilarity : null)) match = otherPhoto(best);
    }
    if (!match) return null;
    const original = (await this.records.getPhotoHash(match))?.duplicateOf ?? null;
    if (!original) return match;
    const originalHash = (await this.records.getPhotoHash(original))?.hash;
    return hash !== null && originalHash !== undefined && hammingDistance(hash, originalHash) <= maxDistance ? original : match;
  }

  async duplicateOf(photoId: string): Promise<PhotoRecord | null> {
    const record = await this.records.getPhotoHash(photoId);
    return record?.duplicateOf ? this.store.getPhoto(record.duplicateOf) : null;
  }

  async forgetPhoto(photoId: string): Promise<void> {
    await this.records.deletePhotoHash(photoId);
  }

  reviewQueue(options: { first?: number | null; after?: string | null; status?: ReviewStatus | null }) {
    const first = options.first ?? 20;
    if (first < 1 || first > 100) throw new InvalidInputError('INVALID_LIMIT', `first must be between 1 and 100; got ${first}.`);
    return this.records.listReviewItems({ first, after: options.after ?? null, status: options.status ?? null });
  }

  getIdentification(id: string) {
    return this.records.getIdentification(id);
  }

  /** Opens a review item for an upload the moderation policy flagged. */
  async flagUpload(input: { photoId: string | null; reasons: readonly string[]; signal?: AbortSignal | undefined }): Promise<ReviewItemRecord> {
    const item = this.newReviewItem(randomUUID(), 'UPLOAD', { identificationId: null, photoId: input.photoId, reason: `Moderation: ${input.reasons.join(' ')}`.slice(0, 2000) });
    await this.records.addReviewItem(item, { signal: input.signal });
    return item;
  }

  /** Deletes query artefacts older than `days` days (see IdentifyStore.deleteIdentificationsBefore). */
  async applyRetention(days: number, now = Date.now()): Promise<number> {
    return this.records.deleteIdentificationsBefore(new Date(now - days * 86_400_000).toISOString());
  }

  reviewItem(id: string) {
    return this.records.getReviewItem(id);
  }

  async claimReview(id: string, by: string): Promise<ReviewItemRecord> {
    const updated = await this.records.updateReviewItem(id, ['OPEN'], { status: 'CLAIMED', claimedBy: by, claimedAt: new Date().toISOString() });
    if (updated) return updated;
    const existing = await this.records.getReviewItem(id);
    if (!existing) throw new NotFoundError('REVIEW_ITEM_NOT_FOUND', `There is no review item ${id}.`);
    throw new InvalidInputError('REVIEW_ITEM_NOT_OPEN', `Review item ${id} is ${existing.status.toLowerCase()}${existing.claimedBy ? ` by ${existing.claimedBy}` : ''}.`);
  }

  /** Resolves an open or claimed item; a label on an identification item becomes feedback. */
  async resolveReview(input: { id: string; label?: string | null; note?: string | null; by: string }): Promise<ReviewItemRecord> {
    const existing = await this.records.getReviewItem(input.id);
    if (!existing) throw new NotFoundError('REVIEW_ITEM_NOT_FOUND', `There is no review item ${input.id}.`);
    if (existing.status === 'RESOLVED') throw new InvalidInputError('REVIEW_ITEM_NOT_OPEN', `Review item ${input.id} is already resolved.`);
    const note = input.note?.trim() ? input.note.trim().slice(0, 2000) : null;
    let feedback: FeedbackRecord | null = null;
    let label: string | null = null;
    if (input.label !== null && input.label !== undefined) {
      [label] = cleanLabels([input.label], this.settings.maxLabelChars, 'label') as [string];
      // Only an identification's resolution is a part label; an upload's is a moderation verdict.
      if (existing.kind === 'IDENTIFICATION' && (existing.identificationId || existing.photoId)) {
        feedback = await this.newFeedback({ identificationId: existing.identificationId, photoId: existing.photoId, label, givenBy: input.by });
      }
    }
    // The resolution and its label are one write: a second resolver, or a database that fails
    // mid-way, leaves neither behind.
    const updated = await this.records.updateReviewItem(input.id, ['OPEN', 'CLAIMED'], {
      status: 'RESOLVED',
      resolvedBy: input.by,
      resolvedAt: new Date().toISOString(),
      resolutionLabel: label,
      resolutionNote: note,
      feedbackId: feedback?.id ?? null,
    }, feedback);
    if (!updated) {
      throw new InvalidInputError('REVIEW_ITEM_NOT_OPEN', `Review item ${input.id} was resolved by someone else meanwhile.`);
    }
    return updated;
  }

  /** Labels from the knowledge base: document titles, part names/numbers in metadata, confirmed labels. */
  private async catalogue(feedback: readonly FeedbackRecord[]): Promise<string[]> {
    return [...feedback.map((f) => f.label), ...(await this.documentLabels())];
  }

  /**
   * Document-derived labels, read by paging through every document. Cached for a few seconds so
   * that a burst of identifications does not re-read the whole catalogue each time.
   */
  private async documentLabels(): Promise<string[]> {
    const now = Date.now();
    if (this.documentLabelCache && now - this.documentLabelCache.at < DOCUMENT_LABEL_TTL_MS) return this.documentLabelCache.labels;
    const labels: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const page = await this.store.listDocuments({ first: 100, after });
      for (const doc of page.items) {
        labels.push(doc.title);
        for (const key of PART_KEYS) {
          const value = doc.metadata[key];
          if (typeof value === 'string' && value.trim()) labels.push(value);
        }
      }
      if (!page.hasNextPage || !page.endCursor) break;
      after = page.endCursor;
    }
    const cleaned = labels.map((l) => l.trim()).filter((l) => l.length > 0 && l.length <= this.settings.maxLabelChars);
    this.documentLabelCache = { at: now, labels: cleaned };
    return cleaned;
  }

  /**
   * Tip-Adapter: logits = zero-shot + α·R·Σ_examples exp(-β(1 - cos(query, example)))·onehot(label),
   * with R the range of this query's zero-shot logits, which makes α mean the same on every model.
   */
  private fewShot(query: Float32Array, labels: readonly string[], zeroShot: readonly number[], feedback: readonly FeedbackRecord[]): { logits: number[]; confirmations: number[] } {
    const index = new Map(labels.map((l, i) => [l.toLowerCase(), i]));
    const range = Math.max(...zeroShot) - Math.min(...zeroShot) || 1;
    const logits = [...zeroShot];
    const confirmations = labels.map(() => 0);
    for (const f of feedback) {
      const i = index.get(f.label.toLowerCase());
      if (i === undefined) continue;
      const affinity = Math.exp(-this.settings.fewShotBeta * (1 - dot(query, f.imageVector)));
      logits[i]! += this.settings.fewShotAlpha * range * affinity;
      if (affinity > 0.5) confirmations[i]!++;
    }
    return { logits, confirmations };
  }

  /** A stored photo's embedding, from its file (the encoder's cache makes repeats free). */
  private async photoVector(photo: PhotoRecord): Promise<Float32Array> {
    const bytes = await this.blobs.get(photo.blobKey);
    if (!bytes) throw new NotFoundError('PHOTO_NOT_FOUND', `The file of photo ${photo.id} is missing.`);
    const [vector] = await this.encoder.embedImages([bytes]);
    return vector!;
  }

  private newReviewItem(id: string, kind: ReviewItemRecord['kind'], fields: Pick<ReviewItemRecord, 'identificationId' | 'photoId' | 'reason'>): ReviewItemRecord {
    return {
      id,
      kind,
      status: 'OPEN',
      ...fields,
      createdAt: new Date().toISOString(),
      claimedBy: null,
      claimedAt: null,
      resolvedBy: null,
      resolvedAt: null,
      resolutionLabel: null,
      resolutionNote: null,
      feedbackId: null,
    };
  }
}

/**
 * The read photo with, after each read identifier no label carries, the longest identifier a
 * label does carry that OCR glued to a neighbouring word ("TYPEP-200PUMP" → P-200). Pure.
 */
export function resolveGluedForLabels(read: ReadTextResult, labels: readonly string[]): ReadTextResult {
  const identifiers = resolveGluedIdentifiers(read.identifiers, labels.map(identifierKeys));
  return identifiers.length === read.identifiers.length ? read : { ...read, identifiers };
}

/**
 * Labels that carry an identifier read on the photo, pulled up (READ_LABEL_PULL) from the
 * logits after the few-shot cache. Per label: the identifiers read that it carries (as read) and
 * whether one of them was read surely. Pure.
 */
export function readPull(
  labels: readonly string[],
  zeroShot: readonly number[],
  logits: readonly number[],
  read: Pick<ReadTextResult, 'identifiers' | 'regions' | 'codes'> | null,
): { logits: number[]; readIdentifiers: string[][]; sure: boolean[] } {
  const out = [...logits];
  const readIdentifiers = labels.map((): string[] => []);
  const sure = labels.map(() => false);
  if (!read || read.identifiers.length === 0) return { logits: out, readIdentifiers, sure };
  const confidences = identifierConfidences(read);
  const asRead = new Map(read.identifiers.map((id) => [normalizeIdentifier(id), id]));
  const range = Math.max(...zeroShot) - Math.min(...zeroShot) || 1;
  labels.forEach((label, i) => {
    const carried = [...new Set(extractIdentifiers(label).map(normalizeIdentifier))].filter((key) => asRead.has(key));
    if (carried.length === 0) return;
    readIdentifiers[i] = carried.map((key) => asRead.get(key)!);
    const confidence = Math.max(...carried.map((key) => confidences.get(key) ?? 0));
    sure[i] = confidence >= READ_EVIDENCE.decisiveConfidence;
    out[i]! += range * (sure[i] ? READ_LABEL_PULL.sure : READ_LABEL_PULL.doubtful * confidence);
  });
  return { logits: out, readIdentifiers, sure };
}

/**
 * Whether what was read decides the identification: the top label carries an identifier read
 * surely, and no other label carries a different surely read identifier (a plate naming two
 * labelled parts is for a person to settle). Labels sharing the top's identifier ("XV-300" and
 * "XV-300 Pump Manual") name the same part and do not count against it.
 */
export function readDecides(ranked: readonly { readIdentifiers: readonly string[]; sure: boolean }[]): boolean {
  const top = ranked[0];
  if (!top?.sure) return false;
  const topKeys = new Set(top.readIdentifiers.map(normalizeIdentifier));
  return !ranked.slice(1).some((c) => c.sure && !c.readIdentifiers.some((id) => topKeys.has(normalizeIdentifier(id))));
}
