/**
 * `fieldscope eval <labelled-folder> [--k 1,3,5] [--json]`: how well identification and
 * near-duplicate detection work on a labelled set, with the configured CLIP model.
 *
 * The folder holds one subfolder per part label (the folder name is the label), each with
 * photos of that part. Everything runs in a fresh temporary DATA_DIR, never the user's, through
 * the same services as the server (createCore):
 *
 * - Identification: every photo is identified zero-shot over all the set's labels (top-1,
 *   top-5, the most frequent confusions). Then for each k, k seeded-random photos per label are
 *   confirmed (confirmPart on their identification) and the remaining photos, never the
 *   confirmed ones, are identified again with the few-shot cache; the feedback is undone before
 *   the next k.
 * - Near-duplicates: every photo is ingested; then each generated variant (re-encoded, resized,
 *   cropped, colour-shifted) is ingested and indexPhoto's `duplicateOf` is compared with its
 *   photo, the variant removed again. Pairwise scores per method (perceptual hash alone, CLIP
 *   threshold alone, either) count variants of other photos and other photos as negatives.
 *
 * Exit codes: 0 with a report (whatever the numbers), 1 when it cannot run (configuration,
 * model), 2 for bad arguments or an unusable folder.
 */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import sharp from 'sharp';
import { loadConfig, type Config } from '../config.js';
import { isAppError } from '../errors.js';
import { DEFAULT_IDENTIFY_SETTINGS } from '../identify/identify-service.js';
import { differenceHash } from '../identify/perceptual-hash.js';
import { dot } from '../identify/zero-shot.js';
import { createCore, type Core } from '../core/create-core.js';
import { runOcrEvalCommand } from './eval-ocr.js';
import { runSearchEvalCommand } from './eval-search.js';
import { TerminalStatus, type OutStream } from './terminal.js';
import { seededRandom } from '../demo/seeded-random.js';

const USAGE = `Usage: fieldscope eval <labelled-folder> [--k 1,3,5] [--seed 1] [--json]
       fieldscope eval search [set-folder] [--store sqlite|qdrant] [--json] [--min-recall3 R]
       fieldscope eval ocr [set-folder] [--subset ci] [--json] [--min-char-accuracy A] [--min-identifier-recall R]

Measures part identification (zero-shot, then with k confirmed photos per part) and
near-duplicate detection on a labelled set: one subfolder per part label, named after the
label, holding photos of that part. Runs in a fresh temporary DATA_DIR with the configured
model (CLIP_MODEL); your knowledge base is not touched. See docs/eval.md.
  --k 1,3,5   confirmations per part to simulate (comma-separated)
  --seed N    seed of the random choice of confirmed photos (default 1)
  --json      print the report as JSON instead of tables
`;

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);
const MAX_LABEL_CHARS = DEFAULT_IDENTIFY_SETTINGS.maxLabelChars;
const MAX_LABELS = DEFAULT_IDENTIFY_SETTINGS.maxCandidates;
const MAX_K = 1000;
const TOP_N = 5;
const GIVEN_BY = 'fieldscope eval';

export const VARIANT_KINDS = ['jpeg-q60', 'resize-50', 'crop-5', 'colour-shift'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

export interface EvalCommandIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
}

export interface Confusion {
  true: string;
  predicted: string;
  count: number;
}

export interface PhotoPrediction {
  /** Path relative to the labelled folder. */
  file: string;
  label: string;
  /** Best first, at most topN. */
  predicted: string[];
}

export interface IdentificationRun {
  /** Photos identified in this run. */
  evaluated: number;
  top1: number;
  /** Accuracy within the best `topN` candidates (trivially 1 when there are no more labels than that). */
  topN: number;
  confusions: Confusion[];
  predictions: PhotoPrediction[];
}

export interface FewShotRun extends IdentificationRun {
  k: number;
  /** Photos confirmed (k per label, fewer for labels with k photos or less, which keep one back). */
  confirmed: number;
  confirmedFiles: string[];
  /** Labels that had too few photos for k confirmations and one held back. */
  capped: string[];
  /** Zero-shot accuracy on the same held-out photos, for comparison. */
  zeroShotTop1: number;
  zeroShotTopN: number;
}

