/**
 * Access to the workplace's shared test data (`../shared` beside the checkout). Outside this
 * workplace it is absent: suites that need it are skipped with a loud note, the rest still run.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED_DIR = process.env.FIELDSCOPE_SHARED_DIR ?? path.resolve(REPO_ROOT, '../shared');
export const hasShared = existsSync(path.join(SHARED_DIR, 'clip', 'tiny-random'));

export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

/** `describe` that runs only when ../shared exists, and says so when it does not. */
export function describeWithShared(name: string, fn: () => void): void {
  if (!hasShared) {
    console.warn(`[skipped] "${name}": needs the shared test data at ${SHARED_DIR}, which is absent here.`);
    describe.skip(name, fn);
    return;
  }
  describe(name, fn);
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
