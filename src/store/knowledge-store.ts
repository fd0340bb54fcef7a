/**
 * The knowledge base port: documents (split into pages), reference photos, their text chunks,
 * and the vectors and lexical index that search reads. Two implementations pass one contract
 * suite (test/contract/): the embedded SQLite store (default) and Qdrant (scale).
 *
 * The store only stores and retrieves candidates per signal; fusing signals, thresholds and
 * snippets are the search service's job.
 */

import type { ReadTextResult } from '../ocr/text-reader.js';
import type { ImageLayout } from '../identify/page-layout.js';

/** 'image': a scanned page or a photo of a page uploaded as a one-page document. */
export type DocumentKind = 'pdf' | 'markdown' | 'html' | 'text' | 'image';
/** What a hit can point at, for filters: a page of a document of some kind, or a photo. */
export type SourceKind = DocumentKind | 'photo';

export type JsonObject = Record<string, unknown>;

/**
 * Where a page's text came from: the file itself (a PDF text layer, Markdown, HTML, text), OCR
 * of the page image (a scan without a text layer, an image ingested as a document), or nowhere
 * (a scan with OCR=off, or nothing legible on it).
 */
export type TextSource = 'file' | 'ocr' | 'none';

/** What a page stored without a textSource is taken to be: FILE when it has text, else NONE (pages stored before OCR existed). */
export function defaultTextSource(text: string): TextSource {
  return text.trim() === '' ? 'none' : 'file';
}

/**
 * The text BM25 reads for a photo: its caption and what was read on it (OCR lines and decoded
 * codes), so a photo of a label is found by the words on the label. Pure; both stores use it.
 */
export function photoSearchText(caption: string | null, readText: ReadTextResult | null): string {
  const read = readText ? [readText.text, ...readText.codes.map((c) => c.value)] : [];
  return [caption ?? '', ...read].filter((part) => part.trim() !== '').join('\n');
}

