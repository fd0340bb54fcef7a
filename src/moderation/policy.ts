/**
 * The moderation policy is data: a JSON file (format in docs/moderation.md; the shipped default
 * is `<repo>/moderation/default-policy.json`, found relative to this source file, not the cwd)
 * with the image labels CLIP scores zero-shot and their thresholds, and the blocked and allowed
 * terms screened in questions and answers.
 *
 * Validation reports every problem at once, each naming the file and the field
 * (`imageLabels[1] ("weapon").review: must not exceed block (0.8); got 0.9`). Unknown fields
 * are errors, so a typo ("blockTerms") is not silently ignored.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ModerationPolicyError } from './errors.js';
import { termWords } from './term-matcher.js';

/** `<repo>/moderation/default-policy.json`. */
export const DEFAULT_POLICY_FILE = path.resolve(fileURLToPath(new URL('../../moderation/default-policy.json', import.meta.url)));

/** Prompt templates for a label without its own `prompts` ({} is the label). */
export const DEFAULT_LABEL_TEMPLATES = ['a photo of {}.', 'a close-up photo of {}.', 'an image showing {}.'];

/** What an unremarkable upload shows: each label is scored against the mean of these. */
export const DEFAULT_NEUTRAL_PROMPTS = ['a photo of an object.', 'a photo of industrial equipment.', 'a photo of a machine part.', 'a photo of a document page.'];

export interface ImageLabelPolicy {
  label: string;
  /** The prompt ensemble: the file's `prompts`, else the templates filled with the label. */
  prompts: string[];
  /** A score at or above this refuses the upload; 1 never blocks. */
  block: number;
  /** A score at or above this (and below block) sends the upload to the review queue; 1 never reviews. */
  review: number;
}

export interface ModerationPolicy {
  /** Where it came from: a file path, or "(disabled)". */
  source: string;
  description: string | null;
  neutralPrompts: string[];
  imageLabels: ImageLabelPolicy[];
  blockedTerms: string[];
  allowedTerms: string[];
}

/** Screens nothing: what MODERATION=off runs with. */
export const DISABLED_POLICY: ModerationPolicy = Object.freeze({
  source: '(disabled)',
  description: 'Moderation is off.',
  neutralPrompts: [],
  imageLabels: [],
  blockedTerms: [],
  allowedTerms: [],
});

const MAX_LABELS = 100;
const MAX_PROMPTS = 32;
const MAX_TERMS = 10_000;

const threshold = z
  .number({ error: 'must be a number between 0 and 1' })
  .min(0, { error: 'must be between 0 and 1' })
  .max(1, { error: 'must be between 0 and 1' });

const prompt = z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be blank' }).max(300, { error: 'is longer than 300 characters' });

const term = z
  .string({ error: 'must be a string' })
  .max(200, { error: 'is longer than 200 characters' })
  .refine((t) => termWords(t).length > 0, { error: 'has no letters or digits, so it could never match' });

const imageLabelSchema = z
  .strictObject({
    label: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be blank' }).max(200, { error: 'is longer than 200 characters' }),
    prompts: z.array(prompt).min(1, { error: 'must list at least one prompt, or be left out to use the templates' }).max(MAX_PROMPTS).optional(),
    block: threshold,
    review: threshold,
  })
  .superRefine((l, ctx) => {
    if (l.review > l.block) ctx.addIssue({ code: 'custom', path: ['review'], message: `must not exceed block (${l.block})` });
  });

const policySchema = z
  .strictObject({
    /** Format version; 1 is the only one so far. */
    version: z.literal(1, { error: 'must be 1 (the only format version)' }).optional(),
    description: z.string().optional(),
    templates: z
      .array(z.string().refine((t) => t.includes('{}'), { error: 'must contain "{}" where the label goes' }))
      .min(1, { error: 'must list at least one template, or be left out' })
      .max(MAX_PROMPTS)
      .optional(),
    neutralPrompts: z.array(prompt).min(1, { error: 'must list at least one prompt, or be left out' }).max(MAX_PROMPTS).optional(),
    imageLabels: z.array(imageLabelSchema).max(MAX_LABELS, { error: `lists more than ${MAX_LABELS} labels` }).default([]),
    blockedTerms: z.array(term).max(MAX_TERMS, { error: `lists more than ${MAX_TERMS} terms` }).default([]),
    allowedTerms: z.array(term).max(MAX_TERMS, { error: `lists more than ${MAX_TERMS} terms` }).default([]),
  })
  .superRefine((p, ctx) => {
    const seen = new Map<string, number>();
    p.imageLabels.forEach((l, i) => {
      const key = l.label.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['imageLabels', i, 'label'], message: `duplicates imageLabels[${first}]` });
      else seen.set(key, i);
    });
  });