export interface DuplicateMethodResult {
  method: 'indexPhoto' | 'dhash' | 'clip' | 'either';
  description: string;
  /** Share of variants detected, per kind of variant. */
  recallByVariant: Record<VariantKind, number | null>;
  recall: number | null;
  /** Share of flagged items that were right; null when nothing was flagged. */
  precision: number | null;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** Negatives considered: pairs of distinct images (pairwise methods) or distinct items ingested (indexPhoto). */
  negatives: number;
}

export interface EvalReport {
  folder: string;
  model: { id: string; isTestModel: boolean; nearDuplicateSimilarity: number; maxHashDistance: number };
  seed: number;
  labels: { label: string; photos: number }[];
  photos: number;
  failed: { file: string; reason: string }[];
  ignored: string[];
  identification: {
    candidates: number;
    topN: number;
    zeroShot: IdentificationRun;
    fewShot: FewShotRun[];
  };
  nearDuplicates: {
    variants: VariantKind[];
    variantsTested: number;
    variantsFailed: { file: string; variant: VariantKind; reason: string }[];
    methods: DuplicateMethodResult[];
    /** Photos of the set that indexPhoto linked to an earlier, distinct photo of the set. */
    photosFlagged: { file: string; duplicateOf: string }[];
    clipSimilarity: { variants: Summary | null; distinct: { max: number; p99: number } | null };
    hashDistance: { variants: Summary | null; distinct: { min: number; p1: number } | null };
  };
  seconds: number;
}

interface Summary {
  min: number;
  median: number;
  max: number;
}

class UsageError extends Error {}

interface LabelledPhoto {
  file: string;
  rel: string;
  label: string;
}

interface LabelledSet {
  labels: { label: string; photos: LabelledPhoto[] }[];
  ignored: string[];
}

/** Reads the folder layout. Throws UsageError (exit 2) when it cannot be evaluated. */
async function scanFolder(folder: string): Promise<LabelledSet> {
  const root = path.resolve(folder);
  const s = await stat(root).catch(() => null);
  if (!s) throw new UsageError(`${root} does not exist.`);
  if (!s.isDirectory()) throw new UsageError(`${root} is not a folder: give a folder with one subfolder of photos per part label.`);
  const ignored: string[] = [];
  const labels: LabelledSet['labels'] = [];
  const seen = new Map<string, string>();
  for (const entry of (await readdir(root, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    if (!entry.isDirectory()) {
      ignored.push(entry.name);
      continue;
    }
    const label = entry.name.trim().replace(/\s+/g, ' ');
    if (!label) {
      ignored.push(`${entry.name}/`);
      continue;
    }
    if (label.length > MAX_LABEL_CHARS) throw new UsageError(`The folder name "${entry.name}" is longer than ${MAX_LABEL_CHARS} characters, too long for a part label.`);
    const photos: LabelledPhoto[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.name.startsWith('.')) continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) photos.push({ file: p, rel: path.relative(root, p), label });
        else ignored.push(path.relative(root, p));
      }
    };
    await walk(path.join(root, entry.name));
    if (photos.length === 0) {
      ignored.push(`${entry.name}/ (no photos)`);
      continue;
    }
    const key = label.toLowerCase();
    const clash = seen.get(key);
    if (clash !== undefined) throw new UsageError(`The folders "${clash}" and "${entry.name}" name the same label (labels are compared ignoring case and spacing): merge them.`);
    seen.set(key, entry.name);
    labels.push({ label, photos });
  }
  const total = labels.reduce((n, l) => n + l.photos.length, 0);
  if (total === 0) throw new UsageError(`${root} holds no photos: put photos (JPEG, PNG, WebP, …) in one subfolder per part label, e.g. "BV-50 ball valve/photo1.jpg".`);
  if (labels.length < 2) {
    throw new UsageError(`${root} has photos for ${labels.length} label; identification needs at least 2 labels (one subfolder of photos per part label).`);
  }
  if (labels.length > MAX_LABELS) throw new UsageError(`${root} has ${labels.length} labels; identifyPart takes at most ${MAX_LABELS} candidates.`);
  return { labels, ignored };
}

