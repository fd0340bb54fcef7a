/**
 * Row shapes of the documents and photos tables and their mapping to records, shared by the
 * store and the read-only export (migration).
 */
import type { ReadTextResult } from '../../ocr/text-reader.js';
import type { DocumentKind, DocumentRecord, JsonObject, PhotoRecord } from '../knowledge-store.js';

export interface DocumentRow {
  seq: number;
  id: string;
  title: string;
  kind: DocumentKind;
  mime_type: string;
  content_hash: string;
  byte_size: number;
  page_count: number;
  metadata: string;
  blob_key: string;
  created_at: string;
  created_ms: number;
}

export interface PhotoRow {
  seq: number;
  id: string;
  caption: string | null;
  metadata: string;
  content_hash: string;
  mime_type: string;
  width: number;
  height: number;
  blob_key: string;
  created_at: string;
  read_text: string | null;
}

export function toDocument(row: DocumentRow): DocumentRecord {
  return {
    id: row.id,
    title: row.title,
    kind: row.kind,
    mimeType: row.mime_type,
    contentHash: row.content_hash,
    byteSize: row.byte_size,
    pageCount: row.page_count,
    metadata: JSON.parse(row.metadata) as JsonObject,
    blobKey: row.blob_key,
    createdAt: row.created_at,
  };
}

export function toPhoto(row: PhotoRow): PhotoRecord {
  return {
    id: row.id,
    caption: row.caption,
    metadata: JSON.parse(row.metadata) as JsonObject,
    contentHash: row.content_hash,
    mimeType: row.mime_type,
    width: row.width,
    height: row.height,
    blobKey: row.blob_key,
    createdAt: row.created_at,
    readText: row.read_text === null ? null : (JSON.parse(row.read_text) as ReadTextResult),
  };
}
