/**
 * The knowledge store on Qdrant, for scale: every durable record (documents, pages, photos,
 * chunks, identifiers) lives in one Qdrant collection (layout: qdrant-collection.ts), so any
 * number of API replicas can share it. Files stay in the blob store.
 *
 * Multitenancy: every point carries `tenant` (a keyword index with `is_tenant: true`), every
 * read filters by it, and point ids are derived from it, so tenants never meet. One process can
 * serve many tenants over one connection: `forTenant` hands out views of the same collection.
 *
 * All or nothing without transactions. An add goes:
 *   1. validate everything (vectors, page numbers, dates) before any I/O;
 *   2. claim the file: its record point (id derived from tenant + content hash) is written with
 *      `committed: false`, as a conditional upsert that never overwrites a committed record; a
 *      read-back tells whether the claim is ours;
 *   3. write pages and chunks (deterministic ids, `committed: false`) in bounded batches;
 *   4. commit: ONE set-payload `committed: true` by filter (tenant + document id) flips the record,
 *      pages and chunks together; a read-back of the record confirms we still own the file.
 * Every read that users see filters `committed: true`, so a failure before step 4 leaves nothing
 * visible. A rerun of the same file finds the unfinished claim and takes it over: it deletes the
 * earlier attempt's points and writes its own (the same ids when the document id is the same,
 * as in a resumed migration). On a single-shard collection step 4 is one WAL operation; on a
 * sharded one each shard applies it on its own, so a shard failing at that moment can leave part
 * of a document uncommitted (docs/running-at-scale.md).
 *
 * Deletes first hide a document (one set-payload `committed: false`), then delete its points by
 * filter: an interrupted delete leaves an invisible remainder, never a half-visible document.
 */
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { z } from 'zod';
import { AppError, ConfigError, InvalidInputError, UnavailableError } from '../../errors.js';
import { checkImageLayout, isLayoutCopy, LAYOUT_KEY_MAX_DISTANCE, layoutCorrelation, type ImageLayout } from '../../identify/page-layout.js';
import { checkHashQuery, hammingDistance, hashBands, isDifferenceHash } from '../../identify/perceptual-hash.js';
import { normalizeIdentifier } from '../../search/identifiers.js';
import { contentTerms, termCoverage } from '../../search/snippet.js';
import type {
  Candidate,
  ChunkInput,
  DocumentDetails,
  DocumentRecord,
  HitRecords,
  HitTarget,
  ImageKeys,
  JsonObject,
  KnowledgeStore,
  NewDocument,
  NewPhoto,
  Page,
  PageRecord,
  PhotoDetails,
  PhotoRecord,
  RemoteCallOptions,
  SearchFilter,
  SignalQuery,
  SignalResults,
  StoreStatus,
  TextSource,
  UnfinishedAdd,
} from '../knowledge-store.js';
import { defaultTextSource, pageKey, photoSearchText } from '../knowledge-store.js';
import { excerptAround } from '../sqlite/lexical-query.js';
import { InvalidVectorError } from '../store-errors.js';
import { META_POINT_ID, pointIds } from './point-ids.js';
import {
  IMAGE_VECTOR,
  LAYOUT_VERSION,
  SPARSE_VECTOR,
  SYSTEM_TENANT,
  TEXT_VECTOR,
  checkCollection,
  collectionName,
  createCollectionBody,
  missingIndexes,
  type PointType,
} from './qdrant-collection.js';
import { QdrantModelMismatchError, QdrantVectorSizeMismatchError } from './qdrant-errors.js';
import { COMMITTED, matchAny, matchValue, metadataTerms, searchFilterConditions, tenantCondition, type QdrantCondition, type QdrantFilter } from './qdrant-filter.js';
import { callWithRetry, defaultSleep, type RetryPolicy } from './qdrant-retry.js';
import { DEFAULT_BM25_AVERAGE_LENGTH, documentSparseVector, querySparseVector, type SparseVector } from './sparse-bm25.js';
import { createdMs, decodeCursor, encodeCursor } from '../record-cursor.js';

export interface QdrantKnowledgeStoreOptions {
  /** Qdrant's REST endpoint, e.g. http://qdrant:6333 (QDRANT_URL). */
  url: string;
  /** Sent as the `api-key` header (QDRANT_API_KEY). */
  apiKey?: string;
  /** Collections are named `<prefix>points` (QDRANT_COLLECTION_PREFIX); letters, digits, _ and -. */
  collectionPrefix: string;
  /** Embedding size of the model; checked against the collection at init. */
  dim: number;
  /** Embedding model id; checked against the collection's meta record at init. */
  modelId: string;
  /** Whose knowledge base this is (QDRANT_TENANT). Default 'default'. */
  tenant?: string;
  /** Per-request timeout in milliseconds (QDRANT_TIMEOUT_MS). Default 10 000. */
  timeoutMs?: number;
  /** Retries of a request that failed with 429, 5xx, a timeout or a dropped connection (QDRANT_MAX_RETRIES). Default 4; a timeout is retried at most once (qdrant-retry.ts). */
  maxRetries?: number;
  /** First retry delay in milliseconds, doubled per retry up to `retryMaxDelayMs`. Default 250 / 5000. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Longest retry-after (ms) worth waiting for; beyond it the request fails at once. Default 30 000. */
  maxRetryAfterMs?: number;
  /** Most points per upsert request (QDRANT_UPSERT_BATCH). Default 64. */
  upsertBatchSize?: number;
  /** Most points an identifier search reads to rank by matched identifiers. Default 10 000. */
  identifierScanLimit?: number;
  /** Average page length in terms, for BM25's length normalisation. Default 256. */
  bm25AverageLength?: number;
  /** Collection creation only: int8 scalar quantization of dense vectors (QDRANT_QUANTIZATION). Default 'none'. */
  quantization?: 'none' | 'int8';
  /** Collection creation only (distributed Qdrant). */
  shardNumber?: number;
  replicationFactor?: number;
  /** Readiness probe timeout in milliseconds. Default min(timeoutMs, 2000). */
  probeTimeoutMs?: number;
  /** For tests: how retries wait. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The connection a store and its tenant views share (internal: pass only what `forTenant` would).
 * `opening` is the one init in flight; `probe` caches the readiness probe.
 */
export interface QdrantConnection {
  client: QdrantClient | null;
  probeClient: QdrantClient | null;
  opening: Promise<void> | null;
  /** `problem`: why the last probe failed, for /ready. */
  probe: { at: number; ok: boolean; problem?: string } | null;
}

export interface QdrantStoreStats {
  documents: number;
  pages: number;
  chunks: number;
  photos: number;
}

type Payload = Record<string, unknown>;
type PointStruct = Schemas['PointStruct'];
interface Point {
  id: string | number;
  payload: Payload;
}

const DOCUMENT_KINDS = ['pdf', 'markdown', 'html', 'text', 'image'] as const;
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,120}$/;
const SCROLL_PAGE = 256;
const PROBE_CACHE_MS = 1000;
const HIT_PAYLOAD = ['type', 'document_id', 'page_number', 'photo_id', 'text'];

const documentRecordSchema = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.enum(DOCUMENT_KINDS),
  mimeType: z.string(),
  contentHash: z.string(),
  byteSize: z.number(),
  pageCount: z.number(),
  metadata: z.record(z.string(), z.unknown()),
  blobKey: z.string(),
  createdAt: z.string(),
});

/** A photo's ReadText as stored in its record (see ocr/text-reader.ts). */
const readTextSchema = z.object({
  text: z.string(),
  identifiers: z.array(z.string()),
  regions: z.array(z.object({ text: z.string(), confidence: z.number(), box: z.tuple([z.number(), z.number(), z.number(), z.number()]) })),
  codes: z.array(z.object({ format: z.string(), value: z.string() })),
});

const TEXT_SOURCES = ['file', 'ocr', 'none'] as const;

const photoRecordSchema = z.object({
  id: z.string(),
  caption: z.string().nullable(),
  // Absent on photos stored before reading existed.
  readText: readTextSchema.nullable().default(null),
  metadata: z.record(z.string(), z.unknown()),
  contentHash: z.string(),
  mimeType: z.string(),
  width: z.number(),
  height: z.number(),
  blobKey: z.string(),
  createdAt: z.string(),
});