function parseKs(text: string): number[] {
  const ks = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (ks.length === 0) throw new UsageError(`--k needs a comma-separated list of confirmations per part, e.g. --k 1,3,5.`);
  const values = ks.map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isInteger(n) || n < 1 || n > MAX_K) throw new UsageError(`--k: "${s}" is not a whole number between 1 and ${MAX_K}.`);
    return n;
  });
  return [...new Set(values)].sort((a, b) => a - b);
}


function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function describeError(error: unknown): string {
  if (isAppError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function summarise(predictions: PhotoPrediction[]): Omit<IdentificationRun, 'predictions'> {
  const n = predictions.length;
  const top1 = predictions.filter((p) => p.predicted[0] === p.label).length;
  const topN = predictions.filter((p) => p.predicted.includes(p.label)).length;
  const pairs = new Map<string, Confusion>();
  for (const p of predictions) {
    const best = p.predicted[0];
    if (best === undefined || best === p.label) continue;
    const key = `${p.label}\u0000${best}`;
    const c = pairs.get(key) ?? { true: p.label, predicted: best, count: 0 };
    c.count++;
    pairs.set(key, c);
  }
  const confusions = [...pairs.values()].sort((a, b) => b.count - a.count || a.true.localeCompare(b.true) || a.predicted.localeCompare(b.predicted)).slice(0, 10);
  return { evaluated: n, top1: n ? top1 / n : 0, topN: n ? topN / n : 0, confusions };
}

/** The generated variants of a photo: near-duplicates that detection should catch. */
async function makeVariants(bytes: Uint8Array): Promise<{ kind: VariantKind; bytes: Buffer }[]> {
  const { data, info } = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
  const raw = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const w = info.width;
  const h = info.height;
  const left = Math.round(w * 0.05);
  const top = Math.round(h * 0.05);
  return [
    { kind: 'jpeg-q60', bytes: await raw().jpeg({ quality: 60 }).toBuffer() },
    { kind: 'resize-50', bytes: await raw().resize(Math.max(1, Math.round(w / 2)), Math.max(1, Math.round(h / 2)), { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer() },
    { kind: 'crop-5', bytes: await raw().extract({ left, top, width: Math.max(1, w - 2 * left), height: Math.max(1, h - 2 * top) }).jpeg({ quality: 90 }).toBuffer() },
    { kind: 'colour-shift', bytes: await raw().modulate({ brightness: 1.06, saturation: 1.15, hue: 8 }).jpeg({ quality: 90 }).toBuffer() },
  ];
}

function hashWords(hex: string): [number, number] {
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0];
}

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function hashDistance(a: [number, number], b: [number, number]): number {
  return popcount32((a[0] ^ b[0]) >>> 0) + popcount32((a[1] ^ b[1]) >>> 0);
}

function summary(values: number[]): Summary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor((sorted.length - 1) / 2)]!, max: sorted[sorted.length - 1]! };
}

/** Counts in fixed bins, so quantiles of millions of pairs need no big arrays. */
class Histogram {
  private readonly counts: Float64Array;
  total = 0;
  min = Infinity;
  max = -Infinity;

  constructor(
    private readonly lo: number,
    private readonly hi: number,
    private readonly bins: number,
  ) {
    this.counts = new Float64Array(bins);
  }