export interface DocumentRecord {
  id: string;
  title: string;
  kind: DocumentKind;
  mimeType: string;
  /** sha256 (hex) of the original file: the same file never lands twice. */
  contentHash: string;
  byteSize: number;
  pageCount: number;
  metadata: JsonObject;
  /** Blob store key of the original file. */
  blobKey: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface PageRecord {
  documentId: string;
  /** 1-based. */
  number: number;
  text: string;
  /** Blob store key of the rendered page thumbnail, when there is one. */
  thumbnailKey: string | null;
  textSource: TextSource;
}

export interface PhotoRecord {
  id: string;
  caption: string | null;
  metadata: JsonObject;
  contentHash: string;
  mimeType: string;
  width: number;
  height: number;
  blobKey: string;
  createdAt: string;
  /** The text and codes read on the photo at ingest; null when nothing was read (OCR=off, or stored before reading existed). */
  readText: ReadTextResult | null;
}

/** What a re-ingest of the same document may change (see KnowledgeStore.updateDocumentDetails). */
export interface DocumentDetails {
  title: string;
  metadata: JsonObject;
  page: { number: number; identifiers: string[] };
}

/** What a re-ingest of the same photo may change (see KnowledgeStore.updatePhotoDetails). */
export interface PhotoDetails {
  caption: string | null;
  metadata: JsonObject;
  chunks: ChunkInput[];
  identifiers: string[];
}

/** A text chunk (fits CLIP's 77-token window) with its CLIP text embedding. */
export interface ChunkInput {
  text: string;
  vector: Float32Array;
}

export interface NewPage {
  number: number;
  text: string;
  thumbnailKey: string | null;
  /** CLIP image embedding of the rendered page, for photo → page matching. */
  imageVector: Float32Array | null;
  chunks: ChunkInput[];
  /** Identifiers found on the page (part numbers, model names), as written. */
  identifiers: string[];
  /** 64-bit difference hash (16 hex digits) of the rendered page, for near-copy lookups; absent for text formats. */
  imageHash?: string | null;
  /** Where `text` came from; absent: defaultTextSource(text). */
  textSource?: TextSource;
  /** Layout signature of the rendered page when its difference hash is uninformative (a page of text, a scan): near-copies of such pages (identify/page-layout.ts). */
  imageLayout?: ImageLayout | null;
}

export interface NewDocument {
  document: DocumentRecord;
  pages: NewPage[];
}

export interface NewPhoto {
  photo: PhotoRecord;
  imageVector: Float32Array;
  /** Caption chunks, so text queries reach photos too. */
  chunks: ChunkInput[];
  identifiers: string[];
  /** 64-bit difference hash (16 hex digits) of the photo, for near-copy lookups. */
  imageHash?: string | null;
  /** Layout signature of the photo when its difference hash is uninformative (identify/page-layout.ts). */
  imageLayout?: ImageLayout | null;
}

/** What a page render or photo is found again by, whatever the model (identify/page-layout.ts nearCopyKeys). */
export interface ImageKeys {
  hash: string | null;
  layout: ImageLayout | null;
}

/** Where a candidate points. */
export type HitTarget = { kind: 'page'; documentId: string; pageNumber: number } | { kind: 'photo'; photoId: string };

export interface Candidate {
  target: HitTarget;
  /** Signal-specific score, higher is better (cosine similarity for dense signals, -bm25 for lexical, the number of distinct query identifiers found for identifiers). */
  score: number;
  /** The text that matched (chunk text for dense text, page text excerpt for lexical, the identifiers as written for identifiers), when there is one. */
  matchedText?: string;
  /** Lexical candidates: the share (0..1) of the query's content words (search/snippet.ts `contentTerms`) that the target's text holds as words. */
  coverage?: number;
  /** Image-hash candidates: Hamming distance of the target's difference hash to the query's (0..64). */
  hashDistance?: number;
  /** Layout candidates: correlation of the target's layout signature with the query's (score is the same). */
  layoutCorrelation?: number;
}

/** All given parts must hold. An empty list matches nothing. */
export interface SearchFilter {
  /** Only pages of these documents (so no photos). */
  documentIds?: string[];
  kinds?: SourceKind[];
  /** Every key must equal (JSON equality of scalars) the document's or photo's metadata value. */
  metadata?: JsonObject;
}

export interface Page<T> {
  items: T[];
  totalCount: number;
  /** Opaque cursor of each item (`cursors[i]` is `items[i]`'s): `after` one continues after that item. */
  cursors: string[];
  /** Opaque cursor of the last item, for `after`. */
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface StoreStatus {
  kind: string;
  ready: boolean;
  location: string;
  /** Why the store is not ready, when it knows (e.g. a damaged database file). */
  problem?: string;
}

/**
 * For the calls a search or an add makes of a remote store: the operation's abort signal, so that
 * a store that retries (Qdrant) stops once the operation is over. Local stores ignore it (their
 * writes are one synchronous transaction, which the caller's last check comes before).
 */
export interface RemoteCallOptions {
  signal?: AbortSignal;
}

/** Every signal of one search, asked of the store at once (searchSignals). */
export interface SignalQuery {
  /** A text query: its CLIP vector (chunks: SEMANTIC; page images and photos: CROSS_MODAL), its raw words (KEYWORD) and its identifiers (IDENTIFIER). */
  text?: { vector: Float32Array; words: string; identifiers: string[] } | null;
  /**
   * An image query: its CLIP vector (page images and photos: VISUAL; chunks: CROSS_MODAL), difference hash (near-copies within
   * maxHashDistance; null: no hash lookup) and layout signature (near-copies of mostly white pages; null/absent: no layout lookup).
   */
  image?: { vector: Float32Array; hash: string | null; maxHashDistance: number; layout?: ImageLayout | null } | null;
  /** What was read on the query photo (OCR, QR/barcodes): its words (KEYWORD) and identifiers (IDENTIFIER), kept apart from typed text because the fusion weighs them differently. */
  read?: { words: string; identifiers: string[] } | null;
}

/** Each list exactly as the single-signal method would return it; empty when the query has no such part. */
export interface SignalResults {
  textChunks: Candidate[];
  textImages: Candidate[];
  lexical: Candidate[];
  identifiers: Candidate[];
  imageImages: Candidate[];
  imageChunks: Candidate[];
  imageHash: Candidate[];
  imageLayout: Candidate[];
  /** BM25 over the words read on the query photo. */
  readLexical: Candidate[];
  /** Exact matches of the identifiers read on the query photo. */
  readIdentifiers: Candidate[];
}

export const NO_SIGNALS: Readonly<SignalResults> = Object.freeze({ textChunks: [], textImages: [], lexical: [], identifiers: [], imageImages: [], imageChunks: [], imageHash: [], imageLayout: [], readLexical: [], readIdentifiers: [] });

/** searchSignals by the single-signal methods, for stores where each call is local and cheap (SQLite). */
export async function searchSignalsOneByOne(store: KnowledgeStore, query: SignalQuery, limit: number, filter?: SearchFilter): Promise<SignalResults> {
  const { text, image, read } = query;
  const none = Promise.resolve([] as Candidate[]);
  const [textChunks, textImages, lexical, identifiers, imageImages, imageChunks, imageHash, imageLayout, readLexical, readIdentifiers] = await Promise.all([
    text ? store.searchChunks(text.vector, limit, filter) : none,
    text ? store.searchImages(text.vector, limit, filter) : none,
    text ? store.searchLexical(text.words, limit, filter) : none,
    text && text.identifiers.length > 0 ? store.searchIdentifiers(text.identifiers, limit, filter) : none,
    image ? store.searchImages(image.vector, limit, filter) : none,
    image ? store.searchChunks(image.vector, limit, filter) : none,
    image?.hash ? store.searchImageHash(image.hash, image.maxHashDistance, limit, filter) : none,
    image?.layout ? store.searchImageLayout(image.layout, limit, filter) : none,
    read?.words.trim() ? store.searchLexical(read.words, limit, filter) : none,
    read && read.identifiers.length > 0 ? store.searchIdentifiers(read.identifiers, limit, filter) : none,
  ]);
  return { textChunks, textImages, lexical, identifiers, imageImages, imageChunks, imageHash, imageLayout, readLexical, readIdentifiers };
}

/** The records a page of search hits shows, keyed by `hitKey` of each target; a target whose record is gone is absent. */
export interface HitRecords {
  documents: Map<string, DocumentRecord>;
  /** Keyed by `hitKey` of the page's target. */
  pages: Map<string, PageRecord>;
  photos: Map<string, PhotoRecord>;
}

/** A stable key for a page target (`documentId` and page number), for HitRecords.pages. */
export function pageKey(documentId: string, pageNumber: number): string {
  return JSON.stringify([documentId, pageNumber]);
}

/** getHitRecords by the single-record methods, for stores where each read is local and cheap (SQLite). */
export async function hitRecordsOneByOne(store: KnowledgeStore, targets: HitTarget[]): Promise<HitRecords> {
  const out: HitRecords = { documents: new Map(), pages: new Map(), photos: new Map() };
  const documentIds = new Set<string>();
  const pages = new Map<string, { documentId: string; pageNumber: number }>();
  const photoIds = new Set<string>();
  for (const t of targets) {
    if (t.kind === 'photo') photoIds.add(t.photoId);
    else {
      documentIds.add(t.documentId);
      pages.set(pageKey(t.documentId, t.pageNumber), t);
    }
  }
  await Promise.all([
    ...[...documentIds].map(async (id) => {
      const record = await store.getDocument(id);
      if (record) out.documents.set(id, record);
    }),
    ...[...pages].map(async ([key, t]) => {
      const page = await store.getPage(t.documentId, t.pageNumber);
      if (page) out.pages.set(key, page);
    }),
    ...[...photoIds].map(async (id) => {
      const record = await store.getPhoto(id);
      if (record) out.photos.set(id, record);
    }),
  ]);
  return out;
}

/** An add that was claimed but never committed (see KnowledgeStore.removeUnfinishedAdds). */
export interface UnfinishedAdd {
  type: 'document' | 'photo';
  id: string;
  /** When the add claimed the file (ISO time). */
  claimedAt: string;
  blobKeys: string[];
}

export interface KnowledgeStore {
  /** Opens/creates storage, runs migrations, and checks the stored vector size against `dim`. */
  init(): Promise<void>;
  close(): Promise<void>;
  storeStatus(): Promise<StoreStatus>;