/** A JSON copy of the metadata (what a round trip through the store gives back). */
function metadataCopy(metadata: JsonObject): JsonObject {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new InvalidInputError('INVALID_RECORD', 'metadata must be a JSON object.');
  return JSON.parse(JSON.stringify(metadata)) as JsonObject;
}

/** A JSON copy of a ReadText, checked against its schema (what a round trip through the store gives back). */
function readTextCopy(readText: unknown): z.infer<typeof readTextSchema> {
  const parsed = readTextSchema.safeParse(JSON.parse(JSON.stringify(readText)));
  if (!parsed.success) throw new InvalidInputError('INVALID_RECORD', `The photo's readText is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}.`);
  return parsed.data;
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidInputError('INVALID_LIMIT', `limit must be a non-negative integer; got ${limit}.`);
}

function str(payload: Payload, key: string): string | undefined {
  const v = payload[key];
  return typeof v === 'string' ? v : undefined;
}

function num(payload: Payload, key: string): number | undefined {
  const v = payload[key];
  return typeof v === 'number' ? v : undefined;
}

function strings(payload: Payload, key: string): string[] {
  const v = payload[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Identifiers as keys (normalised) with the first spelling of each, as the SQLite store keeps them. */
/** The difference hash and its bands ("<band>:<value>", keyword-indexed) for near-copy lookups. */
function imageHashFields(hash: string | null | undefined, what: string): { image_hash?: string; image_hash_bands?: string[] } {
  if (hash === undefined || hash === null) return {};
  if (!isDifferenceHash(hash)) throw new InvalidInputError('INVALID_RECORD', `The image hash of ${what} must be 16 lower-case hex digits.`);
  return { image_hash: hash, image_hash_bands: bandKeys(hash) };
}

/** The layout signature (base64), its SimHash key and the key's bands (keyword-indexed), for near-copies of mostly white pages. */
function imageLayoutFields(layout: ImageLayout | null | undefined, what: string): { image_layout?: string; image_layout_key?: string; image_layout_bands?: string[] } {
  if (layout === undefined || layout === null) return {};
  checkImageLayout(layout, 'INVALID_RECORD', what);
  return { image_layout: Buffer.from(layout.signature).toString('base64'), image_layout_key: layout.key, image_layout_bands: bandKeys(layout.key) };
}

/** Stored layouts that copy the query's (key within LAYOUT_KEY_MAX_DISTANCE, then correlation), best first. */
function keyIsNear(payload: Payload, layout: ImageLayout): boolean {
  const key = str(payload, 'image_layout_key');
  return key !== undefined && isDifferenceHash(key) && hammingDistance(layout.key, key) <= LAYOUT_KEY_MAX_DISTANCE;
}

function copiesByLayout<P extends { payload: Payload }>(points: P[], layout: ImageLayout, limit: number): (P & { correlation: number })[] {
  return points
    .flatMap((p) => {
      const encoded = str(p.payload, 'image_layout');
      if (encoded === undefined || !keyIsNear(p.payload, layout)) return [];
      const signature = new Uint8Array(Buffer.from(encoded, 'base64'));
      if (signature.length !== layout.signature.length) return [];
      const correlation = layoutCorrelation(layout.signature, signature);
      return isLayoutCopy(correlation) ? [{ ...p, correlation }] : [];
    })
    .sort((a, b) => b.correlation - a.correlation)
    .slice(0, limit);
}

function bandKeys(hash: string): string[] {
  return hashBands(hash).map((value, band) => `${band}:${value}`);
}

/** A batch query cannot group chunks by page: it asks for this many times `limit` chunks and keeps the best per page. */
const CHUNK_OVERSAMPLE = 4;

function bestPerTarget(candidates: Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return candidates.filter((c) => {
    const key = JSON.stringify(c.target);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function nearestByHash<P extends { payload: Payload }>(points: P[], hash: string, maxDistance: number, limit: number): (P & { distance: number })[] {
  return points
    .flatMap((p) => {
      const stored = str(p.payload, 'image_hash');
      if (stored === undefined || !isDifferenceHash(stored)) return [];
      const distance = hammingDistance(hash, stored);
      return distance <= maxDistance ? [{ ...p, distance }] : [];
    })
    .sort((a, b) => a.distance - b.distance)
    .slice(0, limit);
}

function identifierFields(identifiers: string[]): { identifiers: string[]; identifier_spellings: string[] } {
  const keys: string[] = [];
  const spellings: string[] = [];
  for (const identifier of identifiers) {
    const key = normalizeIdentifier(identifier);
    if (key.length === 0 || keys.includes(key)) continue;
    keys.push(key);
    spellings.push(identifier);
  }
  return { identifiers: keys, identifier_spellings: spellings };
}

function filterOf(...conditions: QdrantCondition[]): QdrantFilter {
  return { must: conditions };
}

function corrupt(what: string, cause: unknown): AppError {
  return new AppError('QDRANT_CORRUPT_RECORD', 'INTERNAL', `A ${what} in Qdrant does not have the shape this program writes.`, { cause });
}

export class QdrantKnowledgeStore implements KnowledgeStore {
  readonly collection: string;
  readonly tenant: string;
  private readonly connection: QdrantConnection;
  /** Whether this store made the connection (and so closes it); false for views from `forTenant`. */
  private readonly ownsConnection: boolean;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly batchSize: number;
  private readonly identifierScanLimit: number;
  private readonly averageLength: number;
  private readonly sleep: (ms: number) => Promise<void>;

  /** `connection` is internal: views made by `forTenant` share their root's. */
  constructor(
    private readonly options: QdrantKnowledgeStoreOptions,
    connection?: QdrantConnection,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch (error) {
      throw new ConfigError(`QDRANT_URL must be an http(s) URL; got ${JSON.stringify(options.url)}.`, { cause: error });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`QDRANT_URL must be an http(s) URL; got ${JSON.stringify(options.url)}.`);
    if (parsed.username || parsed.password) throw new ConfigError('QDRANT_URL must not contain credentials; set QDRANT_API_KEY instead.');
    if (!PREFIX_PATTERN.test(options.collectionPrefix)) throw new ConfigError(`QDRANT_COLLECTION_PREFIX may use letters, digits, "_" and "-" (1-120 characters); got ${JSON.stringify(options.collectionPrefix)}.`);
    const tenant = options.tenant ?? 'default';
    if (!TENANT_PATTERN.test(tenant)) throw new ConfigError(`The tenant must start with a letter or digit and use letters, digits and _ . : @ - (at most 128); got ${JSON.stringify(tenant)}.`);
    if (!Number.isInteger(options.dim) || options.dim < 1) throw new ConfigError(`The embedding size must be a positive integer; got ${options.dim}.`);
    this.url = parsed.origin + parsed.pathname.replace(/\/+$/, '');
    this.collection = collectionName(options.collectionPrefix);
    this.tenant = tenant;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.policy = {
      maxRetries: options.maxRetries ?? 4,
      baseDelayMs: options.retryBaseDelayMs ?? 250,
      maxDelayMs: options.retryMaxDelayMs ?? 5000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
    };
    this.batchSize = Math.max(1, Math.floor(options.upsertBatchSize ?? 64));
    this.identifierScanLimit = Math.max(1, Math.floor(options.identifierScanLimit ?? 10_000));
    this.averageLength = options.bm25AverageLength ?? DEFAULT_BM25_AVERAGE_LENGTH;
    this.sleep = options.sleep ?? defaultSleep;
    this.ownsConnection = connection === undefined;
    this.connection = connection ?? { client: null, probeClient: null, opening: null, probe: null };
  }

  /**
   * A view of the same collection for another tenant, over this store's connection: no new
   * client, and `init()` on it shares the one opening (or returns at once when open). Closing a
   * view leaves the connection open; only the root store (the one built without a connection)
   * closes it, after which its views are closed too.
   */
  forTenant(tenant: string): QdrantKnowledgeStore {
    return new QdrantKnowledgeStore({ ...this.options, tenant }, this.connection);
  }

  get dim(): number {
    return this.options.dim;
  }

  get location(): string {
    return `${this.url} (collection ${this.collection}, tenant ${this.tenant})`;
  }

  // ---- plumbing ----

  private makeClient(timeoutMs: number): QdrantClient {
    // The key goes as the `api-key` header the client's `apiKey` option would set, without that
    // option's console.warn on every client over http (a plain-text line on stderr, twice per start,
    // on the private networks README recommends); the server logs its own warning once instead.
    const headers = this.options.apiKey !== undefined ? { 'api-key': this.options.apiKey } : undefined;
    return new QdrantClient({ url: this.url, headers, timeout: timeoutMs, checkCompatibility: false });
  }

  private open(): QdrantClient {
    if (!this.connection.client) throw new UnavailableError('The knowledge store is not open.');
    return this.connection.client;
  }

  private call<T>(operation: string, fn: (client: QdrantClient) => Promise<T>, client: QdrantClient = this.open(), signal?: AbortSignal): Promise<T> {
    return callWithRetry({ url: this.url, collection: this.collection, operation, timeoutMs: this.timeoutMs }, this.policy, () => fn(client), this.sleep, signal);
  }

  private base(...conditions: QdrantCondition[]): QdrantCondition[] {
    return [tenantCondition(this.tenant), ...conditions];
  }

  private visible(...conditions: QdrantCondition[]): QdrantFilter {
    return filterOf(...this.base(COMMITTED, ...conditions));
  }

  private async scrollPage(filter: QdrantFilter, limit: number, withPayload: string[], extra: { offset?: string | number; orderBy?: Schemas['OrderBy']; signal?: AbortSignal } = {}): Promise<{ points: Point[]; next: string | number | null }> {
    const result = await this.call(
      'scroll_points',
      (c) => c.scroll(this.collection, { filter, limit, with_payload: withPayload, with_vector: false, offset: extra.offset, order_by: extra.orderBy }),
      undefined,
      extra.signal,
    );
    const points = result.points.map((p) => ({ id: p.id, payload: (p.payload ?? {}) as Payload }));
    const next = result.next_page_offset;
    return { points, next: typeof next === 'string' || typeof next === 'number' ? next : null };
  }

  private async scrollAll(filter: QdrantFilter, withPayload: string[], cap = Number.POSITIVE_INFINITY): Promise<Point[]> {
    const out: Point[] = [];
    let offset: string | number | undefined;
    for (;;) {
      const { points, next } = await this.scrollPage(filter, Math.min(SCROLL_PAGE, Math.max(1, cap - out.length)), withPayload, { offset });
      out.push(...points);
      if (next === null || out.length >= cap) return out;
      offset = next;
    }
  }

  private async first(filter: QdrantFilter, withPayload: string[], signal?: AbortSignal): Promise<Point | null> {
    return (await this.scrollPage(filter, 1, withPayload, { signal })).points[0] ?? null;
  }

  private async count(filter: QdrantFilter, signal?: AbortSignal): Promise<number> {
    return (await this.call('count_points', (c) => c.count(this.collection, { filter, exact: true }), undefined, signal)).count;
  }

  private async upsert(points: PointStruct[], extra: { updateFilter?: QdrantFilter; signal?: AbortSignal } = {}): Promise<void> {
    for (let i = 0; i < points.length; i += this.batchSize) {
      const batch = points.slice(i, i + this.batchSize);
      await this.call('upsert_points', (c) => c.upsert(this.collection, { wait: true, points: batch, update_filter: extra.updateFilter }), undefined, extra.signal);
    }
  }

  private async deleteWhere(filter: QdrantFilter, signal?: AbortSignal): Promise<void> {
    await this.call('delete_points', (c) => c.delete(this.collection, { wait: true, filter }), undefined, signal);
  }

  private async setPayloadWhere(payload: Payload, filter: QdrantFilter, signal?: AbortSignal): Promise<void> {
    await this.call('set_payload', (c) => c.setPayload(this.collection, { wait: true, payload, filter }), undefined, signal);
  }

  /** Validated, L2-normalised copy of an embedding, as JSON numbers (9 significant digits round-trip a float32). */
  private unitVector(vector: Float32Array, what: string): number[] {
    if (!(vector instanceof Float32Array) || vector.length !== this.options.dim) {
      throw new InvalidVectorError(`${what} has ${vector?.length ?? 'no'} dimensions; the store holds ${this.options.dim}-dimensional vectors.`);
    }
    let sum = 0;
    for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
    if (!Number.isFinite(sum)) throw new InvalidVectorError(`${what} contains NaN or infinite values.`);
    if (sum === 0) throw new InvalidVectorError(`${what} is all zeros.`);
    const norm = Math.sqrt(sum);
    const out = new Array<number>(vector.length);
    for (let i = 0; i < vector.length; i++) out[i] = Number((vector[i]! / norm).toPrecision(9));
    return out;
  }

  // ---- lifecycle ----

  async init(): Promise<void> {
    const connection = this.connection;
    if (connection.client) return;
    connection.opening ??= this.openCollection().finally(() => {
      connection.opening = null;
    });
    return connection.opening;
  }

  private async openCollection(): Promise<void> {
    const client = this.makeClient(this.timeoutMs);
    const { exists } = await this.call('collection_exists', (c) => c.collectionExists(this.collection), client);
    if (!exists) {
      const body = createCollectionBody({
        dim: this.options.dim,
        quantization: this.options.quantization ?? 'none',
        shardNumber: this.options.shardNumber,
        replicationFactor: this.options.replicationFactor,
      });
      try {
        await this.call('create_collection', (c) => c.createCollection(this.collection, body), client);
      } catch (error) {
        // Another replica may have created it a moment ago.
        const again = await this.call('collection_exists', (c) => c.collectionExists(this.collection), client);
        if (!again.exists) throw error;
      }
    }
    const info = await this.call('get_collection', (c) => c.getCollection(this.collection), client);
    checkCollection(this.url, this.collection, info, this.options.dim);
    for (const index of missingIndexes(info)) {
      await this.call('create_field_index', (c) => c.createPayloadIndex(this.collection, { field_name: index.field, field_schema: index.schema, wait: true }), client);
    }
    await this.checkMeta(client);
    this.connection.client = client;
    this.connection.probeClient = this.makeClient(this.options.probeTimeoutMs ?? Math.min(this.timeoutMs, 2000));
    this.connection.probe = { at: Date.now(), ok: true };
  }

  /** The collection's model and vector size, recorded by the first init (insert-only, so two first inits agree on one). */
  private async checkMeta(client: QdrantClient): Promise<void> {
    const filter = filterOf(tenantCondition(SYSTEM_TENANT), matchValue('type', 'meta'));
    const read = async () => (await this.call('scroll_points', (c) => c.scroll(this.collection, { filter, limit: 1, with_payload: true, with_vector: false }), client)).points[0];
    let meta = await read();
    if (!meta) {
      const payload = { tenant: SYSTEM_TENANT, type: 'meta' satisfies PointType, committed: true, model_id: this.options.modelId, dim: this.options.dim, layout_version: LAYOUT_VERSION, created_at: new Date().toISOString() };
      await this.call('upsert_points', (c) => c.upsert(this.collection, { wait: true, points: [{ id: META_POINT_ID, vector: {}, payload }], update_mode: 'insert_only' }), client);
      meta = await read();
    }
    const payload = (meta?.payload ?? {}) as Payload;
    const storedDim = num(payload, 'dim');
    const storedModel = str(payload, 'model_id');
    if (storedDim !== undefined && storedDim !== this.options.dim) throw new QdrantVectorSizeMismatchError(this.url, this.collection, storedDim, this.options.dim);
    if (storedModel !== this.options.modelId) throw new QdrantModelMismatchError(this.url, this.collection, storedModel ?? '(unknown)', this.options.modelId);
  }

  /** Closes the connection when this is the root store; on a view from `forTenant`, does nothing. */
  async close(): Promise<void> {
    if (!this.ownsConnection) return;
    this.connection.client = null;
    this.connection.probeClient = null;
    this.connection.probe = null;
  }

  /** Ready once initialised and while Qdrant answers (a cheap probe, cached for a second, shared by the views). */
  async storeStatus(): Promise<StoreStatus> {
    const connection = this.connection;
    const probeClient = connection.probeClient;
    if (!connection.client || !probeClient) return { kind: 'qdrant', ready: false, location: this.location, problem: 'not connected yet (start-up keeps retrying; see the log)' };
    let probe = connection.probe;
    if (!probe || Date.now() - probe.at > PROBE_CACHE_MS) {
      const target = { url: this.url, collection: this.collection, operation: 'collection_exists', timeoutMs: this.options.probeTimeoutMs ?? Math.min(this.timeoutMs, 2000) };
      try {
        // One attempt: readiness reports the present, and the cached answer is retried a second later anyway.
        const { exists } = await callWithRetry(target, { ...this.policy, maxRetries: 0 }, () => probeClient.collectionExists(this.collection), this.sleep);
        probe = { at: Date.now(), ok: exists, ...(exists ? {} : { problem: `the collection "${this.collection}" does not exist at ${this.url}` }) };
      } catch (error) {
        probe = { at: Date.now(), ok: false, problem: error instanceof Error ? error.message : String(error) };
      }
      connection.probe = probe;
    }
    return { kind: 'qdrant', ready: probe.ok, location: this.location, ...(probe.problem ? { problem: probe.problem } : {}) };
  }

  // ---- adding ----

  private documentPoints(input: NewDocument): { record: DocumentRecord; claim: PointStruct; points: PointStruct[] } {
    const doc = input.document;
    if (!(DOCUMENT_KINDS as readonly string[]).includes(doc.kind)) throw new InvalidInputError('INVALID_RECORD', `Unknown document kind ${JSON.stringify(doc.kind)}.`);
    const ms = createdMs(doc.createdAt);
    const record: DocumentRecord = { ...doc, metadata: metadataCopy(doc.metadata) };
    const numbers = new Set<number>();
    for (const page of input.pages) {
      if (!Number.isInteger(page.number) || page.number < 1) throw new InvalidInputError('INVALID_RECORD', `Page numbers start at 1; got ${page.number}.`);
      if (numbers.has(page.number)) throw new InvalidInputError('INVALID_RECORD', `Page ${page.number} appears twice.`);
      numbers.add(page.number);
      imageHashFields(page.imageHash, `page ${page.number}`);
      imageLayoutFields(page.imageLayout, `page ${page.number}`);
    }
    const tenant = this.tenant;
    const terms = metadataTerms(record.metadata);
    const common = { tenant, committed: false, document_id: doc.id, kind: doc.kind, metadata_terms: terms };
    const points: PointStruct[] = [];
    for (const page of input.pages) {
      const target = JSON.stringify(['page', doc.id, page.number]);
      const vector: Record<string, number[] | SparseVector> = {};
      if (page.imageVector) vector[IMAGE_VECTOR] = this.unitVector(page.imageVector, `The image vector of page ${page.number}`);
      const sparse = documentSparseVector(page.text, this.averageLength);
      if (sparse) vector[SPARSE_VECTOR] = sparse;
      points.push({
        id: pointIds.page(tenant, doc.id, page.number),
        vector,
        payload: {
          ...common,
          type: 'page' satisfies PointType,
          page_number: page.number,
          target,
          text: page.text,
          text_source: page.textSource ?? defaultTextSource(page.text),
          thumbnail_key: page.thumbnailKey,
          blob_keys: page.thumbnailKey ? [page.thumbnailKey] : [],
          ...identifierFields(page.identifiers),
          ...imageHashFields(page.imageHash, `page ${page.number}`),
          ...imageLayoutFields(page.imageLayout, `page ${page.number}`),
        },
      });
      points.push(...this.chunkPoints(page.chunks, `page ${page.number}`, (ordinal) => pointIds.pageChunk(tenant, doc.id, page.number, ordinal), { ...common, page_number: page.number, target }));
    }
    const claim: PointStruct = {
      id: pointIds.documentRecord(tenant, doc.contentHash),
      vector: {},
      payload: { ...common, type: 'document' satisfies PointType, content_hash: doc.contentHash, created_ms: ms, blob_keys: [doc.blobKey], record },
    };
    return { record, claim, points };
  }

  private chunkPoints(chunks: ChunkInput[], where: string, id: (ordinal: number) => string, payload: Payload): PointStruct[] {
    return chunks.map((chunk, ordinal) => ({
      id: id(ordinal),
      vector: { [TEXT_VECTOR]: this.unitVector(chunk.vector, `The vector of chunk ${ordinal + 1} of ${where}`) },
      payload: { ...payload, type: 'chunk' satisfies PointType, ordinal, text: chunk.text },
    }));
  }

  async addDocument(input: NewDocument, options: RemoteCallOptions = {}): Promise<{ document: DocumentRecord; created: boolean }> {
    this.open();
    const { record, claim, points } = this.documentPoints(input);
    const result = await this.addAtomically({ type: 'document', idField: 'document_id', id: record.id, contentHash: record.contentHash, claim, points }, (p) => this.parseDocument(p), options.signal);
    return { document: result.record, created: result.created };
  }

  private photoPoints(input: NewPhoto): { record: PhotoRecord; claim: PointStruct; points: PointStruct[] } {
    const photo = input.photo;
    const ms = createdMs(photo.createdAt);
    const record: PhotoRecord = { ...photo, metadata: metadataCopy(photo.metadata), readText: photo.readText ? readTextCopy(photo.readText) : null };
    const tenant = this.tenant;
    const target = JSON.stringify(['photo', photo.id]);
    const common = { tenant, committed: false, photo_id: photo.id, kind: 'photo', target, metadata_terms: metadataTerms(record.metadata) };
    const vector: Record<string, number[] | SparseVector> = { [IMAGE_VECTOR]: this.unitVector(input.imageVector, 'The photo vector') };
    const searchText = photoSearchText(record.caption, record.readText);
    const sparse = documentSparseVector(searchText, this.averageLength);
    if (sparse) vector[SPARSE_VECTOR] = sparse;
    const claim: PointStruct = {
      id: pointIds.photo(tenant, photo.contentHash),
      vector,
      payload: {
        ...common,
        type: 'photo' satisfies PointType,
        content_hash: photo.contentHash,
        created_ms: ms,
        text: searchText,
        blob_keys: [photo.blobKey],
        ...identifierFields(input.identifiers),
        ...imageHashFields(input.imageHash, 'the photo'),
        ...imageLayoutFields(input.imageLayout, 'the photo'),
        record,
      },
    };
    const points = this.chunkPoints(input.chunks, 'the caption', (ordinal) => pointIds.photoChunk(tenant, photo.id, ordinal), common);
    return { record, claim, points };
  }

  async addPhoto(input: NewPhoto, options: RemoteCallOptions = {}): Promise<{ photo: PhotoRecord; created: boolean }> {
    this.open();
    const { record, claim, points } = this.photoPoints(input);
    const result = await this.addAtomically({ type: 'photo', idField: 'photo_id', id: record.id, contentHash: record.contentHash, claim, points }, (p) => this.parsePhoto(p), options.signal);
    return { photo: result.record, created: result.created };
  }

  // ---- re-ingest: new details for a file already there ----
  // Not one transaction: the points first, the record last, each write idempotent, so a failure
  // part-way leaves the old record with some points already carrying the new metadata, and a
  // retry of the same re-ingest finishes the job.

  async updateDocumentDetails(id: string, details: DocumentDetails): Promise<DocumentRecord | null> {
    this.open();
    const claim = await this.first(this.visible(matchValue('type', 'document'), matchValue('document_id', id)), ['record']);
    if (!claim) return null;
    const record: DocumentRecord = { ...this.parseDocument(claim.payload), title: details.title, metadata: metadataCopy(details.metadata) };
    await this.setPayloadWhere({ metadata_terms: metadataTerms(record.metadata) }, filterOf(...this.base(matchValue('document_id', id))));
    const page = await this.first(this.visible(matchValue('type', 'page'), matchValue('document_id', id), matchValue('page_number', details.page.number)), []);
    if (page) await this.call('set_payload', (c) => c.setPayload(this.collection, { wait: true, payload: identifierFields(details.page.identifiers), points: [page.id] }));
    await this.call('set_payload', (c) => c.setPayload(this.collection, { wait: true, payload: { record }, points: [claim.id] }));
    return record;
  }

  async updatePhotoDetails(id: string, details: PhotoDetails): Promise<PhotoRecord | null> {
    this.open();
    const found = await this.call('scroll_points', (c) =>
      c.scroll(this.collection, { filter: this.visible(matchValue('type', 'photo'), matchValue('photo_id', id)), limit: 1, with_payload: true, with_vector: [IMAGE_VECTOR] }),
    );
    const point = found.points[0];
    if (!point) return null;
    const payload = (point.payload ?? {}) as Payload;
    const record: PhotoRecord = { ...this.parsePhoto(payload), caption: details.caption, metadata: metadataCopy(details.metadata) };
    const imageVector = (point.vector as Record<string, unknown> | undefined)?.[IMAGE_VECTOR];
    if (!Array.isArray(imageVector)) throw corrupt('photo point', new Error('it has no image vector'));
    const tenant = this.tenant;
    const common = { tenant, committed: true, photo_id: id, kind: 'photo', target: JSON.stringify(['photo', id]), metadata_terms: metadataTerms(record.metadata) };
    const chunks = this.chunkPoints(details.chunks, 'the caption', (ordinal) => pointIds.photoChunk(tenant, id, ordinal), common);
    const vector: Record<string, number[] | SparseVector> = { [IMAGE_VECTOR]: imageVector as number[] };
    // What was read on the photo stays searchable whatever the caption.
    const searchText = photoSearchText(record.caption, record.readText);
    const sparse = documentSparseVector(searchText, this.averageLength);
    if (sparse) vector[SPARSE_VECTOR] = sparse;
    // New caption chunks over the old ids (same ordinals), then the ordinals past the new count go.
    await this.upsert(chunks);
    const kept = chunks.map((c) => c.id);
    await this.deleteWhere({ must: this.base(matchValue('type', 'chunk'), matchValue('photo_id', id)), must_not: kept.length > 0 ? [{ has_id: kept }] : [] });
    await this.upsert([{ id: point.id, vector, payload: { ...payload, ...common, text: searchText, ...identifierFields(details.identifiers), record } }]);
    return record;
  }

  /**
   * The claim/write/commit protocol described at the top of this file, under the operation's
   * `signal`: once it fires no further request starts, and every point this add wrote is deleted
   * (committed ones too: the caller reports a failure, so the file must not appear). The request
   * in flight at that moment is not abandoned but answered (or timed out) first, so the delete
   * comes after the last write this add sent and leaves none of its points behind.
   */
  private async addAtomically<R>(
    add: { type: 'document' | 'photo'; idField: 'document_id' | 'photo_id'; id: string; contentHash: string; claim: PointStruct; points: PointStruct[] },
    parse: (payload: Payload) => R,
    signal?: AbortSignal,
  ): Promise<{ record: R; created: boolean }> {
    const progress = { wrote: false };
    try {
      const result = await this.claimWriteCommit(add, parse, progress, signal);
      if (result.created) signal?.throwIfAborted();
      return result;
    } catch (error) {
      if (!signal?.aborted) throw error;
      // Points carrying this add's id are its own (ids are fresh per add; a takeover uses its own id).
      if (progress.wrote) await this.deleteWhere(filterOf(...this.base(matchValue(add.idField, add.id)))).catch(() => undefined);
      throw signal.reason;
    }
  }

  private async claimWriteCommit<R>(
    add: { type: 'document' | 'photo'; idField: 'document_id' | 'photo_id'; id: string; contentHash: string; claim: PointStruct; points: PointStruct[] },
    parse: (payload: Payload) => R,
    progress: { wrote: boolean },
    signal: AbortSignal | undefined,
  ): Promise<{ record: R; created: boolean }> {
    const claimFilter = filterOf(...this.base(matchValue('type', add.type), matchValue('content_hash', add.contentHash)));
    const claimFields = [add.idField, 'committed', 'record'];
    const readClaim = async () => {
      const point = await this.first(claimFilter, claimFields, signal);
      return point ? { owner: str(point.payload, add.idField), committed: point.payload.committed === true, payload: point.payload } : null;
    };

    const existing = await readClaim();
    if (existing?.committed) return { record: parse(existing.payload), created: false };
    if ((await this.count(this.visible(matchValue('type', add.type), matchValue(add.idField, add.id)), signal)) > 0) {
      throw new InvalidInputError('DUPLICATE_ID', `A ${add.type} with id ${add.id} already exists.`);
    }
    if (existing?.owner !== undefined && existing.owner !== add.id) {
      // An unfinished add of the same file (a crash, or Qdrant went away): take it over.
      await this.deleteWhere(filterOf(...this.base(matchValue(add.idField, existing.owner), matchValue('committed', false))), signal);
    }
    // Never overwrites a committed record: a writer that committed meanwhile keeps the file.
    // `claimed_ms` dates the attempt, so the sweep can tell an abandoned one (removeUnfinishedAdds).
    progress.wrote = true;
    const claim: PointStruct = { ...add.claim, payload: { ...add.claim.payload, claimed_ms: Date.now() } };
    await this.call('upsert_points', (c) => c.upsert(this.collection, { wait: true, ordering: 'medium', points: [claim], update_filter: filterOf(matchValue('committed', false)) }), undefined, signal);
    const claimed = await readClaim();
    if (claimed?.committed) return { record: parse(claimed.payload), created: false };
    if (claimed?.owner !== add.id) throw new UnavailableError(`The same file is being added by another writer (${add.type} ${claimed?.owner ?? 'unknown'}); try again shortly.`);

    // Points of an earlier attempt with this id that this attempt may not overwrite (fewer pages or chunks now).
    await this.deleteWhere({ must: this.base(matchValue(add.idField, add.id), matchValue('committed', false)), must_not: [{ has_id: [add.claim.id] }] }, signal);
    await this.upsert(add.points, { signal });
    // Another writer may have taken the file over while we wrote: then withdraw instead of committing.
    const before = await readClaim();
    if (before?.owner === add.id) {
      await this.setPayloadWhere({ committed: true }, filterOf(...this.base(matchValue(add.idField, add.id))), signal);
      const final = await readClaim();
      if (final?.owner === add.id && final.committed) return { record: parse(final.payload), created: true };
    }
    await this.deleteWhere(filterOf(...this.base(matchValue(add.idField, add.id))));
    const winner = await readClaim();
    if (winner?.committed) return { record: parse(winner.payload), created: false };
    throw new UnavailableError(`The same file is being added by another writer; try again shortly.`);
  }

  private parseDocument(payload: Payload): DocumentRecord {
    const parsed = documentRecordSchema.safeParse(payload.record);
    if (!parsed.success) throw corrupt('document record', parsed.error);
    return parsed.data as DocumentRecord;
  }

  private parsePhoto(payload: Payload): PhotoRecord {
    const parsed = photoRecordSchema.safeParse(payload.record);
    if (!parsed.success) throw corrupt('photo record', parsed.error);
    return parsed.data as PhotoRecord;
  }

  // ---- reading records ----

  async findDocumentByHash(contentHash: string): Promise<DocumentRecord | null> {
    const point = await this.first(this.visible(matchValue('type', 'document'), matchValue('content_hash', contentHash)), ['record']);
    return point ? this.parseDocument(point.payload) : null;
  }

  async findPhotoByHash(contentHash: string): Promise<PhotoRecord | null> {
    const point = await this.first(this.visible(matchValue('type', 'photo'), matchValue('content_hash', contentHash)), ['record']);
    return point ? this.parsePhoto(point.payload) : null;
  }

  async getDocument(id: string): Promise<DocumentRecord | null> {
    const point = await this.first(this.visible(matchValue('type', 'document'), matchValue('document_id', id)), ['record']);
    return point ? this.parseDocument(point.payload) : null;
  }

  async getPhoto(id: string): Promise<PhotoRecord | null> {
    const point = await this.first(this.visible(matchValue('type', 'photo'), matchValue('photo_id', id)), ['record']);
    return point ? this.parsePhoto(point.payload) : null;
  }

  async listDocuments(options: { first: number; after?: string | null }): Promise<Page<DocumentRecord>> {
    this.open();
    const first = options.first;
    if (!Number.isInteger(first) || first < 0) throw new InvalidInputError('INVALID_LIMIT', `first must be a non-negative integer; got ${first}.`);
    const cursor = options.after ? decodeCursor(options.after) : null;
    const documents = [matchValue('type', 'document')];
    const fields = ['record', 'created_ms'];
    const entry = (p: Point) => ({ ms: num(p.payload, 'created_ms') ?? 0, record: this.parseDocument(p.payload) });
    const sameMs = async (ms: number) => (await this.scrollAll(this.visible(...documents, { key: 'created_ms', range: { gte: ms, lte: ms } }), fields)).map(entry);
    const want = first + 1;

    // Qdrant orders by one key; (created_ms, id) order comes from reading whole groups of equal created_ms.
    let items: { ms: number; record: DocumentRecord }[] = [];
    if (cursor) items = (await sameMs(cursor[0])).filter((d) => d.record.id < cursor[1]);
    if (items.length < want) {
      const below = cursor ? [{ key: 'created_ms', range: { lt: cursor[0] } }] : [];
      const limit = want - items.length;
      const { points } = await this.scrollPage(this.visible(...documents, ...below), limit, fields, { orderBy: { key: 'created_ms', direction: 'desc' } });
      let batch = points.map(entry);
      const last = batch[batch.length - 1];
      if (last && batch.length === limit) batch = [...batch.filter((d) => d.ms !== last.ms), ...(await sameMs(last.ms))];
      items.push(...batch);
    }
    items.sort((a, b) => b.ms - a.ms || (a.record.id < b.record.id ? 1 : a.record.id > b.record.id ? -1 : 0));
    const totalCount = await this.count(this.visible(...documents));
    const page = items.slice(0, first);
    const cursors = page.map((d) => encodeCursor(d.ms, d.record.id));
    return { items: page.map((d) => d.record), totalCount, cursors, endCursor: cursors.at(-1) ?? null, hasNextPage: items.length > first };
  }

  async getPages(documentId: string): Promise<PageRecord[]> {
    const points = await this.scrollAll(this.visible(matchValue('type', 'page'), matchValue('document_id', documentId)), ['page_number', 'text', 'thumbnail_key', 'text_source']);
    return points.map((p) => this.toPage(documentId, p.payload)).sort((a, b) => a.number - b.number);
  }

  async getPage(documentId: string, pageNumber: number): Promise<PageRecord | null> {
    if (!Number.isSafeInteger(pageNumber) || pageNumber < 1) return null;
    const point = await this.first(this.visible(matchValue('type', 'page'), matchValue('document_id', documentId), matchValue('page_number', pageNumber)), ['page_number', 'text', 'thumbnail_key', 'text_source']);
    return point ? this.toPage(documentId, point.payload) : null;
  }

  /**
   * The records of a page of hits in ONE scroll request, however many hits: the tenant and
   * `committed` are required (`must`), and any of three kinds matches (`should`): document
   * records by document id, page points by their derived ids (`has_id`; page ids are a pure
   * function of tenant, document and page number), photo points by photo id. Document and photo
   * points are keyed by content hash, not by id, hence the keyword match for those. A lookup by
   * id (`POST …/points`) is not used: it cannot carry the tenant and `committed` filter.
   * The payload asked for is what a hit shows (record, page text, thumbnail), no vectors.
   */
  async getHitRecords(targets: HitTarget[], options: RemoteCallOptions = {}): Promise<HitRecords> {
    this.open();
    const out: HitRecords = { documents: new Map(), pages: new Map(), photos: new Map() };
    const documentIds = new Set<string>();
    const pageIds = new Map<string, string>();
    const photoIds = new Set<string>();
    for (const t of targets) {
      if (t.kind === 'photo') photoIds.add(t.photoId);
      else if (Number.isSafeInteger(t.pageNumber) && t.pageNumber >= 1) {
        documentIds.add(t.documentId);
        pageIds.set(pointIds.page(this.tenant, t.documentId, t.pageNumber), pageKey(t.documentId, t.pageNumber));
      } else documentIds.add(t.documentId);
    }
    const anyOf: QdrantCondition[] = [];
    if (documentIds.size > 0) anyOf.push(filterOf(matchValue('type', 'document'), matchAny('document_id', [...documentIds])));
    if (pageIds.size > 0) anyOf.push({ has_id: [...pageIds.keys()] });
    if (photoIds.size > 0) anyOf.push(filterOf(matchValue('type', 'photo'), matchAny('photo_id', [...photoIds])));
    if (anyOf.length === 0) return out;
    // At most one committed point per document id, page id and photo id, so this limit reads them all.
    const limit = documentIds.size + pageIds.size + photoIds.size;
    const { points } = await this.scrollPage({ ...this.visible(), should: anyOf }, limit, ['type', 'record', 'document_id', 'page_number', 'text', 'thumbnail_key', 'text_source'], { signal: options.signal });
    for (const p of points) {
      const type = str(p.payload, 'type');
      const documentId = str(p.payload, 'document_id');
      if (type === 'document' && documentId !== undefined && documentIds.has(documentId)) out.documents.set(documentId, this.parseDocument(p.payload));
      else if (type === 'photo') {
        const record = this.parsePhoto(p.payload);
        if (photoIds.has(record.id)) out.photos.set(record.id, record);
      } else if (type === 'page' && documentId !== undefined) {
        const key = pageIds.get(String(p.id));
        const page = this.toPage(documentId, p.payload);
        if (key !== undefined && key === pageKey(documentId, page.number)) out.pages.set(key, page);
      }
    }
    return out;
  }

  private toPage(documentId: string, payload: Payload): PageRecord {
    const text = str(payload, 'text') ?? '';
    const source = str(payload, 'text_source');
    // Pages written before OCR existed carry no text_source.
    const textSource = (TEXT_SOURCES as readonly string[]).includes(source ?? '') ? (source as TextSource) : defaultTextSource(text);
    return { documentId, number: num(payload, 'page_number') ?? 0, text, thumbnailKey: str(payload, 'thumbnail_key') ?? null, textSource };
  }

  async countPages(): Promise<number> {
    return this.count(this.visible(matchValue('type', 'page')));
  }

  /** Committed records of this tenant, by kind (for the migration's verification). */
  async stats(): Promise<QdrantStoreStats> {
    const of = (type: PointType) => this.count(this.visible(matchValue('type', type)));
    const [documents, pages, chunks, photos] = await Promise.all([of('document'), of('page'), of('chunk'), of('photo')]);
    return { documents, pages, chunks, photos };
  }

  // ---- deleting ----

  async deleteDocument(id: string): Promise<{ blobKeys: string[] } | null> {
    const record = await this.getDocument(id);
    if (!record) return null;
    const pages = await this.scrollAll(filterOf(...this.base(matchValue('type', 'page'), matchValue('document_id', id))), ['thumbnail_key']);
    const thumbnails = pages.map((p) => str(p.payload, 'thumbnail_key')).filter((k): k is string => k !== undefined);
    const owner = filterOf(...this.base(matchValue('document_id', id)));
    await this.setPayloadWhere({ committed: false }, owner);
    await this.deleteWhere(owner);
    return { blobKeys: [...new Set([record.blobKey, ...thumbnails])] };
  }

  async deletePhoto(id: string): Promise<{ blobKeys: string[] } | null> {
    const record = await this.getPhoto(id);
    if (!record) return null;
    const owner = filterOf(...this.base(matchValue('photo_id', id)));
    await this.setPayloadWhere({ committed: false }, owner);
    await this.deleteWhere(owner);
    return { blobKeys: [record.blobKey] };
  }

  /**
   * Unfinished adds are claims (document records, photo points) still `committed: false`: an add
   * killed half-way, or a delete interrupted after hiding. Each claim carries `claimed_ms`, written
   * by the add that claimed the file; one older than `olderThanMs` belongs to an attempt that ended
   * long ago (why that age is safe: src/blob/orphan-sweep.ts), so its points are deleted, filtered
   * by that attempt's own id and `committed: false`: a takeover (a new id) and every committed
   * point are out of reach. A claim without `claimed_ms` (written before the field existed) is
   * dated now, and goes once that date is old enough.
   */
  async removeUnfinishedAdds(options: { olderThanMs: number; dryRun?: boolean; now?: number }): Promise<UnfinishedAdd[]> {
    const now = options.now ?? Date.now();
    const removed: UnfinishedAdd[] = [];
    for (const [type, idField] of [['document', 'document_id'], ['photo', 'photo_id']] as const) {
      const claims = await this.scrollAll(filterOf(...this.base(matchValue('type', type), matchValue('committed', false))), [idField, 'claimed_ms', 'blob_keys']);
      for (const claim of claims) {
        const id = str(claim.payload, idField);
        if (id === undefined) continue;
        const claimedMs = num(claim.payload, 'claimed_ms');
        if (claimedMs === undefined) {
          if (!options.dryRun) await this.setPayloadWhere({ claimed_ms: now }, filterOf(...this.base(matchValue('committed', false), { has_id: [claim.id] })));
          continue;
        }
        if (now - claimedMs <= options.olderThanMs) continue;
        if (!options.dryRun) await this.deleteWhere(filterOf(...this.base(matchValue(idField, id), matchValue('committed', false))));
        removed.push({ type, id, claimedAt: new Date(claimedMs).toISOString(), blobKeys: strings(claim.payload, 'blob_keys') });
      }
    }
    return removed;
  }

  /** Counts unfinished adds too: a blob an add in progress (or an interrupted one) refers to is kept. */
  async isBlobReferenced(blobKey: string): Promise<boolean> {
    return (await this.count(filterOf(...this.base(matchValue('blob_keys', blobKey))))) > 0;
  }

  // ---- search ----

  private searchConditions(filter: SearchFilter | undefined): QdrantCondition[] | null {
    const conditions = searchFilterConditions(filter);
    return conditions === 'nothing' ? null : conditions;
  }

  private toTarget(payload: Payload): HitTarget | null {
    const photoId = str(payload, 'photo_id');
    if (photoId !== undefined) return { kind: 'photo', photoId };
    const documentId = str(payload, 'document_id');
    const pageNumber = num(payload, 'page_number');
    return documentId !== undefined && pageNumber !== undefined ? { kind: 'page', documentId, pageNumber } : null;
  }

  private candidates(points: { score: number; payload?: unknown }[], text: (payload: Payload) => string | undefined, extra?: (payload: Payload) => Pick<Candidate, 'coverage'>): Candidate[] {
    return points.flatMap((p) => {
      const payload = (p.payload ?? {}) as Payload;
      const target = this.toTarget(payload);
      if (!target) return [];
      const matchedText = text(payload);
      return [{ ...(matchedText === undefined ? { target, score: p.score } : { target, score: p.score, matchedText }), ...extra?.(payload) }];
    });
  }

  async searchChunks(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    this.open();
    checkLimit(limit);
    const query = this.unitVector(vector, 'The query vector');
    const conditions = this.searchConditions(filter);
    if (!conditions || limit === 0) return [];
    const result = await this.call('query_points_groups', (c) =>
      c.queryGroups(this.collection, {
        query,
        using: TEXT_VECTOR,
        filter: this.visible(matchValue('type', 'chunk'), ...conditions),
        group_by: 'target',
        group_size: 1,
        limit,
        with_payload: HIT_PAYLOAD,
      }),
    );
    const best = result.groups.flatMap((g) => g.hits.slice(0, 1)).sort((a, b) => b.score - a.score);
    return this.candidates(best, (p) => str(p, 'text') ?? '');
  }

  async searchImages(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    this.open();
    checkLimit(limit);
    const query = this.unitVector(vector, 'The query vector');
    const conditions = this.searchConditions(filter);
    if (!conditions || limit === 0) return [];
    const result = await this.call('query_points', (c) =>
      c.query(this.collection, { query, using: IMAGE_VECTOR, filter: this.visible(matchAny('type', ['page', 'photo']), ...conditions), limit, with_payload: HIT_PAYLOAD }),
    );
    return this.candidates(result.points, () => undefined);
  }

  async searchLexical(query: string, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    this.open();
    checkLimit(limit);
    const conditions = this.searchConditions(filter);
    const sparse = querySparseVector(query);
    if (!conditions || !sparse || limit === 0) return [];
    const result = await this.call('query_points', (c) =>
      c.query(this.collection, { query: sparse.vector, using: SPARSE_VECTOR, filter: this.visible(matchAny('type', ['page', 'photo']), ...conditions), limit, with_payload: HIT_PAYLOAD }),
    );
    return this.lexicalCandidates(result.points, query, sparse.words);
  }

  private lexicalCandidates(points: { score: number; payload?: unknown }[], query: string, words: string[]): Candidate[] {
    const terms = contentTerms(query);
    return this.candidates(
      points,
      (p) => excerptAround(str(p, 'text') ?? '', words),
      (p) => ({ coverage: termCoverage(terms, str(p, 'text') ?? '') }),
    );
  }

  /**
   * Points that carry any of the query's identifiers (a keyword index lookup), ranked here by how
   * many distinct ones each has. At most `identifierScanLimit` matching points are ranked.
   */
  async searchIdentifiers(identifiers: string[], limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    this.open();
    checkLimit(limit);
    const keys = [...new Set(identifiers.map(normalizeIdentifier).filter((k) => k.length > 0))];
    const conditions = this.searchConditions(filter);
    if (keys.length === 0 || !conditions || limit === 0) return [];
    const points = await this.scrollAll(
      this.visible(matchAny('type', ['page', 'photo']), matchAny('identifiers', keys), ...conditions),
      ['type', 'document_id', 'page_number', 'photo_id', 'identifiers', 'identifier_spellings'],
      this.identifierScanLimit,
    );
    return this.identifierCandidates(points, keys, limit);
  }

  /** Points carrying identifiers → candidates ranked by how many distinct query keys each has. */
  private identifierCandidates(points: { payload?: unknown }[], keys: string[], limit: number): Candidate[] {
    const ranked = points
      .map((p) => {
        const payload = (p.payload ?? {}) as Payload;
        const found = strings(payload, 'identifiers');
        const spellings = strings(payload, 'identifier_spellings');
        const matched = found.flatMap((key, i) => (keys.includes(key) ? [spellings[i] ?? key] : []));
        return { score: matched.length, payload, matched };
      })
      .filter((r) => r.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, limit);
    return ranked.flatMap((r) => {
      const target = this.toTarget(r.payload);
      return target ? [{ target, score: r.score, matchedText: r.matched.join(', ') }] : [];
    });
  }

  /**
   * Page images and photos whose difference hash is within `maxDistance` bits: a keyword-index
   * lookup of the query's 8 band keys (any band equal; see identify/perceptual-hash.ts), then the
   * exact distance here on those few points. At most `identifierScanLimit` points are checked.
   */
  async searchImageHash(hash: string, maxDistance: number, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    this.open();
    checkHashQuery(hash, maxDistance);
    checkLimit(limit);
    const conditions = this.searchConditions(filter);
    if (!conditions || limit === 0) return [];
    const points = await this.scrollAll(
      this.visible(matchAny('type', ['page', 'photo']), matchAny('image_hash_bands', bandKeys(hash)), ...conditions),
      ['type', 'document_id', 'page_number', 'photo_id', 'image_hash'],
      this.identifierScanLimit,
    );
    return this.hashCandidates(points, hash, maxDistance, limit);
  }

  /**
   * Page images and photos whose layout signature copies the query's: a keyword-index lookup of
   * the key's 8 band keys, then key distance and correlation here (see identify/page-layout.ts).
   * At most `identifierScanLimit` points are checked.
   */
  async searchImageLayout(layout: ImageLayout, limit: number, filter?: SearchFilter): Promise<Candidate[]> {
    this.open();
    checkImageLayout(layout, 'INVALID_INPUT', 'the query');
    checkLimit(limit);
    const conditions = this.searchConditions(filter);
    if (!conditions || limit === 0) return [];
    const points = await this.scrollAll(
      this.visible(matchAny('type', ['page', 'photo']), matchAny('image_layout_bands', bandKeys(layout.key)), ...conditions),
      ['image_layout_key'],
      this.identifierScanLimit,
    );
    return this.layoutCandidates(points, layout, limit);
  }

  /**
   * Band matches carry only their keys (pages of one template share bands: a lookup can match
   * thousands); the 4 KB signatures are read for the few keys near the query's, in one
   * get_points request made only when there are any.
   */
  private async layoutCandidates(points: { id: string | number; payload?: unknown }[], layout: ImageLayout, limit: number, signal?: AbortSignal): Promise<Candidate[]> {
    const near = points.filter((p) => keyIsNear((p.payload ?? {}) as Payload, layout)).map((p) => p.id);
    if (near.length === 0) return [];
    const read = await this.call(
      'get_points',
      (c) => c.retrieve(this.collection, { ids: near, with_payload: ['type', 'document_id', 'page_number', 'photo_id', 'image_layout_key', 'image_layout'] }),
      undefined,
      signal,
    );
    return copiesByLayout(
      read.map((p) => ({ payload: (p.payload ?? {}) as Payload })),
      layout,
      limit,
    ).flatMap((r) => {
      const target = this.toTarget(r.payload);
      return target ? [{ target, score: r.correlation, layoutCorrelation: r.correlation }] : [];
    });
  }

  /** Pages of PDF and image documents and photos whose image_hash and image_layout_key are both empty, in point-id order (the scroll offset is the cursor). */
  async listTargetsWithoutImageKeys(limit: number, after?: string | null): Promise<{ targets: HitTarget[]; next: string | null }> {
    this.open();
    checkLimit(limit);
    if (after !== undefined && after !== null && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(after)) {
      throw new InvalidInputError('INVALID_CURSOR', 'The cursor was not made by listTargetsWithoutImageKeys.');
    }
    if (limit === 0) return { targets: [], next: null };
    const filter = this.visible(matchAny('type', ['page', 'photo']), matchAny('kind', ['pdf', 'image', 'photo']), { is_empty: { key: 'image_hash' } }, { is_empty: { key: 'image_layout_key' } });
    const { points, next } = await this.scrollPage(filter, limit, ['type', 'document_id', 'page_number', 'photo_id'], after ? { offset: after } : {});
    const targets = points.flatMap((p) => {
      const target = this.toTarget((p.payload ?? {}) as Payload);
      return target ? [target] : [];
    });
    return { targets, next: next === null ? null : String(next) };
  }

  async setImageKeys(target: HitTarget, keys: ImageKeys): Promise<boolean> {
    this.open();
    const fields = { ...imageHashFields(keys.hash, 'the target'), ...imageLayoutFields(keys.layout, 'the target') };
    const where =
      target.kind === 'page'
        ? this.visible(matchValue('type', 'page'), matchValue('document_id', target.documentId), matchValue('page_number', target.pageNumber))
        : this.visible(matchValue('type', 'photo'), matchValue('photo_id', target.photoId));
    const point = await this.first(where, []);
    if (!point) return false;
    // Null and [] clear a key of the other kind (is_empty matches both).
    const payload = { image_hash: null, image_hash_bands: [], image_layout: null, image_layout_key: null, image_layout_bands: [], ...fields };
    await this.call('set_payload', (c) => c.setPayload(this.collection, { wait: true, payload, points: [point.id] }));
    return true;
  }

  private hashCandidates(points: { payload?: unknown }[], hash: string, maxDistance: number, limit: number): Candidate[] {
    return nearestByHash(
      points.map((p) => ({ payload: (p.payload ?? {}) as Payload })),
      hash,
      maxDistance,
      limit,
    ).flatMap((r) => {
      const target = this.toTarget(r.payload);
      return target ? [{ target, score: 64 - r.distance, hashDistance: r.distance }] : [];
    });
  }

  /**
   * Every signal in ONE Query API request (`POST …/points/query/batch`, a query per signal),
   * so a search costs one round trip instead of one per signal. A batch and not a prefetch with
   * fusion in Qdrant because the product's fusion (search/fusion.ts) needs each list with its
   * own scores: robust per-list scaling, how far each list's best stands out, decisive tiers and
   * `matchedBy` cannot be computed from one fused score per point (`rrf`, `dbsf` and formula
   * queries return only that). The lists are the ones the single-signal methods return; the
   * one difference is text chunks: a batch query cannot group by page, so it asks for
   * CHUNK_OVERSAMPLE × limit chunks and keeps the best per page (a page with more chunks than
   * that among the best could crowd out others; the contract suite and the eval check the lists
   * match).
   */
  async searchSignals(query: SignalQuery, limit: number, filter?: SearchFilter, options: RemoteCallOptions = {}): Promise<SignalResults> {
    this.open();
    checkLimit(limit);
    const out: SignalResults = { textChunks: [], textImages: [], lexical: [], identifiers: [], imageImages: [], imageChunks: [], imageHash: [], imageLayout: [], readLexical: [], readIdentifiers: [] };
    const { text, image, read } = query;
    const textVector = text ? this.unitVector(text.vector, 'The query vector') : null;
    const imageVector = image ? this.unitVector(image.vector, 'The query vector') : null;
    if (image?.hash) checkHashQuery(image.hash, image.maxHashDistance);
    if (image?.layout) checkImageLayout(image.layout, 'INVALID_INPUT', 'the query');
    const conditions = this.searchConditions(filter);
    if (!conditions || limit === 0) return out;
    const pagesAndPhotos = matchAny('type', ['page', 'photo']);
    let layoutMatches: Schemas['ScoredPoint'][] = [];
    const searches: Schemas['QueryRequest'][] = [];
    const readers: ((points: Schemas['ScoredPoint'][]) => void)[] = [];
    const ask = (request: Schemas['QueryRequest'], take: (points: Schemas['ScoredPoint'][]) => void) => {
      searches.push(request);
      readers.push(take);
    };
    const chunks = (vector: number[], set: (c: Candidate[]) => void) =>
      ask({ query: vector, using: TEXT_VECTOR, filter: this.visible(matchValue('type', 'chunk'), ...conditions), limit: limit * CHUNK_OVERSAMPLE, with_payload: HIT_PAYLOAD }, (points) =>
        set(bestPerTarget(this.candidates(points, (p) => str(p, 'text') ?? '')).slice(0, limit)),
      );
    const images = (vector: number[], set: (c: Candidate[]) => void) =>
      ask({ query: vector, using: IMAGE_VECTOR, filter: this.visible(pagesAndPhotos, ...conditions), limit, with_payload: HIT_PAYLOAD }, (points) => set(this.candidates(points, () => undefined)));
    const lexical = (words: string, set: (c: Candidate[]) => void) => {
      const sparse = querySparseVector(words);
      if (sparse) {
        ask({ query: sparse.vector, using: SPARSE_VECTOR, filter: this.visible(pagesAndPhotos, ...conditions), limit, with_payload: HIT_PAYLOAD }, (points) => set(this.lexicalCandidates(points, words, sparse.words)));
      }
    };
    const identifiers = (wanted: string[], set: (c: Candidate[]) => void) => {
      const keys = [...new Set(wanted.map(normalizeIdentifier).filter((k) => k.length > 0))];
      if (keys.length > 0) {
        ask(
          { filter: this.visible(pagesAndPhotos, matchAny('identifiers', keys), ...conditions), limit: this.identifierScanLimit, with_payload: [...HIT_PAYLOAD.filter((f) => f !== 'text'), 'identifiers', 'identifier_spellings'] },
          (points) => set(this.identifierCandidates(points, keys, limit)),
        );
      }
    };
    if (text && textVector) {
      chunks(textVector, (c) => (out.textChunks = c));
      images(textVector, (c) => (out.textImages = c));
      lexical(text.words, (c) => (out.lexical = c));
      identifiers(text.identifiers, (c) => (out.identifiers = c));
    }
    if (image && imageVector) {
      images(imageVector, (c) => (out.imageImages = c));
      chunks(imageVector, (c) => (out.imageChunks = c));
      const hash = image.hash;
      if (hash) ask(
        { filter: this.visible(pagesAndPhotos, matchAny('image_hash_bands', bandKeys(hash)), ...conditions), limit: this.identifierScanLimit, with_payload: [...HIT_PAYLOAD.filter((f) => f !== 'text'), 'image_hash'] },
        (points) => (out.imageHash = this.hashCandidates(points, hash, image.maxHashDistance, limit)),
      );
      const layout = image.layout;
      if (layout) ask({ filter: this.visible(pagesAndPhotos, matchAny('image_layout_bands', bandKeys(layout.key)), ...conditions), limit: this.identifierScanLimit, with_payload: ['image_layout_key'] }, (points) => (layoutMatches = points));
    }
    if (read) {
      lexical(read.words, (c) => (out.readLexical = c));
      identifiers(read.identifiers, (c) => (out.readIdentifiers = c));
    }
    if (searches.length === 0) return out;
    const results = await this.call('query_batch_points', (c) => c.queryBatch(this.collection, { searches }), undefined, options.signal);
    results.forEach((result, i) => readers[i]?.(result.points));
    // Signatures only for keys near the query's: one more request, and only when there are any.
    if (image?.layout && layoutMatches.length > 0) out.imageLayout = await this.layoutCandidates(layoutMatches, image.layout, limit, options.signal);
    return out;
  }
}