  add(x: number): void {
    const i = Math.min(this.bins - 1, Math.max(0, Math.floor(((x - this.lo) / (this.hi - this.lo)) * this.bins)));
    this.counts[i]!++;
    this.total++;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** The lower edge of the bin holding quantile q (clamped to the observed range). */
  quantile(q: number): number {
    const target = q * this.total;
    let seen = 0;
    for (let i = 0; i < this.bins; i++) {
      seen += this.counts[i]!;
      if (seen >= target && this.counts[i]! > 0) return Math.min(this.max, Math.max(this.min, this.lo + (i / this.bins) * (this.hi - this.lo)));
    }
    return this.max;
  }
}

interface Tally {
  hits: Record<VariantKind, number>;
  tried: Record<VariantKind, number>;
  tp: number;
  fp: number;
  fn: number;
  negatives: number;
}

function newTally(): Tally {
  const zero = () => Object.fromEntries(VARIANT_KINDS.map((k) => [k, 0])) as Record<VariantKind, number>;
  return { hits: zero(), tried: zero(), tp: 0, fp: 0, fn: 0, negatives: 0 };
}

function methodResult(method: DuplicateMethodResult['method'], description: string, t: Tally): DuplicateMethodResult {
  const tried = VARIANT_KINDS.reduce((n, k) => n + t.tried[k], 0);
  return {
    method,
    description,
    recallByVariant: Object.fromEntries(VARIANT_KINDS.map((k) => [k, t.tried[k] ? t.hits[k] / t.tried[k] : null])) as Record<VariantKind, number | null>,
    recall: tried ? t.tp / tried : null,
    precision: t.tp + t.fp > 0 ? t.tp / (t.tp + t.fp) : null,
    truePositives: t.tp,
    falsePositives: t.fp,
    falseNegatives: t.fn,
    negatives: t.negatives,
  };
}

class Evaluation {
  private readonly progress: TerminalStatus;

  constructor(
    private readonly core: Core,
    private readonly set: LabelledSet,
    private readonly ks: number[],
    private readonly seed: number,
    progressStream: OutStream,
  ) {
    this.progress = new TerminalStatus(progressStream);
  }

  private tick(phase: string, done: number, total: number): void {
    this.progress.status(this.progress.bar(done, total, `${phase} ${done}/${total}`), true);
  }

  async run(folder: string): Promise<EvalReport> {
    const started = Date.now();
    const labels = this.set.labels.map((l) => l.label);
    const all = this.set.labels.flatMap((l) => l.photos);
    const topN = Math.min(TOP_N, labels.length);
    const identify = this.core.home.services.identify;
    const failed: EvalReport['failed'] = [];

    // Zero-shot over every photo; the identification ids are what few-shot runs confirm.
    const zeroShot = new Map<string, { prediction: PhotoPrediction; identificationId: string }>();
    for (const [i, photo] of all.entries()) {
      this.tick('zero-shot', i, all.length);
      try {
        const result = await identify.identifyPart({ image: await readFile(photo.file), candidates: labels, limit: topN });
        zeroShot.set(photo.rel, { prediction: { file: photo.rel, label: photo.label, predicted: result.candidates.map((c) => c.label) }, identificationId: result.id });
      } catch (error) {
        failed.push({ file: photo.rel, reason: describeError(error) });
      }
    }
    const usable = this.set.labels.map((l) => ({ label: l.label, photos: l.photos.filter((p) => zeroShot.has(p.rel)) })).filter((l) => l.photos.length > 0);
    if (usable.length < 2) {
      throw new UsageError(`Only ${usable.length} label${usable.length === 1 ? ' has' : 's have'} photos that could be read; identification needs at least 2. Unreadable: ${failed.map((f) => `${f.file} (${f.reason})`).join('; ')}`);
    }

    const fewShot: FewShotRun[] = [];
    for (const k of this.ks) fewShot.push(await this.fewShotRun(k, labels, topN, usable, zeroShot));

    const photos = usable.flatMap((l) => l.photos);
    const nearDuplicates = await this.nearDuplicates(photos);
    this.progress.clear();

    return {
      folder: path.resolve(folder),
      model: {
        id: this.core.encoder.model.id,
        isTestModel: this.core.encoder.model.isTestModel,
        nearDuplicateSimilarity: this.core.encoder.model.nearDuplicateSimilarity,
        maxHashDistance: this.core.home.services.identify.maxHashDistance,
      },
      seed: this.seed,
      labels: this.set.labels.map((l) => ({ label: l.label, photos: l.photos.filter((p) => zeroShot.has(p.rel)).length })),
      photos: photos.length,
      failed,
      ignored: this.set.ignored,
      identification: {
        candidates: labels.length,
        topN,
        zeroShot: { ...summarise([...zeroShot.values()].map((z) => z.prediction)), predictions: [...zeroShot.values()].map((z) => z.prediction) },
        fewShot,
      },
      nearDuplicates,
      seconds: (Date.now() - started) / 1000,
    };
  }

