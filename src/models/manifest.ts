/**
 * Model manifests: the data that describes one CLIP model (see docs/model-manifest.md).
 *
 * The repository's manifests live in `<repo>/models/manifests/<name>.json`, found relative to this source
 * file (not the working directory). An installed model folder carries its manifest as
 * `fieldscope-model.json` (MODEL_MARKER_FILE), written last by `pullModel`.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ModelManifestError, ModelManifestNotFoundError } from './errors.js';

/** File name of the manifest copy inside an installed model folder; its presence marks a complete install. */
export const MODEL_MARKER_FILE = 'fieldscope-model.json';

/** `<repo>/models/manifests/`, resolved from this file so it works from any cwd (src/ via tsx or dist/). */
export const MANIFESTS_DIR = path.resolve(fileURLToPath(new URL('../../models/manifests/', import.meta.url)));

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const REVISION_RE = /^[0-9a-f]{40}$/;

/** A relative POSIX path inside the model folder: no `..`, no absolute path, no backslashes, no empty segments. */
const relativePath = z
  .string()
  .min(1)
  .refine(
    (p) =>
      !p.startsWith('/') &&
      !p.includes('\\') &&
      !p.includes('\0') &&
      p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'),
    { message: 'must be a relative path with "/" separators and no "." or ".." segments' },
  );

const sha256 = z.string().regex(SHA256_RE, { message: 'must be 64 lower-case hex characters' });

export const manifestFileSchema = z.strictObject({
  path: relativePath,
  /** Exact size in bytes; null when unknown (then only the checksum is checked). */
  size: z.number().int().nonnegative().nullable(),
  /** Lower-case hex sha256 of the whole file; null when unknown (install then needs --allow-unverified). */
  sha256: sha256.nullable(),
});

const provenanceSourceSchema = z.strictObject({
  id: z.string().min(1),
  /** Where the value was read: a URL, or `owner/repo` + path + commit. */
  repo: z.string().min(1).optional(),
  path: z.string().min(1).optional(),
  commit: z.string().regex(REVISION_RE).optional(),
  url: z.url().optional(),
  /** What this source states, in a sentence. */
  covers: z.string().min(1),
});

export const provenanceSchema = z.strictObject({
  /** How the values were obtained, in prose. */
  summary: z.string().min(1),
  sources: z.array(provenanceSourceSchema).min(1),
  /** For each file path: which source ids the `size` and the `sha256` came from. */
  files: z.record(z.string(), z.strictObject({ size: z.array(z.string()), sha256: z.array(z.string()) })),
  notes: z.array(z.string()).optional(),
});

export const manifestSchema = z
  .strictObject({
    name: z.string().regex(NAME_RE, { message: 'must be lower-case letters, digits, ".", "_" or "-" (max 64)' }),
    description: z.string().optional(),
    embeddingDim: z.number().int().positive(),
    source: z.strictObject({
      repo: z.string().min(1),
      revision: z.string().regex(REVISION_RE, { message: 'must be a 40-hex commit id, never a branch name' }),
      baseUrl: z.url({ protocol: /^https?$/ }),
    }),
    files: z.array(manifestFileSchema).min(1),
    vision: z.strictObject({ file: relativePath, input: z.string().min(1), output: z.string().min(1) }),
    text: z.strictObject({
      file: relativePath,
      inputIds: z.string().min(1),
      attentionMask: z.string().min(1).nullable(),
      output: z.string().min(1),
      fixedLength: z.number().int().positive().nullable(),
      padId: z.number().int().nonnegative().nullable(),
    }),
    tokenizer: relativePath,
    preprocessor: relativePath,
    /** Thresholds that depend on the model's similarity scale, measured for this model. */
    calibration: z
      .strictObject({
        /** Cosine between two image embeddings above which the images are near-duplicates (re-encoded, resized, lightly cropped). */
        nearDuplicateSimilarity: z.number().min(0).max(1),
        /** How the value was obtained. */
        source: z.string().min(1),
      })
      .optional(),
    provenance: provenanceSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const paths = new Set<string>();
    m.files.forEach((f, i) => {
      if (paths.has(f.path)) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `duplicate file "${f.path}"` });
      paths.add(f.path);
      if (f.path === MODEL_MARKER_FILE || f.path.endsWith('.part')) {
        ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `"${f.path}" is a reserved name` });
      }
    });
    const refs: [(string | number)[], string][] = [
      [['vision', 'file'], m.vision.file],
      [['text', 'file'], m.text.file],
      [['tokenizer'], m.tokenizer],
      [['preprocessor'], m.preprocessor],
    ];
    for (const [where, p] of refs) {
      if (!paths.has(p)) ctx.addIssue({ code: 'custom', path: where, message: `"${p}" is not listed in files` });
    }
    if (m.text.fixedLength !== null && m.text.padId === null) {
      ctx.addIssue({ code: 'custom', path: ['text', 'padId'], message: 'is required when text.fixedLength is set' });
    }
    if (m.provenance) {
      const ids = new Set(m.provenance.sources.map((s) => s.id));
      for (const [file, cite] of Object.entries(m.provenance.files)) {
        if (!paths.has(file)) ctx.addIssue({ code: 'custom', path: ['provenance', 'files', file], message: 'is not listed in files' });
        for (const id of [...cite.size, ...cite.sha256]) {
          if (!ids.has(id)) ctx.addIssue({ code: 'custom', path: ['provenance', 'files', file], message: `cites unknown source "${id}"` });
        }
      }
    }
  });

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ModelManifestFile = z.infer<typeof manifestFileSchema>;