  /**
   * Atomically adds a document with all its pages, chunks, vectors and identifiers, or nothing. If a document with the same contentHash exists, returns it with created=false and writes nothing.
   * Vectors must have the store's size, finite and not all zero (else INVALID_VECTOR, nothing written); only their direction is kept. An id already used by another file: DUPLICATE_ID.
   */
  /**
   * All or nothing. `signal` (the ingest's deadline): once it fires a remote store starts no
   * further write, takes back what this add wrote, and rejects with the signal's reason.
   */
  addDocument(input: NewDocument, options?: RemoteCallOptions): Promise<{ document: DocumentRecord; created: boolean }>;
  addPhoto(input: NewPhoto, options?: RemoteCallOptions): Promise<{ photo: PhotoRecord; created: boolean }>;
  findDocumentByHash(contentHash: string): Promise<DocumentRecord | null>;
  findPhotoByHash(contentHash: string): Promise<PhotoRecord | null>;
  /**
   * Replaces a document's title and metadata (what metadata filters see from then on) and the
   * identifiers of one page (those taken from metadata live on the first page). Pages, chunks and
   * vectors stay. Returns the updated record, or null when there is no such document.
   */
  updateDocumentDetails(id: string, details: DocumentDetails): Promise<DocumentRecord | null>;
  /** Replaces a photo's caption (its text, chunks and identifiers) and metadata; the image vector stays. Null when absent. */
  updatePhotoDetails(id: string, details: PhotoDetails): Promise<PhotoRecord | null>;