  private async fewShotRun(
    k: number,
    labels: string[],
    topN: number,
    usable: { label: string; photos: LabelledPhoto[] }[],
    zeroShot: Map<string, { prediction: PhotoPrediction; identificationId: string }>,
  ): Promise<FewShotRun> {
    const identify = this.core.home.services.identify;
    const random = seededRandom(this.seed * 1_000_003 + k);
    const confirmed: LabelledPhoto[] = [];
    const heldOut: LabelledPhoto[] = [];
    const capped: string[] = [];
    for (const l of usable) {
      const order = shuffled(l.photos, random);
      // Keep at least one photo of each label back to evaluate on.
      const take = Math.min(k, order.length - 1);
      if (take < k) capped.push(l.label);
      confirmed.push(...order.slice(0, take));
      heldOut.push(...order.slice(take));
    }
    const feedbackIds: string[] = [];
    try {
      for (const photo of confirmed) {
        const record = await identify.confirmPart({ identificationId: zeroShot.get(photo.rel)!.identificationId, label: photo.label, givenBy: GIVEN_BY });
        feedbackIds.push(record.id);
      }
      const predictions: PhotoPrediction[] = [];
      for (const [i, photo] of heldOut.entries()) {
        this.tick(`few-shot k=${k}`, i, heldOut.length);
        const result = await identify.identifyPart({ image: await readFile(photo.file), candidates: labels, limit: topN });
        predictions.push({ file: photo.rel, label: photo.label, predicted: result.candidates.map((c) => c.label) });
      }
      const baseline = summarise(heldOut.map((p) => zeroShot.get(p.rel)!.prediction));
      return {
        k,
        ...summarise(predictions),
        predictions,
        confirmed: confirmed.length,
        confirmedFiles: confirmed.map((p) => p.rel),
        capped,
        zeroShotTop1: baseline.top1,
        zeroShotTopN: baseline.topN,
      };
    } finally {
      // Undo, so the next k starts from the zero-shot state again.
      for (const id of feedbackIds) await identify.undoFeedback(id);
    }
  }