function at(data: unknown, key: PropertyKey): unknown {
  return data !== null && typeof data === 'object' ? (data as Record<PropertyKey, unknown>)[key] : undefined;
}

/** `imageLabels[1] ("weapon").block`: array indices in brackets, the label named for readability. */
function describePath(data: unknown, issuePath: readonly PropertyKey[]): string {
  let out = '';
  let node = data;
  for (const key of issuePath) {
    if (typeof key === 'number') {
      out += `[${key}]`;
      node = at(node, key);
      const label = at(node, 'label');
      if (typeof label === 'string' && label.trim()) out += ` (${JSON.stringify(label.trim())})`;
    } else {
      out += `${out ? '.' : ''}${String(key)}`;
      node = at(node, key);
    }
  }
  return out || '(root)';
}

function valueAt(data: unknown, issuePath: readonly PropertyKey[]): unknown {
  return issuePath.reduce<unknown>((node, key) => at(node, key), data);
}

function formatIssues(data: unknown, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    let message = issue.message;
    const value = valueAt(data, issue.path);
    if ((issue.code === 'too_big' || issue.code === 'too_small' || issue.code === 'custom') && typeof value === 'number') message += `; got ${value}`;
    return `${describePath(data, issue.path)}: ${message}`;
  });
}

/** Validates parsed JSON; `source` names it in errors. */
export function parsePolicy(data: unknown, source = 'moderation policy'): ModerationPolicy {
  const result = policySchema.safeParse(data);
  if (!result.success) throw new ModerationPolicyError(source, formatIssues(data, result.error), 'MODERATION_POLICY_INVALID', { cause: result.error });
  const p = result.data;
  const templates = p.templates ?? DEFAULT_LABEL_TEMPLATES;
  return {
    source,
    description: p.description ?? null,
    neutralPrompts: p.neutralPrompts ?? DEFAULT_NEUTRAL_PROMPTS,
    imageLabels: p.imageLabels.map((l) => ({
      label: l.label,
      prompts: l.prompts ?? templates.map((t) => t.replaceAll('{}', l.label)),
      block: l.block,
      review: l.review,
    })),
    blockedTerms: [...new Set(p.blockedTerms)],
    allowedTerms: [...new Set(p.allowedTerms)],
  };
}

/** Reads and validates a policy file; the shipped default when no path is given. */
export async function loadPolicy(file: string = DEFAULT_POLICY_FILE): Promise<ModerationPolicy> {
  const resolved = path.resolve(file);
  let text: string;
  try {
    text = await readFile(resolved, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ModerationPolicyError(resolved, [], 'MODERATION_POLICY_NOT_FOUND', { cause });
    if (code === 'EISDIR') throw new ModerationPolicyError(resolved, ['is a folder, not a JSON file'], 'MODERATION_POLICY_INVALID', { cause });
    throw new ModerationPolicyError(resolved, [`cannot be read: ${String(cause)}`], 'MODERATION_POLICY_INVALID', { cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ModerationPolicyError(resolved, [`not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`], 'MODERATION_POLICY_INVALID', { cause });
  }
  return parsePolicy(data, resolved);
}

/**
 * MODERATION: `on` screens everything; `off` nothing; `auto` (default) is `on` except that
 * image labels are not scored on the bundled random-weight test model, whose scores mean
 * nothing and would refuse or queue uploads at random (terms are still screened).
 */
export type ModerationMode = 'auto' | 'on' | 'off';

export interface ModerationSettings {
  mode: ModerationMode;
  /** MODERATION_POLICY_FILE; the shipped default when unset. */
  policyFile?: string | null;
}

/** The policy to run with, and a warning to log when part of it is switched off. */
export async function resolvePolicy(settings: ModerationSettings, model: { isTestModel: boolean }): Promise<{ policy: ModerationPolicy; warning: string | null }> {
  if (settings.mode === 'off') return { policy: DISABLED_POLICY, warning: 'Moderation is off (MODERATION=off): uploads, questions and answers are not screened.' };
  const policy = await loadPolicy(settings.policyFile ?? DEFAULT_POLICY_FILE);
  if (settings.mode === 'auto' && model.isTestModel && policy.imageLabels.length > 0) {
    return {
      policy: { ...policy, imageLabels: [] },
      warning: 'Image moderation is off on the bundled test model (random weights: scores mean nothing); set MODERATION=on to score images anyway. Terms are still screened.',
    };
  }
  return { policy, warning: null };
}