  getDocument(id: string): Promise<DocumentRecord | null>;
  /** Newest first (createdAt, then id, descending). A cursor stays valid when documents are added or deleted; a foreign one is INVALID_CURSOR. */
  listDocuments(options: { first: number; after?: string | null }): Promise<Page<DocumentRecord>>;
  getPages(documentId: string): Promise<PageRecord[]>;
  getPage(documentId: string, pageNumber: number): Promise<PageRecord | null>;
  getPhoto(id: string): Promise<PhotoRecord | null>;
  /** Pages of documents (photos not counted). */
  countPages(): Promise<number>;

  /** Removes the document and every trace of it (pages, chunks, vectors, lexical entries, identifiers). Returns the blob keys it referenced so the caller can delete the files, or null if there was no such document. */
  deleteDocument(id: string): Promise<{ blobKeys: string[] } | null>;
  deletePhoto(id: string): Promise<{ blobKeys: string[] } | null>;
  /** Whether any record still references the blob (original, page thumbnail or photo), to decide whether it may be deleted. */
  isBlobReferenced(blobKey: string): Promise<boolean>;
  /**
   * Removes the records of unfinished adds (written, never committed: a writer killed half-way)
   * claimed more than `olderThanMs` ago, so their files stop counting as referenced; in a dry run
   * only lists them. A store whose adds are one transaction has none and returns [].
   */
  removeUnfinishedAdds(options: { olderThanMs: number; dryRun?: boolean; now?: number }): Promise<UnfinishedAdd[]>;

  /** Dense search over text chunk vectors (a text query, or an image query for cross-modal matching). Best chunk per target. */
  searchChunks(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<Candidate[]>;
  /** Dense search over page images and photos. */
  searchImages(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<Candidate[]>;
  /** BM25 over page text and photo captions. `query` is the user's raw text; the store escapes it. */
  searchLexical(query: string, limit: number, filter?: SearchFilter): Promise<Candidate[]>;
  /** Exact identifier matches (normalised: case and separators ignored); targets with more of the query's identifiers first. */
  searchIdentifiers(identifiers: string[], limit: number, filter?: SearchFilter): Promise<Candidate[]>;
  /**
   * Page images and photos whose difference hash is within `maxDistance` (0..7) bits of `hash`,
   * closest first (score = 64 - distance, `hashDistance` set), at most `limit`. An index lookup
   * (multi-index hashing over 8-bit bands), never a scan of every hash. A malformed hash or a
   * distance outside 0..7 is INVALID_INPUT.
   */
  searchImageHash(hash: string, maxDistance: number, limit: number, filter?: SearchFilter): Promise<Candidate[]>;
  /**
   * Page images and photos whose layout signature correlates with `layout`'s at or above
   * LAYOUT_COPY_CORRELATION (identify/page-layout.ts), best first (score = layoutCorrelation),
   * at most `limit`. Candidates come from an index lookup of the key's 8-bit bands and are
   * compared only when their key is within LAYOUT_KEY_MAX_DISTANCE bits, never a scan. A malformed
   * layout is INVALID_INPUT.
   */
  searchImageLayout(layout: ImageLayout, limit: number, filter?: SearchFilter): Promise<Candidate[]>;
  /**
   * Page renders (pages of PDF and image documents) and photos with no near-copy key stored
   * (neither a difference hash nor a layout): records stored before those keys existed. In a
   * stable order, at most `limit`, after `after` (the `next` of the previous call; null: from the
   * start; a cursor from elsewhere is INVALID_CURSOR). `next` is null when nothing follows; keys
   * set meanwhile never make the walk skip a target. For the backfill (IngestService.backfillImageKeys).
   */
  listTargetsWithoutImageKeys(limit: number, after?: string | null): Promise<{ targets: HitTarget[]; next: string | null }>;
  /**
   * Stores a page's or photo's near-copy keys, replacing any it had (null: none of that kind).
   * False when the target does not exist (deleted meanwhile); INVALID_RECORD for a malformed key.
   */
  setImageKeys(target: HitTarget, keys: ImageKeys): Promise<boolean>;
  /**
   * Every signal of one search at once, each list as its single-signal method returns it (the
   * contract suite checks this). On Qdrant: one Query API request (a batch of one query per
   * signal), so a search is one round trip; on SQLite: the methods above.
   */
  searchSignals(query: SignalQuery, limit: number, filter?: SearchFilter, options?: RemoteCallOptions): Promise<SignalResults>;
  /**
   * The records a page of hits shows (document and page of a page target, photo of a photo
   * target), committed and of this tenant only, exactly as getDocument/getPage/getPhoto return
   * them. On Qdrant: one request whatever the number of targets (a search is then two round
   * trips: searchSignals and this); on SQLite: the methods above.
   */
  getHitRecords(targets: HitTarget[], options?: RemoteCallOptions): Promise<HitRecords>;
}