  private async nearDuplicates(photos: LabelledPhoto[]): Promise<EvalReport['nearDuplicates']> {
    const { ingest, identify } = this.core.home.services;
    const encoder = this.core.encoder;
    const threshold = encoder.model.nearDuplicateSimilarity;
    const maxHash = identify.maxHashDistance;

    // The set's photos, ingested in order: each may already be (wrongly) linked to an earlier one.
    const originals: { photo: LabelledPhoto; id: string; group: string; vector: Float32Array; hash: [number, number] }[] = [];
    const photosFlagged: { file: string; duplicateOf: string }[] = [];
    const fileOf = new Map<string, string>();
    const variantsFailed: EvalReport['nearDuplicates']['variantsFailed'] = [];
    for (const [i, photo] of photos.entries()) {
      this.tick('ingest', i, photos.length);
      try {
        const bytes = await readFile(photo.file);
        const { photo: record, created } = await ingest.ingestPhoto({ bytes, filename: path.basename(photo.file) });
        const dup = created ? await identify.duplicateOf(record.id) : record;
        if (dup) photosFlagged.push({ file: photo.rel, duplicateOf: fileOf.get(dup.id) ?? dup.id });
        if (created) fileOf.set(record.id, photo.rel);
        const [vector] = await encoder.embedImages([bytes]);
        originals.push({ photo, id: record.id, group: created ? (dup?.id ?? record.id) : record.id, vector: vector!, hash: hashWords(await differenceHash(bytes)) });
      } catch (error) {
        // Identified but not ingestible (e.g. over an ingest limit): left out of this part, and said so.
        for (const kind of VARIANT_KINDS) variantsFailed.push({ file: photo.rel, variant: kind, reason: `the photo itself could not be ingested: ${describeError(error)}` });
      }
    }

    const system = newTally();
    system.negatives = originals.length;
    system.fp += photosFlagged.length;
    const byHash = newTally();
    const byClip = newTally();
    const byEither = newTally();
    const clipPositive: number[] = [];
    const hashPositive: number[] = [];
    const clipNegative = new Histogram(-1, 1, 4000);
    const hashNegative = new Histogram(0, 65, 65);
    let variantsTested = 0;

    const pairwise = (sameSource: boolean, kind: VariantKind | null, similarity: number, distance: number) => {
      const flags: [Tally, boolean][] = [
        [byHash, distance <= maxHash],
        [byClip, similarity >= threshold],
        [byEither, distance <= maxHash || similarity >= threshold],
      ];
      for (const [tally, flagged] of flags) {
        if (sameSource) {
          tally.tried[kind!]++;
          if (flagged) {
            tally.hits[kind!]++;
            tally.tp++;
          } else tally.fn++;
        } else {
          tally.negatives++;
          if (flagged) tally.fp++;
        }
      }
      if (sameSource) {
        clipPositive.push(similarity);
        hashPositive.push(distance);
      } else {
        clipNegative.add(similarity);
        hashNegative.add(distance);
      }
    };

    // Distinct photos of the set against each other.
    for (let a = 0; a < originals.length; a++) {
      for (let b = a + 1; b < originals.length; b++) {
        pairwise(false, null, dot(originals[a]!.vector, originals[b]!.vector), hashDistance(originals[a]!.hash, originals[b]!.hash));
      }
    }

    for (const [i, original] of originals.entries()) {
      this.tick('near-duplicates', i, originals.length);
      let variants: { kind: VariantKind; bytes: Buffer }[];
      try {
        variants = await makeVariants(await readFile(original.photo.file));
      } catch (error) {
        for (const kind of VARIANT_KINDS) variantsFailed.push({ file: original.photo.rel, variant: kind, reason: describeError(error) });
        continue;
      }
      for (const variant of variants) {
        let decision: string | null;
        let variantId: string | null = null;
        try {
          const { photo: record, created } = await ingest.ingestPhoto({ bytes: variant.bytes, filename: `${variant.kind}-${path.basename(original.photo.file)}` });
          if (created) {
            variantId = record.id;
            decision = (await identify.duplicateOf(record.id))?.id ?? null;
          } else {
            decision = record.id;
          }
        } catch (error) {
          variantsFailed.push({ file: original.photo.rel, variant: variant.kind, reason: describeError(error) });
          continue;
        } finally {
          // Keep the store to the set's photos, so each variant is judged against them alone.
          if (variantId) await ingest.deletePhoto(variantId);
        }
        variantsTested++;
        system.tried[variant.kind]++;
        system.negatives++;
        if (decision === original.id || decision === original.group) {
          system.hits[variant.kind]++;
          system.tp++;
        } else {
          system.fn++;
          if (decision !== null) system.fp++;
        }

        const [vector] = await encoder.embedImages([variant.bytes]);
        const hash = hashWords(await differenceHash(variant.bytes));
        for (const other of originals) {
          pairwise(other === original, variant.kind, dot(vector!, other.vector), hashDistance(hash, other.hash));
        }
      }
    }

    return {
      variants: [...VARIANT_KINDS],
      variantsTested,
      variantsFailed,
      methods: [
        methodResult('indexPhoto', 'what ingest reports (duplicateOf): hash, then CLIP threshold', system),
        methodResult('dhash', `perceptual hash alone (distance <= ${maxHash})`, byHash),
        methodResult('clip', `CLIP alone (cosine >= ${threshold})`, byClip),
        methodResult('either', 'hash or CLIP, pairwise', byEither),
      ],
      photosFlagged,
      clipSimilarity: {
        variants: summary(clipPositive),
        distinct: clipNegative.total > 0 ? { max: clipNegative.max, p99: clipNegative.quantile(0.99) } : null,
      },
      hashDistance: {
        variants: summary(hashPositive),
        distinct: hashNegative.total > 0 ? { min: hashNegative.min, p1: hashNegative.quantile(0.01) } : null,
      },
    };
  }
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatReport(r: EvalReport): string {
  const out: string[] = [];
  const id = r.identification;
  out.push(`fieldscope eval ${r.folder}`);
  out.push(`  ${r.labels.length} labels, ${r.photos} photos; model ${r.model.id}; seed ${r.seed}; ${r.seconds.toFixed(1)} s`);
  if (r.model.isTestModel) out.push('  !!! TEST MODEL (random weights): these numbers are meaningless. Set CLIP_MODEL to a real model to measure.');
  if (r.failed.length) out.push(`  ${r.failed.length} photo(s) could not be read and were left out: ${r.failed.map((f) => `${f.file} (${f.reason})`).join('; ')}`);
  if (r.ignored.length) out.push(`  ignored (not photos in a label folder): ${r.ignored.slice(0, 10).join(', ')}${r.ignored.length > 10 ? `, … ${r.ignored.length - 10} more` : ''}`);
  out.push('');
  out.push(`Identification over all ${id.candidates} labels (top-${id.topN}${id.candidates <= TOP_N ? `: trivially 100% with ${id.candidates} labels` : ''})`);
  const rows = [['zero-shot', String(id.zeroShot.evaluated), '', pct(id.zeroShot.top1), pct(id.zeroShot.topN), '', '']];
  for (const f of id.fewShot) {
    rows.push([`few-shot k=${f.k}${f.capped.length ? '*' : ''}`, String(f.evaluated), String(f.confirmed), pct(f.top1), pct(f.topN), pct(f.zeroShotTop1), pct(f.zeroShotTopN)]);
  }
  out.push(table(['run', 'evaluated', 'confirmed', 'top-1', `top-${id.topN}`, 'zero-shot top-1 same photos', `zero-shot top-${id.topN} same photos`], rows));
  const capped = id.fewShot.filter((f) => f.capped.length);
  if (capped.length) out.push(`  * fewer than k confirmations for labels with k photos or less (one is always held back): ${capped.map((f) => `k=${f.k}: ${f.capped.length} label(s)`).join(', ')}`);
  out.push('  Few-shot runs are evaluated only on the photos not confirmed; "same photos" is zero-shot on exactly those.');
  out.push('');
  out.push('Most frequent confusions (true → predicted ×count)');
  const confusionLine = (name: string, cs: Confusion[]) => `  ${name.padEnd(14)} ${cs.length ? cs.slice(0, 5).map((c) => `${c.true} → ${c.predicted} ×${c.count}`).join('; ') : 'none'}`;
  out.push(confusionLine('zero-shot', id.zeroShot.confusions));
  for (const f of id.fewShot) out.push(confusionLine(`few-shot k=${f.k}`, f.confusions));
  out.push('');
  const nd = r.nearDuplicates;
  out.push(`Near-duplicates: ${nd.variantsTested} generated variants of ${r.photos} photos (thresholds: CLIP cosine >= ${r.model.nearDuplicateSimilarity}, dHash distance <= ${r.model.maxHashDistance})`);
  out.push(
    table(
      ['method', ...nd.variants, 'recall', 'precision', 'false positives', 'negatives'],
      nd.methods.map((m) => [
        m.method === 'indexPhoto' ? 'indexPhoto (on ingest)' : m.method === 'dhash' ? 'dHash alone' : m.method === 'clip' ? 'CLIP alone' : 'hash or CLIP',
        ...nd.variants.map((v) => pct(m.recallByVariant[v])),
        pct(m.recall),
        pct(m.precision),
        String(m.falsePositives),
        String(m.negatives),
      ]),
    ),
  );
  out.push('  indexPhoto: each variant ingested into a store of the set\'s photos; negatives are the set\'s photos and the variants (flagged as a copy of another photo).');
  out.push('  Pairwise methods: every variant against every photo; negatives are pairs of distinct images.');
  out.push(`  set photos linked on ingest to an earlier, distinct photo: ${nd.photosFlagged.length} of ${r.photos}${nd.photosFlagged.length ? ` (${nd.photosFlagged.slice(0, 5).map((p) => `${p.file} → ${p.duplicateOf}`).join('; ')})` : ''}`);
  const f3 = (x: number) => x.toFixed(3);
  const cv = nd.clipSimilarity.variants;
  const cd = nd.clipSimilarity.distinct;
  out.push(`  CLIP cosine: variant vs its photo ${cv ? `min ${f3(cv.min)}, median ${f3(cv.median)}` : 'n/a'}; distinct images ${cd ? `max ${f3(cd.max)}, 99th percentile ${f3(cd.p99)}` : 'n/a'}`);
  const hv = nd.hashDistance.variants;
  const hd = nd.hashDistance.distinct;
  out.push(`  dHash distance: variant vs its photo ${hv ? `median ${hv.median}, max ${hv.max}` : 'n/a'}; distinct images ${hd ? `min ${hd.min}, 1st percentile ${hd.p1}` : 'n/a'}`);
  if (nd.variantsFailed.length) out.push(`  ${nd.variantsFailed.length} variant(s) could not be made or ingested, e.g. ${nd.variantsFailed[0]!.file} ${nd.variantsFailed[0]!.variant}: ${nd.variantsFailed[0]!.reason}`);
  return `${out.join('\n')}\n`;
}

export async function runEvalCommand(argv: string[], io: Partial<EvalCommandIO> = {}): Promise<number> {
  // `eval search …` measures search; a labelled folder literally named "search" can be given as ./search.
  if (argv[0] === 'search') return runSearchEvalCommand(argv.slice(1), io);
  if (argv[0] === 'ocr') return runOcrEvalCommand(argv.slice(1), io);
  const out: EvalCommandIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  let values: { help?: boolean; json?: boolean; k?: string; seed?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, k: { type: 'string' }, seed: { type: 'string' } },
    }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (positionals.length !== 1) return void out.stderr.write(`${positionals.length === 0 ? 'Give the labelled folder.' : 'Give one labelled folder.'}\n\n${USAGE}`), 2;

