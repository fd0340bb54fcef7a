/**
 * The reference data the parity tests compare against, committed under test/fixtures/reference
 * (copied from the workplace's shared data by test/fixtures/reference/copy-from-shared.mjs; sources
 * and licences in the README there). Nothing here reads outside the checkout: a fresh clone with
 * nothing beside it runs every suite.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REFERENCE_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'reference');

export function referencePath(...parts: string[]): string {
  return path.join(REFERENCE_DIR, ...parts);
}

/** Reads a reference JSON file; `*.json.gz` (the large ones are committed compressed) is unzipped. */
export function readReferenceJson<T>(...parts: string[]): T {
  const file = referencePath(...parts);
  const bytes = readFileSync(file);
  return JSON.parse((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')) as T;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
