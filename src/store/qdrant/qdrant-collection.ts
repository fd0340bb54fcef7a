/**
 * The layout of the Qdrant knowledge base: one collection `<prefix>points` holding every record
 * of every tenant, told apart by payload.
 *
 * | type       | vectors                      | what it is                                            |
 * |------------|------------------------------|-------------------------------------------------------|
 * | `document` | none                         | a document's record (the commit marker; id from hash) |
 * | `page`     | `image`?, `bm25`?            | a page: text, thumbnail, identifiers                  |
 * | `chunk`    | `text`                       | a text chunk of a page or of a photo caption          |
 * | `photo`    | `image`, `bm25`?             | a photo: record, caption, identifiers (id from hash)  |
 * | `meta`     | none                         | vector size and model of the collection (tenant `_system`) |
 *
 * Named dense vectors `image` and `text` (Cosine, the model's size) and a sparse `bm25` vector
 * with `modifier: 'idf'`. Payload indexes cover every field a filter uses, and `tenant` is a
 * keyword index with `is_tenant: true`.
 */
import type { Schemas } from '@qdrant/js-client-rest';
import { QdrantCollectionMismatchError, QdrantVectorSizeMismatchError } from './qdrant-errors.js';

export const IMAGE_VECTOR = 'image';
export const TEXT_VECTOR = 'text';
export const SPARSE_VECTOR = 'bm25';
/** Tenant of the store-wide meta point; tenant names cannot start with "_". */
export const SYSTEM_TENANT = '_system';
export const LAYOUT_VERSION = 1;

export type PointType = 'document' | 'page' | 'chunk' | 'photo' | 'meta';

export function collectionName(prefix: string): string {
  return `${prefix}points`;
}

export interface CollectionOptions {
  dim: number;
  /** int8 scalar quantization of the dense vectors (4× less RAM, rescored from originals). */
  quantization: 'none' | 'int8';
  shardNumber?: number;
  replicationFactor?: number;
}

export function createCollectionBody(options: CollectionOptions): Schemas['CreateCollection'] {
  const dense: Schemas['VectorParams'] = { size: options.dim, distance: 'Cosine' };
  const body: Schemas['CreateCollection'] = {
    vectors: { [IMAGE_VECTOR]: dense, [TEXT_VECTOR]: { ...dense } },
    sparse_vectors: { [SPARSE_VECTOR]: { modifier: 'idf' } },
  };
  if (options.quantization === 'int8') body.quantization_config = { scalar: { type: 'int8', always_ram: true } };
  if (options.shardNumber !== undefined) body.shard_number = options.shardNumber;
  if (options.replicationFactor !== undefined) body.replication_factor = options.replicationFactor;
  return body;
}

/** Every payload field a filter, an ordering or a grouping uses. */
export const PAYLOAD_INDEXES: readonly { field: string; schema: Schemas['PayloadFieldSchema']; dataType: Schemas['PayloadSchemaType'] }[] = [
  { field: 'tenant', schema: { type: 'keyword', is_tenant: true }, dataType: 'keyword' },
  { field: 'type', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'committed', schema: { type: 'bool' }, dataType: 'bool' },
  { field: 'document_id', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'photo_id', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'content_hash', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'target', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'kind', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'identifiers', schema: { type: 'keyword' }, dataType: 'keyword' },
  // "<band>:<value>" for each 8-bit band of a page's or photo's difference hash (multi-index hashing).
  { field: 'image_hash_bands', schema: { type: 'keyword' }, dataType: 'keyword' },
  // The same for the SimHash key of a mostly white page's layout signature (identify/page-layout.ts).
  { field: 'image_layout_bands', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'metadata_terms', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'blob_keys', schema: { type: 'keyword' }, dataType: 'keyword' },
  { field: 'page_number', schema: { type: 'integer', lookup: true, range: false }, dataType: 'integer' },
  // listDocuments orders by it (order_by needs a range index).
  { field: 'created_ms', schema: { type: 'integer', lookup: true, range: true }, dataType: 'integer' },
];

function vectorSize(params: unknown): number | undefined {
  if (params && typeof params === 'object' && typeof (params as { size?: unknown }).size === 'number') return (params as { size: number }).size;
  return undefined;
}

/** Checks an existing collection against what this store needs; throws what to do when it cannot serve. */
export function checkCollection(url: string, collection: string, info: Schemas['CollectionInfo'], dim: number): void {
  const vectors = info.config.params.vectors as Record<string, unknown> | undefined;
  if (!vectors || typeof vectors !== 'object' || vectorSize(vectors) !== undefined) {
    throw new QdrantCollectionMismatchError(url, collection, `it has a single unnamed vector, not the named vectors "${IMAGE_VECTOR}" and "${TEXT_VECTOR}"`);
  }
  for (const name of [IMAGE_VECTOR, TEXT_VECTOR]) {
    const params = vectors[name] as { size?: unknown; distance?: unknown } | undefined;
    const size = vectorSize(params);
    if (size === undefined) throw new QdrantCollectionMismatchError(url, collection, `it has no dense vector named "${name}"`);
    if (size !== dim) throw new QdrantVectorSizeMismatchError(url, collection, size, dim);
    if (params?.distance !== 'Cosine') throw new QdrantCollectionMismatchError(url, collection, `its "${name}" vectors use ${String(params?.distance)} distance, not Cosine`);
  }
  const sparse = info.config.params.sparse_vectors as Record<string, { modifier?: unknown } | undefined> | null | undefined;
  const bm25 = sparse?.[SPARSE_VECTOR];
  if (!bm25) throw new QdrantCollectionMismatchError(url, collection, `it has no sparse vector named "${SPARSE_VECTOR}"`);
  if (bm25.modifier !== 'idf') throw new QdrantCollectionMismatchError(url, collection, `its "${SPARSE_VECTOR}" sparse vector has no IDF modifier`);
}

/** Indexes still to create (an existing index of the field is kept as it is). */
export function missingIndexes(info: Schemas['CollectionInfo']): typeof PAYLOAD_INDEXES {
  const existing = info.payload_schema ?? {};
  return PAYLOAD_INDEXES.filter((index) => !(index.field in existing));
}