  let ks: number[];
  let seed: number;
  let set: LabelledSet;
  try {
    ks = parseKs(values.k ?? '1,3,5');
    seed = Number(values.seed ?? '1');
    if (!/^\d+$/.test(values.seed ?? '1') || !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a whole number; got "${values.seed}".`);
    set = await scanFolder(positionals[0]!);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr.write(`fieldscope eval: ${error.message}\n`);
    return 2;
  }

  let config: Config;
  let dataDir: string | null = null;
  let core: Core;
  try {
    const userConfig = loadConfig(out.env);
    // A fresh DATA_DIR: the user's knowledge base is never read or written. Models are still
    // looked up where the user's configuration keeps them (config.models.dir).
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fieldscope-eval-'));
    // Always a throwaway embedded store: eval must never write into the user's knowledge base (local or Qdrant).
    config = { ...userConfig, dataDir, store: { kind: 'sqlite', qdrant: undefined }, loadDemo: false, auth: { ...userConfig.auth, keysFile: undefined } };
    const level = config.logLevel === 'info' ? 'warn' : config.logLevel;
    // Logs go to stderr: stdout carries the report (a table, or JSON).
    core = await createCore(config, pino({ level, base: { service: 'fieldscope' } }, pino.destination(2)));
  } catch (error) {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    out.stderr.write(`fieldscope eval cannot run: ${describeError(error)}\n`);
    return 1;
  }

  try {
    const report = await new Evaluation(core, set, ks, seed, out.stderr).run(positionals[0]!);
    out.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr.write(`fieldscope eval: ${error.message}\n`);
    return 2;
  } finally {
    await core.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
