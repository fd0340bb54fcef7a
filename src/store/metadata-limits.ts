/**
 * Limits on metadata (document/photo metadata and SearchFilter.metadata), shared by ingestion and
 * both stores so every path refuses the same input with the same code (issue 17, items 13, 14).
 *
 * The checks walk the value with an explicit stack, never recursion: a JSON value nested 100,000
 * deep (JSON.parse builds it iteratively) must be refused, not overflow the stack while being
 * measured. Pure.
 */
import { InvalidInputError } from '../errors.js';
import type { JsonObject } from './knowledge-store.js';

export const METADATA_LIMITS = {
  /** Serialised size of one item's metadata. */
  maxBytes: 16_384,
  /** Nesting of objects/arrays inside metadata (the object itself is depth 1). SQLite's JSON functions stop at 1,000. */
  maxDepth: 32,
  /** Keys in one SearchFilter.metadata: each is a condition of the store's query (SQLite's expression tree limit is 1,000). */
  maxFilterKeys: 64,
} as const;

/** The depth of a JSON value, stopping as soon as it passes `limit`. */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Metadata as stored: a JSON object within the limits, or {} when absent. Throws INVALID_METADATA. */
export function checkMetadata(metadata: unknown): JsonObject {
  if (metadata === null || metadata === undefined) return {};
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new InvalidInputError('INVALID_METADATA', 'metadata must be a JSON object.');
  if (depthExceeds(metadata, METADATA_LIMITS.maxDepth)) {
    throw new InvalidInputError('INVALID_METADATA', `metadata is nested more than ${METADATA_LIMITS.maxDepth} levels deep.`, { details: { limitDepth: METADATA_LIMITS.maxDepth } });
  }
  if (JSON.stringify(metadata).length > METADATA_LIMITS.maxBytes) {
    throw new InvalidInputError('INVALID_METADATA', `metadata is larger than ${METADATA_LIMITS.maxBytes / 1024} KB.`, { details: { limitBytes: METADATA_LIMITS.maxBytes } });
  }
  return metadata as JsonObject;
}

/** A SearchFilter.metadata with too many keys is refused with INVALID_FILTER before any query is built. */
export function checkFilterKeyCount(metadata: JsonObject): void {
  const count = Object.keys(metadata).length;
  if (count > METADATA_LIMITS.maxFilterKeys) {
    throw new InvalidInputError('INVALID_FILTER', `A metadata filter has ${count} keys; the limit is ${METADATA_LIMITS.maxFilterKeys}.`, { details: { limitKeys: METADATA_LIMITS.maxFilterKeys } });
  }
}
