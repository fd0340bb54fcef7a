/**
 * Filters of the Qdrant store, as Qdrant `Filter`s. Every read carries the tenant condition and,
 * for what searches and lists see, `committed: true` (see the atomicity note in
 * qdrant-knowledge-store.ts). A SearchFilter is checked with the same rules as the SQLite store
 * (INVALID_FILTER) and becomes conditions inside the search, never a post-filter.
 *
 * Metadata equality: every scalar metadata value is also stored as a keyword
 * `metadata_terms: JSON.stringify([key, value])`, so one keyword index serves every metadata key,
 * a key may contain dots, and equality is exact JSON equality of scalars ("1" ≠ 1, 2.5 = 2.5).
 * Pure functions.
 */
import type { Schemas } from '@qdrant/js-client-rest';
import { InvalidInputError } from '../../errors.js';
import type { JsonObject, SearchFilter, SourceKind } from '../knowledge-store.js';
import { checkFilterKeyCount } from '../metadata-limits.js';

export type QdrantFilter = Schemas['Filter'];
export type QdrantCondition = Schemas['Condition'];

export const SOURCE_KINDS: readonly SourceKind[] = ['pdf', 'markdown', 'html', 'text', 'image', 'photo'];

type Scalar = string | number | boolean | null;

export function matchValue(key: string, value: string | number | boolean): QdrantCondition {
  return { key, match: { value } };
}

/** Distinct values (the schema wants `uniqueItems`). */
export function matchAny(key: string, values: readonly string[]): QdrantCondition {
  return { key, match: { any: [...new Set(values)] } };
}

export function tenantCondition(tenant: string): QdrantCondition {
  return matchValue('tenant', tenant);
}

export const COMMITTED: QdrantCondition = matchValue('committed', true);

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The keyword a scalar metadata value is indexed under. */
export function metadataTerm(key: string, value: Scalar): string {
  return JSON.stringify([key, value]);
}

/** Index terms of a record's metadata: its top-level scalar values. */
export function metadataTerms(metadata: JsonObject): string[] {
  return Object.entries(metadata)
    .filter(([, value]) => isScalar(value))
    .map(([key, value]) => metadataTerm(key, value as Scalar));
}

/**
 * The conditions a SearchFilter adds, or 'nothing' when it can match nothing (an empty list),
 * so the caller answers [] without asking. Throws INVALID_FILTER like the SQLite store.
 */
export function searchFilterConditions(filter: SearchFilter | undefined): QdrantCondition[] | 'nothing' {
  if (!filter) return [];
  const conditions: QdrantCondition[] = [];
  if (filter.documentIds !== undefined) {
    if (!Array.isArray(filter.documentIds) || filter.documentIds.some((id) => typeof id !== 'string')) {
      throw new InvalidInputError('INVALID_FILTER', 'documentIds must be a list of document ids.');
    }
  }
  if (filter.kinds !== undefined) {
    const bad = (filter.kinds as unknown[]).find((k) => typeof k !== 'string' || !SOURCE_KINDS.includes(k as SourceKind));
    if (bad !== undefined) throw new InvalidInputError('INVALID_FILTER', `Unknown kind ${JSON.stringify(bad)}; use one of ${SOURCE_KINDS.join(', ')}.`);
  }
  const terms: string[] = [];
  if (filter.metadata !== undefined) {
    checkFilterKeyCount(filter.metadata);
    for (const [key, value] of Object.entries(filter.metadata)) {
      if (key.length === 0 || key.length > 200 || /["\\\p{Cc}]/u.test(key)) {
        throw new InvalidInputError('INVALID_FILTER', `Metadata key ${JSON.stringify(key)} cannot be filtered on (empty, too long, or contains quotes, backslashes or control characters).`);
      }
      if (!isScalar(value)) throw new InvalidInputError('INVALID_FILTER', `Metadata filter values must be strings, finite numbers, booleans or null; "${key}" is not.`);
      terms.push(metadataTerm(key, value));
    }
  }
  if (filter.documentIds !== undefined) {
    if (filter.documentIds.length === 0) return 'nothing';
    // Photos carry no document_id: naming documents excludes them, as in the SQLite store.
    conditions.push(matchAny('document_id', filter.documentIds));
  }
  if (filter.kinds !== undefined) {
    if (filter.kinds.length === 0) return 'nothing';
    conditions.push(matchAny('kind', filter.kinds));
  }
  for (const term of terms) conditions.push(matchValue('metadata_terms', term));
  return conditions;
}
