/**
 * A SearchFilter, compiled once per query into the two forms the SQLite store applies it in:
 * a SQL condition over `targets t` (lexical, identifiers, exact vector scans) and a RowFilter
 * for the in-memory coarse index. Both apply the filter inside the search, never after it,
 * so a filter never pushes good results out of the top `limit`.
 */
import type Database from 'better-sqlite3';
import { InvalidInputError } from '../../errors.js';
import type { SearchFilter, SourceKind } from '../knowledge-store.js';
import { checkFilterKeyCount } from '../metadata-limits.js';
import { ALL_KINDS_MASK, KIND_CODES, type RowFilter } from './binary-index.js';

export interface CompiledFilter {
  /** Boolean SQL over the alias `t` (targets). */
  sql: string;
  params: unknown[];
  /** True when the filter names documents: their targets are then a narrow id range worth using. */
  namesDocuments: boolean;
  /** The same filter for the coarse index (computed on first use). */
  rowFilter(): RowFilter;
}

type Scalar = string | number | boolean | null;

const SOURCE_KINDS = new Set<string>(Object.keys(KIND_CODES));

function metadataConditions(alias: string, metadata: Record<string, Scalar>): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    const path = `$."${key}"`;
    const column = `${alias}.metadata`;
    if (value === null) {
      parts.push(`json_type(${column}, ?) = 'null'`);
      params.push(path);
    } else if (typeof value === 'boolean') {
      parts.push(`json_type(${column}, ?) = ?`);
      params.push(path, value ? 'true' : 'false');
    } else if (typeof value === 'number') {
      parts.push(`(json_type(${column}, ?) IN ('integer', 'real') AND json_extract(${column}, ?) = ?)`);
      params.push(path, path, value);
    } else {
      parts.push(`(json_type(${column}, ?) = 'text' AND json_extract(${column}, ?) = ?)`);
      params.push(path, path, value);
    }
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}

function validated(filter: SearchFilter): { documentIds?: string[]; kinds?: SourceKind[]; metadata?: Record<string, Scalar> } {
  const out: { documentIds?: string[]; kinds?: SourceKind[]; metadata?: Record<string, Scalar> } = {};
  if (filter.documentIds !== undefined) {
    if (!Array.isArray(filter.documentIds) || filter.documentIds.some((id) => typeof id !== 'string')) {
      throw new InvalidInputError('INVALID_FILTER', 'documentIds must be a list of document ids.');
    }
    out.documentIds = filter.documentIds;
  }
  if (filter.kinds !== undefined) {
    const bad = (filter.kinds as unknown[]).find((k) => typeof k !== 'string' || !SOURCE_KINDS.has(k));
    if (bad !== undefined) throw new InvalidInputError('INVALID_FILTER', `Unknown kind ${JSON.stringify(bad)}; use one of ${[...SOURCE_KINDS].join(', ')}.`);
    out.kinds = filter.kinds;
  }
  if (filter.metadata !== undefined) {
    checkFilterKeyCount(filter.metadata);
    const metadata: Record<string, Scalar> = {};
    for (const [key, value] of Object.entries(filter.metadata)) {
      if (key.length === 0 || key.length > 200 || /["\\\p{Cc}]/u.test(key)) {
        throw new InvalidInputError('INVALID_FILTER', `Metadata key ${JSON.stringify(key)} cannot be filtered on (empty, too long, or contains quotes, backslashes or control characters).`);
      }
      const scalar = value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
      if (!scalar) throw new InvalidInputError('INVALID_FILTER', `Metadata filter values must be strings, finite numbers, booleans or null; "${key}" is not.`);
      metadata[key] = value as Scalar;
    }
    if (Object.keys(metadata).length > 0) out.metadata = metadata;
  }
  return out;
}

function bitmap(seqs: number[]): Uint8Array {
  let max = 0;
  for (const s of seqs) if (s > max) max = s;
  const map = new Uint8Array(max + 1);
  for (const s of seqs) map[s] = 1;
  return map;
}

/** Null when the filter restricts nothing. */
export function compileFilter(db: Database.Database, filter: SearchFilter | undefined): CompiledFilter | null {
  if (!filter) return null;
  const f = validated(filter);
  if (f.documentIds === undefined && f.kinds === undefined && f.metadata === undefined) return null;

  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.kinds !== undefined) {
    parts.push('t.source_kind IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(f.kinds));
  }
  if (f.documentIds !== undefined) {
    // Photos belong to no document: naming documents excludes them.
    parts.push('t.document_seq IN (SELECT seq FROM documents WHERE id IN (SELECT value FROM json_each(?)))');
    params.push(JSON.stringify(f.documentIds));
  }
  const docMeta = f.metadata ? metadataConditions('d', f.metadata) : null;
  const photoMeta = f.metadata ? metadataConditions('p', f.metadata) : null;
  if (docMeta && photoMeta) {
    parts.push(`(t.document_seq IN (SELECT d.seq FROM documents d WHERE ${docMeta.sql}) OR t.photo_seq IN (SELECT p.seq FROM photos p WHERE ${photoMeta.sql}))`);
    params.push(...docMeta.params, ...photoMeta.params);
  }

  let rows: RowFilter | null = null;
  return {
    sql: parts.join(' AND '),
    params,
    namesDocuments: f.documentIds !== undefined,
    rowFilter() {
      if (rows) return rows;
      let kindMask = ALL_KINDS_MASK;
      if (f.kinds !== undefined) kindMask = f.kinds.reduce((mask, k) => mask | (1 << KIND_CODES[k]), 0);
      if (f.documentIds !== undefined) kindMask &= ~(1 << KIND_CODES.photo);
      let documents: Uint8Array | null = null;
      let photos: Uint8Array | null = null;
      if (f.documentIds !== undefined || docMeta) {
        const conds = [docMeta?.sql ?? '1'];
        const ps: unknown[] = [...(docMeta?.params ?? [])];
        if (f.documentIds !== undefined) {
          conds.push('d.id IN (SELECT value FROM json_each(?))');
          ps.push(JSON.stringify(f.documentIds));
        }
        documents = bitmap(db.prepare(`SELECT d.seq FROM documents d WHERE ${conds.join(' AND ')}`).pluck().all(...ps) as number[]);
      }
      if (photoMeta && (kindMask & (1 << KIND_CODES.photo)) !== 0) {
        photos = bitmap(db.prepare(`SELECT p.seq FROM photos p WHERE ${photoMeta.sql}`).pluck().all(...photoMeta.params) as number[]);
      }
      rows = { kindMask, documents, photos };
      return rows;
    },
  };
}
