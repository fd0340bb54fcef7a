/**
 * Deterministic point ids. Qdrant accepts unsigned integers or UUIDs; ours are name-based
 * UUIDs (RFC 9562 version 5: SHA-1 of a namespace and a name), so the same record always lands
 * on the same point: a retried or resumed write overwrites instead of duplicating, and the
 * record of a file is keyed by its content hash, which is how two writers of one file meet.
 */
import { createHash } from 'node:crypto';

/** Fieldscope's namespace UUID (random, fixed forever: changing it re-keys every point). */
const NAMESPACE = Buffer.from('6f1c2b7e9a4d4e8bb3c15d2f0a7e9c41', 'hex');

/** Version-5 UUID of `parts` joined with NUL (no part can contain another's boundary). */
export function uuidV5(...parts: string[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u0000'), 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The tenant-less store-wide record (vector size, model). */
export const META_POINT_ID = uuidV5('meta');

export const pointIds = {
  /** A document's record: keyed by the file, so a second writer of the same file meets the first. */
  documentRecord: (tenant: string, contentHash: string) => uuidV5(tenant, 'document-hash', contentHash),
  page: (tenant: string, documentId: string, pageNumber: number) => uuidV5(tenant, 'page', documentId, String(pageNumber)),
  pageChunk: (tenant: string, documentId: string, pageNumber: number, ordinal: number) => uuidV5(tenant, 'chunk', documentId, String(pageNumber), String(ordinal)),
  /** A photo's point (record, image vector, caption text and identifiers in one). */
  photo: (tenant: string, contentHash: string) => uuidV5(tenant, 'photo-hash', contentHash),
  photoChunk: (tenant: string, photoId: string, ordinal: number) => uuidV5(tenant, 'photo-chunk', photoId, String(ordinal)),
};
