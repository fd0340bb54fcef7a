/**
 * What resolvers hand to the `Document` and `Photo` types: the stored record, plus, when it comes
 * from an ingest, whether the same file was already there (the record is then the existing one,
 * with the title/metadata/caption of the upload applied).
 */
import type { DocumentRecord, PhotoRecord } from '../store/knowledge-store.js';

export type DocumentModel = DocumentRecord & { wasDuplicate?: boolean };
export type PhotoModel = PhotoRecord & { wasDuplicate?: boolean };