/** One readable line per issue: `source.revision: must be a 40-hex commit id, never a branch name`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    return `${where}: ${issue.message}`;
  });
}

/** Validates parsed JSON; `source` names it in error messages (a path or a name). */
export function parseManifest(data: unknown, source = 'manifest'): ModelManifest {
  const result = manifestSchema.safeParse(data);
  if (!result.success) throw new ModelManifestError(source, formatIssues(result.error), { cause: result.error });
  return result.data;
}

/** Reads and validates a manifest file. */
export async function readManifestFile(file: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) throw new ModelManifestNotFoundError(file, `Model manifest not found: ${file}`, { cause: err });
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ModelManifestError(file, [`not valid JSON: ${err instanceof Error ? err.message : String(err)}`], { cause: err });
  }
  return parseManifest(data, file);
}

export interface ManifestLookupOptions {
  /** Folder of `<name>.json` manifests; defaults to MANIFESTS_DIR. */
  dir?: string;
}

/**
 * Loads a manifest by name (`clip-vit-b32` → `<manifests>/clip-vit-b32.json`) or by path (anything with a
 * path separator or ending in `.json`, resolved against the cwd). A manifest loaded by name must carry
 * that name.
 */
export async function loadManifest(nameOrPath: string, options: ManifestLookupOptions = {}): Promise<ModelManifest> {
  if (looksLikePath(nameOrPath)) return readManifestFile(path.resolve(nameOrPath));
  const dir = options.dir ?? MANIFESTS_DIR;
  if (!NAME_RE.test(nameOrPath)) {
    throw new ModelManifestNotFoundError(nameOrPath, `"${nameOrPath}" is not a valid model name`);
  }
  const file = path.join(dir, `${nameOrPath}.json`);
  let manifest: ModelManifest;
  try {
    manifest = await readManifestFile(file);
  } catch (err) {
    if (err instanceof ModelManifestNotFoundError) {
      const known = (await manifestNames(dir)).join(', ') || '(none)';
      throw new ModelManifestNotFoundError(nameOrPath, `Unknown model "${nameOrPath}". Known models: ${known}`, { cause: err });
    }
    throw err;
  }
  if (manifest.name !== nameOrPath) {
    throw new ModelManifestError(file, [`name: is "${manifest.name}" but the file is named "${nameOrPath}.json"`]);
  }
  return manifest;
}

export type ManifestEntry =
  | { name: string; path: string; manifest: ModelManifest; error: null }
  | { name: string; path: string; manifest: null; error: ModelManifestError };

/**
 * Every `<name>.json` in the manifests folder, sorted by name. An invalid manifest is listed with its error
 * instead of failing the whole listing.
 */
export async function listManifests(options: ManifestLookupOptions = {}): Promise<ManifestEntry[]> {
  const dir = options.dir ?? MANIFESTS_DIR;
  const entries: ManifestEntry[] = [];
  for (const name of await manifestNames(dir)) {
    const file = path.join(dir, `${name}.json`);
    try {
      const manifest = await loadManifest(name, { dir });
      entries.push({ name, path: file, manifest, error: null });
    } catch (err) {
      if (err instanceof ModelManifestError) entries.push({ name, path: file, manifest: null, error: err });
      else throw err;
    }
  }
  return entries;
}

/** Sum of the known file sizes, and whether every size is known. */
export function manifestTotalSize(manifest: ModelManifest): { bytes: number; complete: boolean } {
  let bytes = 0;
  let complete = true;
  for (const f of manifest.files) {
    if (f.size === null) complete = false;
    else bytes += f.size;
  }
  return { bytes, complete };
}

async function manifestNames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .filter((n) => NAME_RE.test(n))
    .sort();
}

function looksLikePath(value: string): boolean {
  return value.includes('/') || value.includes(path.sep) || value.endsWith('.json');
}

function isErrnoCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}
