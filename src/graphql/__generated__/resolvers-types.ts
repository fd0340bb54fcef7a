import type { UploadPromise } from '../upload.js';
import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { DocumentModel, PhotoModel } from '../models.js';
import type { PageRecord } from '../../store/knowledge-store.js';
import type { SearchHitView, SearchResultView } from '../../search/search-service.js';
import type { AnswerView, CitationView, CaptionView, AnswerDeltaView } from '../../answer/answer-service.js';
import type { PartIdentificationView, PartCandidateView } from '../../identify/identify-service.js';
import type { FeedbackRecord, ReviewItemRecord } from '../../identify/identify-store.js';
import type { AuditEntryRecord } from '../../audit/audit-store.js';
import type { GraphQLContext } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An ISO 8601 date-time, UTC. */
  DateTime: { input: string; output: string; }
  /** A JSON object (document and photo metadata). */
  JSON: { input: Record<string, unknown>; output: Record<string, unknown>; }
  /**
   * A file sent with the GraphQL multipart request spec
   * (https://github.com/jaydenseric/graphql-multipart-request-spec), as apollo-upload-client sends it.
   */
  Upload: { input: UploadPromise; output: UploadPromise; }
};

export type Answer = {
  __typename?: 'Answer';
  /** The sources the text cites, by marker. */
  citations: Array<Citation>;
  /** Retrieval confidence 0..1: how strongly search evidence supports the cited sources. */
  confidence?: Maybe<Scalars['Float']['output']>;
  mode: AnswerMode;
  /** Plain text (no Markdown or HTML) with [n] markers citing the sources. */
  text: Scalars['String']['output'];
  warnings: Array<Scalars['String']['output']>;
};

export type AnswerDelta = {
  __typename?: 'AnswerDelta';
  /** The next piece of the answer text, as the model produced it (unchecked). */
  text: Scalars['String']['output'];
};

export type AnswerMode =
  /** Quoted from the sources without a language model. */
  | 'EXTRACTIVE'
  /** Written by the language model from the sources. */
  | 'LLM';

export type AskEvent = Answer | AnswerDelta;

export type AuditEntry = {
  __typename?: 'AuditEntry';
  at: Scalars['DateTime']['output'];
  /** The caller's address: the connection's peer, or the client a trusted proxy (TRUST_PROXY) forwarded. Null on entries written before addresses were recorded. */
  clientAddress?: Maybe<Scalars['String']['output']>;
  documentIds: Array<Scalars['ID']['output']>;
  durationMs: Scalars['Int']['output'];
  keyName: Scalars['String']['output'];
  /** Top-level fields called, comma-separated. */
  operation: Scalars['String']['output'];
  operationName?: Maybe<Scalars['String']['output']>;
  /** ok, or the error code returned. */
  outcome: Scalars['String']['output'];
  photoIds: Array<Scalars['ID']['output']>;
  /** The question or search text, truncated to 200 characters. */
  query?: Maybe<Scalars['String']['output']>;
  role: Scalars['String']['output'];
  seq: Scalars['Int']['output'];
  tenant: Scalars['String']['output'];
};

export type AuditEntryConnection = {
  __typename?: 'AuditEntryConnection';
  nodes: Array<AuditEntry>;
  pageInfo: PageInfo;
};

export type Caller = {
  __typename?: 'Caller';
  keyName: Scalars['String']['output'];
  role: Scalars['String']['output'];
  tenant: Scalars['String']['output'];
};

export type Caption = {
  __typename?: 'Caption';
  citations: Array<Citation>;
  mode: AnswerMode;
  /** What was read on the photo (the search that grounds the caption used it). Null with OCR=off, or when reading failed. */
  readText?: Maybe<ReadText>;
  /** Zero-shot CLIP tags, best first (probabilities over the label set). */
  tags: Array<Tag>;
  text: Scalars['String']['output'];
};

export type Citation = {
  __typename?: 'Citation';
  document?: Maybe<Document>;
  marker: Scalars['Int']['output'];
  page?: Maybe<Page>;
  photo?: Maybe<Photo>;
  snippet: Scalars['String']['output'];
};

export type Document = {
  __typename?: 'Document';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  kind: SourceKind;
  metadata: Scalars['JSON']['output'];
  mimeType: Scalars['String']['output'];
  pageCount: Scalars['Int']['output'];
  pages: Array<Page>;
  title: Scalars['String']['output'];
  /** The original file. */
  url: Scalars['String']['output'];
  /** True when ingestDocument found this exact file already there (only the details given were updated); false otherwise. */
  wasDuplicate: Scalars['Boolean']['output'];
};

export type DocumentConnection = {
  __typename?: 'DocumentConnection';
  edges: Array<DocumentEdge>;
  nodes: Array<Document>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type DocumentEdge = {
  __typename?: 'DocumentEdge';
  cursor: Scalars['String']['output'];
  node: Document;
};

export type DocumentInput = {
  /** Free JSON object, filterable with SearchFilter.metadata. Identifiers in string values (part numbers) are matched exactly by search. */
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  /** Overrides the title found in the file (PDF title, first heading) or its file name. */
  title?: InputMaybe<Scalars['String']['input']>;
};

export type Embedding = {
  __typename?: 'Embedding';
  /** Length of vector. */
  dim: Scalars['Int']['output'];
  /** Id of the model that produced the vector (vectors of different models are not comparable). */
  model: Scalars['String']['output'];
  /** L2-normalised: the dot product of two vectors is their cosine similarity. */
  vector: Array<Scalars['Float']['output']>;
};

export type Feedback = {
  __typename?: 'Feedback';
  createdAt: Scalars['DateTime']['output'];
  givenBy: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  identificationId?: Maybe<Scalars['ID']['output']>;
  label: Scalars['String']['output'];
  photo?: Maybe<Photo>;
  undoneAt?: Maybe<Scalars['DateTime']['output']>;
};

export type Health = {
  __typename?: 'Health';
  model: ModelInfo;
  /** Why results cannot be trusted (the test model) or requests cannot be served, one sentence each; empty when neither. */
  reasons: Array<Scalars['String']['output']>;
  /** Whether requests are served: ok when the model is loaded, every encoder worker is up and the store is ready; degraded otherwise (see reasons); shutting_down while draining. Whether results mean anything is testModel (GET /ready says degraded on the test model). */
  status: Scalars['String']['output'];
  store: StoreInfo;
  /** True when the server runs on the bundled random-weight test model: every result is meaningless. Every GraphQL response also carries it as extensions.testModel. */
  testModel: Scalars['Boolean']['output'];
};

export type MatchKind =
  /** Across modalities: the query image matches the page's text, or the query text matches a page image or photo. */
  | 'CROSS_MODAL'
  /** An identifier in the query or read on the query photo (part number, model, document code) appears exactly, ignoring case and separators. */
  | 'IDENTIFIER'
  /** BM25 keyword match over the page text or photo caption (of the query's words, or of the words read on the query photo). */
  | 'KEYWORD'
  /** The query text means what a chunk of the page says (dense text embedding). */
  | 'SEMANTIC'
  /** The query image resembles the page image or photo. */
  | 'VISUAL';

export type ModelInfo = {
  __typename?: 'ModelInfo';
  /** Embedding size, read from the model graph itself. */
  dim: Scalars['Int']['output'];
  /** Model identifier (manifest name or folder name); stored with every vector. */
  id: Scalars['String']['output'];
  /** True when running the bundled random-weight test model: embeddings are meaningless. */
  isTestModel: Scalars['Boolean']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Takes an open review item (it becomes CLAIMED by the caller). */
  claimReview: ReviewItem;
  /**
   * Records the right label for a stored photo or for an earlier identification (its id); later
   * identifications of similar photos lean towards it. Give photoId or identificationId.
   */
  confirmPart: Feedback;
  /** Removes a document with every trace (pages, vectors, text, files). False if there was no such document. */
  deleteDocument: Scalars['Boolean']['output'];
  /** Removes a photo with its vectors and file. False if there was no such photo. */
  deletePhoto: Scalars['Boolean']['output'];
  /**
   * Adds a document: PDF (text layer and rendered pages), Markdown, HTML, plain text, or an
   * image of a page. The type is read from the file's bytes, not its name. The same file
   * uploaded again adds no pages: it returns the existing document with wasDuplicate true, and
   * the title and metadata given in input (when given) replace the stored ones.
   */
  ingestDocument: Document;
  /** Adds a reference photo. The same file uploaded again returns the existing photo with wasDuplicate true; the caption and metadata given in input (when given) replace the stored ones. */
  ingestPhoto: Photo;
  /** Resolves an open or claimed item; a label on an identification item is recorded as a confirmation. */
  resolveReview: ReviewItem;
  /** Withdraws a confirmation; it no longer influences identifications. */
  undoFeedback: Feedback;
};


export type MutationClaimReviewArgs = {
  id: Scalars['ID']['input'];
};


export type MutationConfirmPartArgs = {
  identificationId?: InputMaybe<Scalars['ID']['input']>;
  label: Scalars['String']['input'];
  photoId?: InputMaybe<Scalars['ID']['input']>;
};


export type MutationDeleteDocumentArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeletePhotoArgs = {
  id: Scalars['ID']['input'];
};


export type MutationIngestDocumentArgs = {
  file: Scalars['Upload']['input'];
  input?: InputMaybe<DocumentInput>;
};


export type MutationIngestPhotoArgs = {
  file: Scalars['Upload']['input'];
  input?: InputMaybe<PhotoInput>;
};


export type MutationResolveReviewArgs = {
  id: Scalars['ID']['input'];
  label?: InputMaybe<Scalars['String']['input']>;
  note?: InputMaybe<Scalars['String']['input']>;
};


export type MutationUndoFeedbackArgs = {
  id: Scalars['ID']['input'];
};

export type Page = {
  __typename?: 'Page';
  number: Scalars['Int']['output'];
  text?: Maybe<Scalars['String']['output']>;
  /** Where the page's text came from: the file's own text, OCR of the page image, or nowhere. */
  textSource: TextSource;
  /** A small image of the rendered page (PDFs and page images), served by this server. */
  thumbnailUrl?: Maybe<Scalars['String']['output']>;
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

export type PartCandidate = {
  __typename?: 'PartCandidate';
  /** Confirmed examples similar to this photo that support this label. */
  confirmations: Scalars['Int']['output'];
  label: Scalars['String']['output'];
  /** The best matching manual pages for this part (for the top three candidates). */
  pages: Array<SearchHit>;
  /** Identifiers read on the photo that this label carries, as read: the evidence that put it first. Empty when none. */
  readIdentifiers: Array<Scalars['String']['output']>;
  /** Probability over the labels considered (0..1). */
  score: Scalars['Float']['output'];
};

export type PartIdentification = {
  __typename?: 'PartIdentification';
  candidates: Array<PartCandidate>;
  confident: Scalars['Boolean']['output'];
  /** Pass to confirmPart(identificationId:) to record the right answer. */
  id: Scalars['ID']['output'];
  /**
   * What was read on the photo. Null with OCR=off, when reading failed (the picture alone decided),
   * and on an identification read back through a review item (its reason says what was read).
   */
  readText?: Maybe<ReadText>;
  /** The review item opened for an unconfident identification. */
  reviewItem?: Maybe<ReviewItem>;
};

export type Photo = {
  __typename?: 'Photo';
  caption?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  /** The earlier photo this one copies (re-encoded, resized or lightly cropped), if any. */
  duplicateOf?: Maybe<Photo>;
  height: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
  metadata: Scalars['JSON']['output'];
  /**
   * What was read on the photo when it was ingested (OCR text and QR/barcodes); its words and
   * identifiers make the photo findable by text search (KEYWORD, IDENTIFIER). Null when nothing
   * was read: ingested with OCR=off, or before reading existed.
   */
  readText?: Maybe<ReadText>;
  /** The original photo, served by this server. */
  url?: Maybe<Scalars['String']['output']>;
  /** True when ingestPhoto found this exact file already there (only the details given were updated); false otherwise. */
  wasDuplicate: Scalars['Boolean']['output'];
  width: Scalars['Int']['output'];
};

export type PhotoInput = {
  caption?: InputMaybe<Scalars['String']['input']>;
  metadata?: InputMaybe<Scalars['JSON']['input']>;
};

export type PhotoMatch = {
  __typename?: 'PhotoMatch';
  photo: Photo;
  similarity: Scalars['Float']['output'];
};

export type Query = {
  __typename?: 'Query';
  /**
   * A grounded answer to a question and/or a photo: the knowledge base is searched, the best
   * pages become numbered sources, and the answer cites them as [n]. With a language model
   * configured (LLM_MODEL) it writes the answer (mode LLM); without one, or when it fails, the
   * answer quotes the most relevant sentences (mode EXTRACTIVE) and `warnings` says why.
   * Citations are checked: a [n] that points at no source is removed and reported in `warnings`.
   * When nothing relevant is found the answer says so instead of inventing one.
   */
  ask: Answer;
  /**
   * The audit trail, newest first (admins only): who, what operation, when, the outcome, and the
   * documents and photos returned. Append-only; never holds image bytes or keys. first: 1..500;
   * after: a cursor from pageInfo.endCursor (or an entry's seq).
   */
  auditLog: AuditEntryConnection;
  /**
   * A caption for a photo, grounded in zero-shot tags, what is written on it (see Caption.readText)
   * and the knowledge base pages it matches: an identifier read on the photo is named in the caption,
   * with the part it matches.
   */
  caption: Caption;
  /** A document by id, or null. */
  document?: Maybe<Document>;
  /** Documents, newest first. first: 1..100 (default 20); after: a cursor from pageInfo.endCursor. */
  documents: DocumentConnection;
  /** CLIP image embedding of one uploaded image (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF). */
  embedImage: Embedding;
  /**
   * CLIP image embeddings of several uploaded images, one per image, in order: for backfills (the
   * images share inference batches, so this is faster than one embedImage call each).
   * Limits, checked before any image is decoded: EMBED_MAX_IMAGES images (TOO_MANY_INPUTS; an empty
   * list is EMPTY_INPUT; more files than the multipart limit get PAYLOAD_TOO_LARGE, HTTP 413), MAX_UPLOAD_BYTES
   * each and EMBED_MAX_IMAGES_BYTES together (PAYLOAD_TOO_LARGE).
   * One bad image fails the whole request with that image's code (INVALID_IMAGE,
   * UNSUPPORTED_MEDIA_TYPE, EMPTY_FILE, IMAGE_TOO_LARGE, PAYLOAD_TOO_LARGE) and its position in
   * extensions.index; no embedding is returned for the others, so retry without it.
   */
  embedImages: Array<Embedding>;
  /**
   * CLIP text embeddings, one per input text, in order. Texts longer than the model's
   * 77-token window are truncated (the end token is kept). Limits: EMBED_MAX_TEXTS texts,
   * EMBED_MAX_TEXT_CHARS characters each.
   */
  embedText: Array<Embedding>;
  /** Liveness, model and storage status (the same facts as GET /ready, for GraphQL clients). */
  health: Health;
  /**
   * What part is in the photo: zero-shot CLIP over part labels (the knowledge base's document
   * titles, part names and numbers from metadata, confirmed labels, plus `candidates`), improved by
   * confirmed examples. The photo is also read (OCR, QR codes, barcodes; see `readText`): a label
   * carrying an identifier read on it ranks first, and when that identifier was read surely (or
   * from a code) the identification is confident on that evidence, unless the photo names two
   * different labelled parts. Otherwise `confident` is false when the best score is under 0.5 or
   * within 0.2 of the runner-up; such identifications are added to the review queue. limit: 1..50.
   */
  identifyPart: PartIdentification;
  /** Who the caller is (key name, role, tenant). */
  me: Caller;
  /** A photo by id, or null. */
  photo?: Maybe<Photo>;
  /**
   * What is written on an uploaded photo: text lines (PP-OCRv4) and QR codes / barcodes (ZXing),
   * with the identifiers (part numbers, models, document codes) found in them by the same rules
   * search uses for typed identifiers. A photo with no writing returns empty lists. Bad images get
   * the same error codes as embedImage; with OCR=off the code is OCR_DISABLED.
   */
  readText: ReadText;
  /** Review items, newest first. first: 1..100 (default 20); after: a cursor from pageInfo.endCursor (or an item's id). */
  reviewQueue: ReviewItemConnection;
  /**
   * Finds the pages and photos that match a text, a photo, or both. A photo is also read (OCR and
   * QR/barcodes, see SearchResult.readText): an identifier read on it surely (a nameplate's model,
   * a label's part number) is an exact IDENTIFIER match like a typed one; the words read are weak
   * KEYWORD evidence. Signals (see MatchKind) are fused per page or photo by the evidence they
   * carry. `noGoodMatch` is true when nothing found is convincing: no exact identifier, no page
   * containing the query's words, and no visual/semantic match standing out from the rest.
   * limit: 1..100.
   */
  search: SearchResult;
  /** Stored photos most similar to the image (cosine similarity), at or above `threshold` (0..1). limit: 1..100. */
  similarPhotos: Array<PhotoMatch>;
  /**
   * Multi-label attributes (colour, material, condition: "corroded", "leaking"…): each label is
   * scored on its own (0..1) and those at or above `threshold` (default 0.5) are returned, best first.
   */
  tagImage: Array<Tag>;
};


export type QueryAskArgs = {
  filter?: InputMaybe<SearchFilter>;
  image?: InputMaybe<Scalars['Upload']['input']>;
  question?: InputMaybe<Scalars['String']['input']>;
};


export type QueryAuditLogArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  keyName?: InputMaybe<Scalars['String']['input']>;
  operation?: InputMaybe<Scalars['String']['input']>;
};


export type QueryCaptionArgs = {
  image: Scalars['Upload']['input'];
};


export type QueryDocumentArgs = {
  id: Scalars['ID']['input'];
};


export type QueryDocumentsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryEmbedImageArgs = {
  image: Scalars['Upload']['input'];
};


export type QueryEmbedImagesArgs = {
  images: Array<Scalars['Upload']['input']>;
};


export type QueryEmbedTextArgs = {
  texts: Array<Scalars['String']['input']>;
};


export type QueryIdentifyPartArgs = {
  candidates?: InputMaybe<Array<Scalars['String']['input']>>;
  image: Scalars['Upload']['input'];
  limit?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryPhotoArgs = {
  id: Scalars['ID']['input'];
};


export type QueryReadTextArgs = {
  image: Scalars['Upload']['input'];
};


export type QueryReviewQueueArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<ReviewStatus>;
};


export type QuerySearchArgs = {
  filter?: InputMaybe<SearchFilter>;
  image?: InputMaybe<Scalars['Upload']['input']>;
  limit?: InputMaybe<Scalars['Int']['input']>;
  text?: InputMaybe<Scalars['String']['input']>;
};


export type QuerySimilarPhotosArgs = {
  image: Scalars['Upload']['input'];
  limit?: InputMaybe<Scalars['Int']['input']>;
  threshold?: InputMaybe<Scalars['Float']['input']>;
};


export type QueryTagImageArgs = {
  image: Scalars['Upload']['input'];
  labels: Array<Scalars['String']['input']>;
  threshold?: InputMaybe<Scalars['Float']['input']>;
};

export type ReadText = {
  __typename?: 'ReadText';
  codes: Array<ScannedCode>;
  /**
   * Part numbers, models and document codes found in the text and the codes, each once, as written.
   * Where the photo was read against a knowledge base (search's, ingestPhoto's and identifyPart's
   * readText), a read token OCR glued to a neighbouring word ("TYPEP-200PUMP" for "TYPE P-200 PUMP")
   * that the knowledge base (identifyPart: a label) does not hold as an identifier of its own is
   * followed by the longest identifier inside it that it does hold (P-200). Nothing else is added;
   * readText itself reports the plain extraction.
   */
  identifiers: Array<Scalars['String']['output']>;
  regions: Array<TextRegion>;
  /** The regions' texts in reading order, one line each. */
  text: Scalars['String']['output'];
};

export type ReviewItem = {
  __typename?: 'ReviewItem';
  claimedBy?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  identification?: Maybe<PartIdentification>;
  kind: ReviewKind;
  label?: Maybe<Scalars['String']['output']>;
  note?: Maybe<Scalars['String']['output']>;
  photo?: Maybe<Photo>;
  reason: Scalars['String']['output'];
  resolvedAt?: Maybe<Scalars['DateTime']['output']>;
  resolvedBy?: Maybe<Scalars['String']['output']>;
  status: ReviewStatus;
};

export type ReviewItemConnection = {
  __typename?: 'ReviewItemConnection';
  edges: Array<ReviewItemEdge>;
  nodes: Array<ReviewItem>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type ReviewItemEdge = {
  __typename?: 'ReviewItemEdge';
  cursor: Scalars['String']['output'];
  node: ReviewItem;
};

export type ReviewKind =
  /** An identification that was not confident. */
  | 'IDENTIFICATION'
  /** A flagged upload. */
  | 'UPLOAD';

export type ReviewStatus =
  | 'CLAIMED'
  | 'OPEN'
  | 'RESOLVED';

export type ScannedCode = {
  __typename?: 'ScannedCode';
  /** Symbology as ZXing names it: QR_CODE, CODE_128, EAN_13, DATA_MATRIX, … */
  format: Scalars['String']['output'];
  /** Decoded content, control characters removed, at most 512 characters. */
  value: Scalars['String']['output'];
};

export type SearchFilter = {
  /** Only these documents (photos are excluded when set). */
  documentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** Only these kinds of source. */
  kinds?: InputMaybe<Array<SourceKind>>;
  /** Every key must equal the document's or photo's metadata value. */
  metadata?: InputMaybe<Scalars['JSON']['input']>;
};

export type SearchHit = {
  __typename?: 'SearchHit';
  document?: Maybe<Document>;
  matchedBy: Array<MatchKind>;
  page?: Maybe<Page>;
  photo?: Maybe<Photo>;
  /** Fused rank score: higher is better, comparable only within one result. */
  score: Scalars['Float']['output'];
  /** The passage that matched (or the photo caption). */
  snippet?: Maybe<Scalars['String']['output']>;
};

export type SearchResult = {
  __typename?: 'SearchResult';
  hits: Array<SearchHit>;
  noGoodMatch: Scalars['Boolean']['output'];
  /**
   * What was read on the query photo (text lines, QR codes and barcodes, identifiers); its
   * identifiers and words took part in the search as IDENTIFIER and KEYWORD evidence. Empty lists
   * when the photo has no writing. Null when nothing was read: a text-only query, OCR=off, or a
   * read that failed (the search then went on with the picture alone).
   */
  readText?: Maybe<ReadText>;
};

export type SourceKind =
  | 'HTML'
  /** A scanned page or a photo of a page ingested as a document. */
  | 'IMAGE'
  | 'MARKDOWN'
  | 'PDF'
  | 'PHOTO'
  | 'TEXT';

export type StoreInfo = {
  __typename?: 'StoreInfo';
  /** Storage backend: sqlite (embedded default) or qdrant. */
  kind: Scalars['String']['output'];
  /** Where the data lives, without the server's directories: the database file name for sqlite, the URL (no credentials) for qdrant. */
  location: Scalars['String']['output'];
  /** Whether the store answered its last readiness check. */
  ready: Scalars['Boolean']['output'];
};

export type Subscription = {
  __typename?: 'Subscription';
  /**
   * The same as ask, streamed over graphql-ws (WebSocket at /graphql): AnswerDelta events carry
   * the text as the model writes it, then one Answer event with the checked text and citations.
   * Photos cannot travel over WebSocket: use ask for photo questions.
   */
  askStream: AskEvent;
};


export type SubscriptionAskStreamArgs = {
  filter?: InputMaybe<SearchFilter>;
  question: Scalars['String']['input'];
};

export type Tag = {
  __typename?: 'Tag';
  label: Scalars['String']['output'];
  score: Scalars['Float']['output'];
};

export type TextRegion = {
  __typename?: 'TextRegion';
  /** x, y, width, height, each a fraction (0..1) of the image as displayed (EXIF orientation applied). */
  box: Array<Scalars['Float']['output']>;
  /** Mean per-character probability of the recogniser, 0..1. */
  confidence: Scalars['Float']['output'];
  text: Scalars['String']['output'];
};

/** Where a page's text came from. */
export type TextSource =
  /** The file's own text: a PDF text layer, Markdown, HTML or plain text. */
  | 'FILE'
  /** No text: a scan ingested with OCR=off, or nothing legible on it. */
  | 'NONE'
  /** Read from the page image at ingest (a PDF page without a text layer, an image ingested as a document). */
  | 'OCR';



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;



/** Mapping of union types */
export type ResolversUnionTypes<_RefType extends Record<string, unknown>> = {
  AskEvent:
    | ( AnswerView )
    | ( AnswerDeltaView )
  ;
};


/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  Answer: ResolverTypeWrapper<AnswerView>;
  AnswerDelta: ResolverTypeWrapper<AnswerDeltaView>;
  AnswerMode: AnswerMode;
  AskEvent: ResolverTypeWrapper<ResolversUnionTypes<ResolversTypes>['AskEvent']>;
  AuditEntry: ResolverTypeWrapper<AuditEntryRecord>;
  AuditEntryConnection: ResolverTypeWrapper<Omit<AuditEntryConnection, 'nodes'> & { nodes: Array<ResolversTypes['AuditEntry']> }>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Caller: ResolverTypeWrapper<Caller>;
  Caption: ResolverTypeWrapper<CaptionView>;
  Citation: ResolverTypeWrapper<CitationView>;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  Document: ResolverTypeWrapper<DocumentModel>;
  DocumentConnection: ResolverTypeWrapper<Omit<DocumentConnection, 'edges' | 'nodes'> & { edges: Array<ResolversTypes['DocumentEdge']>, nodes: Array<ResolversTypes['Document']> }>;
  DocumentEdge: ResolverTypeWrapper<Omit<DocumentEdge, 'node'> & { node: ResolversTypes['Document'] }>;
  DocumentInput: DocumentInput;
  Embedding: ResolverTypeWrapper<Embedding>;
  Feedback: ResolverTypeWrapper<FeedbackRecord>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  Health: ResolverTypeWrapper<Health>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  JSON: ResolverTypeWrapper<Scalars['JSON']['output']>;
  MatchKind: MatchKind;
  ModelInfo: ResolverTypeWrapper<ModelInfo>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Page: ResolverTypeWrapper<PageRecord>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  PartCandidate: ResolverTypeWrapper<PartCandidateView>;
  PartIdentification: ResolverTypeWrapper<PartIdentificationView>;
  Photo: ResolverTypeWrapper<PhotoModel>;
  PhotoInput: PhotoInput;
  PhotoMatch: ResolverTypeWrapper<Omit<PhotoMatch, 'photo'> & { photo: ResolversTypes['Photo'] }>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  ReadText: ResolverTypeWrapper<ReadText>;
  ReviewItem: ResolverTypeWrapper<ReviewItemRecord>;
  ReviewItemConnection: ResolverTypeWrapper<Omit<ReviewItemConnection, 'edges' | 'nodes'> & { edges: Array<ResolversTypes['ReviewItemEdge']>, nodes: Array<ResolversTypes['ReviewItem']> }>;
  ReviewItemEdge: ResolverTypeWrapper<Omit<ReviewItemEdge, 'node'> & { node: ResolversTypes['ReviewItem'] }>;
  ReviewKind: ReviewKind;
  ReviewStatus: ReviewStatus;
  ScannedCode: ResolverTypeWrapper<ScannedCode>;
  SearchFilter: SearchFilter;
  SearchHit: ResolverTypeWrapper<SearchHitView>;
  SearchResult: ResolverTypeWrapper<SearchResultView>;
  SourceKind: SourceKind;
  StoreInfo: ResolverTypeWrapper<StoreInfo>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Tag: ResolverTypeWrapper<Tag>;
  TextRegion: ResolverTypeWrapper<TextRegion>;
  TextSource: TextSource;
  Upload: ResolverTypeWrapper<Scalars['Upload']['output']>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  Answer: AnswerView;
  AnswerDelta: AnswerDeltaView;
  AskEvent: ResolversUnionTypes<ResolversParentTypes>['AskEvent'];
  AuditEntry: AuditEntryRecord;
  AuditEntryConnection: Omit<AuditEntryConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['AuditEntry']> };
  Boolean: Scalars['Boolean']['output'];
  Caller: Caller;
  Caption: CaptionView;
  Citation: CitationView;
  DateTime: Scalars['DateTime']['output'];
  Document: DocumentModel;
  DocumentConnection: Omit<DocumentConnection, 'edges' | 'nodes'> & { edges: Array<ResolversParentTypes['DocumentEdge']>, nodes: Array<ResolversParentTypes['Document']> };
  DocumentEdge: Omit<DocumentEdge, 'node'> & { node: ResolversParentTypes['Document'] };
  DocumentInput: DocumentInput;
  Embedding: Embedding;
  Feedback: FeedbackRecord;
  Float: Scalars['Float']['output'];
  Health: Health;
  ID: Scalars['ID']['output'];
  Int: Scalars['Int']['output'];
  JSON: Scalars['JSON']['output'];
  ModelInfo: ModelInfo;
  Mutation: Record<PropertyKey, never>;
  Page: PageRecord;
  PageInfo: PageInfo;
  PartCandidate: PartCandidateView;
  PartIdentification: PartIdentificationView;
  Photo: PhotoModel;
  PhotoInput: PhotoInput;
  PhotoMatch: Omit<PhotoMatch, 'photo'> & { photo: ResolversParentTypes['Photo'] };
  Query: Record<PropertyKey, never>;
  ReadText: ReadText;
  ReviewItem: ReviewItemRecord;
  ReviewItemConnection: Omit<ReviewItemConnection, 'edges' | 'nodes'> & { edges: Array<ResolversParentTypes['ReviewItemEdge']>, nodes: Array<ResolversParentTypes['ReviewItem']> };
  ReviewItemEdge: Omit<ReviewItemEdge, 'node'> & { node: ResolversParentTypes['ReviewItem'] };
  ScannedCode: ScannedCode;
  SearchFilter: SearchFilter;
  SearchHit: SearchHitView;
  SearchResult: SearchResultView;
  StoreInfo: StoreInfo;
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  Tag: Tag;
  TextRegion: TextRegion;
  Upload: Scalars['Upload']['output'];
};

export type AnswerResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Answer'] = ResolversParentTypes['Answer']> = {
  citations?: Resolver<Array<ResolversTypes['Citation']>, ParentType, ContextType>;
  confidence?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  mode?: Resolver<ResolversTypes['AnswerMode'], ParentType, ContextType>;
  text?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  warnings?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type AnswerDeltaResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AnswerDelta'] = ResolversParentTypes['AnswerDelta']> = {
  text?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type AskEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AskEvent'] = ResolversParentTypes['AskEvent']> = {
  __resolveType: TypeResolveFn<'Answer' | 'AnswerDelta', ParentType, ContextType>;
};

export type AuditEntryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AuditEntry'] = ResolversParentTypes['AuditEntry']> = {
  at?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  clientAddress?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  documentIds?: Resolver<Array<ResolversTypes['ID']>, ParentType, ContextType>;
  durationMs?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  keyName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  operation?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  operationName?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  outcome?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  photoIds?: Resolver<Array<ResolversTypes['ID']>, ParentType, ContextType>;
  query?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  role?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  seq?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  tenant?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type AuditEntryConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AuditEntryConnection'] = ResolversParentTypes['AuditEntryConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['AuditEntry']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type CallerResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Caller'] = ResolversParentTypes['Caller']> = {
  keyName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  tenant?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type CaptionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Caption'] = ResolversParentTypes['Caption']> = {
  citations?: Resolver<Array<ResolversTypes['Citation']>, ParentType, ContextType>;
  mode?: Resolver<ResolversTypes['AnswerMode'], ParentType, ContextType>;
  readText?: Resolver<Maybe<ResolversTypes['ReadText']>, ParentType, ContextType>;
  tags?: Resolver<Array<ResolversTypes['Tag']>, ParentType, ContextType>;
  text?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type CitationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Citation'] = ResolversParentTypes['Citation']> = {
  document?: Resolver<Maybe<ResolversTypes['Document']>, ParentType, ContextType>;
  marker?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  page?: Resolver<Maybe<ResolversTypes['Page']>, ParentType, ContextType>;
  photo?: Resolver<Maybe<ResolversTypes['Photo']>, ParentType, ContextType>;
  snippet?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type DocumentResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Document'] = ResolversParentTypes['Document']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['SourceKind'], ParentType, ContextType>;
  metadata?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  mimeType?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  pageCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  pages?: Resolver<Array<ResolversTypes['Page']>, ParentType, ContextType>;
  title?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  url?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  wasDuplicate?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type DocumentConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DocumentConnection'] = ResolversParentTypes['DocumentConnection']> = {
  edges?: Resolver<Array<ResolversTypes['DocumentEdge']>, ParentType, ContextType>;
  nodes?: Resolver<Array<ResolversTypes['Document']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type DocumentEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DocumentEdge'] = ResolversParentTypes['DocumentEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Document'], ParentType, ContextType>;
};

export type EmbeddingResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Embedding'] = ResolversParentTypes['Embedding']> = {
  dim?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  vector?: Resolver<Array<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type FeedbackResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Feedback'] = ResolversParentTypes['Feedback']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  givenBy?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  identificationId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  label?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  photo?: Resolver<Maybe<ResolversTypes['Photo']>, ParentType, ContextType>;
  undoneAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
};

export type HealthResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Health'] = ResolversParentTypes['Health']> = {
  model?: Resolver<ResolversTypes['ModelInfo'], ParentType, ContextType>;
  reasons?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  store?: Resolver<ResolversTypes['StoreInfo'], ParentType, ContextType>;
  testModel?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export interface JsonScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['JSON'], any> {
  name: 'JSON';
}

export type ModelInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ModelInfo'] = ResolversParentTypes['ModelInfo']> = {
  dim?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  isTestModel?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type MutationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  claimReview?: Resolver<ResolversTypes['ReviewItem'], ParentType, ContextType, RequireFields<MutationClaimReviewArgs, 'id'>>;
  confirmPart?: Resolver<ResolversTypes['Feedback'], ParentType, ContextType, RequireFields<MutationConfirmPartArgs, 'label'>>;
  deleteDocument?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationDeleteDocumentArgs, 'id'>>;
  deletePhoto?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationDeletePhotoArgs, 'id'>>;
  ingestDocument?: Resolver<ResolversTypes['Document'], ParentType, ContextType, RequireFields<MutationIngestDocumentArgs, 'file'>>;
  ingestPhoto?: Resolver<ResolversTypes['Photo'], ParentType, ContextType, RequireFields<MutationIngestPhotoArgs, 'file'>>;
  resolveReview?: Resolver<ResolversTypes['ReviewItem'], ParentType, ContextType, RequireFields<MutationResolveReviewArgs, 'id'>>;
  undoFeedback?: Resolver<ResolversTypes['Feedback'], ParentType, ContextType, RequireFields<MutationUndoFeedbackArgs, 'id'>>;
};

export type PageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Page'] = ResolversParentTypes['Page']> = {
  number?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  text?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  textSource?: Resolver<ResolversTypes['TextSource'], ParentType, ContextType>;
  thumbnailUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type PageInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type PartCandidateResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PartCandidate'] = ResolversParentTypes['PartCandidate']> = {
  confirmations?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  label?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  pages?: Resolver<Array<ResolversTypes['SearchHit']>, ParentType, ContextType>;
  readIdentifiers?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type PartIdentificationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PartIdentification'] = ResolversParentTypes['PartIdentification']> = {
  candidates?: Resolver<Array<ResolversTypes['PartCandidate']>, ParentType, ContextType>;
  confident?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  readText?: Resolver<Maybe<ResolversTypes['ReadText']>, ParentType, ContextType>;
  reviewItem?: Resolver<Maybe<ResolversTypes['ReviewItem']>, ParentType, ContextType>;
};

export type PhotoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Photo'] = ResolversParentTypes['Photo']> = {
  caption?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  duplicateOf?: Resolver<Maybe<ResolversTypes['Photo']>, ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  metadata?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  readText?: Resolver<Maybe<ResolversTypes['ReadText']>, ParentType, ContextType>;
  url?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  wasDuplicate?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type PhotoMatchResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PhotoMatch'] = ResolversParentTypes['PhotoMatch']> = {
  photo?: Resolver<ResolversTypes['Photo'], ParentType, ContextType>;
  similarity?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  ask?: Resolver<ResolversTypes['Answer'], ParentType, ContextType, Partial<QueryAskArgs>>;
  auditLog?: Resolver<ResolversTypes['AuditEntryConnection'], ParentType, ContextType, Partial<QueryAuditLogArgs>>;
  caption?: Resolver<ResolversTypes['Caption'], ParentType, ContextType, RequireFields<QueryCaptionArgs, 'image'>>;
  document?: Resolver<Maybe<ResolversTypes['Document']>, ParentType, ContextType, RequireFields<QueryDocumentArgs, 'id'>>;
  documents?: Resolver<ResolversTypes['DocumentConnection'], ParentType, ContextType, Partial<QueryDocumentsArgs>>;
  embedImage?: Resolver<ResolversTypes['Embedding'], ParentType, ContextType, RequireFields<QueryEmbedImageArgs, 'image'>>;
  embedImages?: Resolver<Array<ResolversTypes['Embedding']>, ParentType, ContextType, RequireFields<QueryEmbedImagesArgs, 'images'>>;
  embedText?: Resolver<Array<ResolversTypes['Embedding']>, ParentType, ContextType, RequireFields<QueryEmbedTextArgs, 'texts'>>;
  health?: Resolver<ResolversTypes['Health'], ParentType, ContextType>;
  identifyPart?: Resolver<ResolversTypes['PartIdentification'], ParentType, ContextType, RequireFields<QueryIdentifyPartArgs, 'image' | 'limit'>>;
  me?: Resolver<ResolversTypes['Caller'], ParentType, ContextType>;
  photo?: Resolver<Maybe<ResolversTypes['Photo']>, ParentType, ContextType, RequireFields<QueryPhotoArgs, 'id'>>;
  readText?: Resolver<ResolversTypes['ReadText'], ParentType, ContextType, RequireFields<QueryReadTextArgs, 'image'>>;
  reviewQueue?: Resolver<ResolversTypes['ReviewItemConnection'], ParentType, ContextType, Partial<QueryReviewQueueArgs>>;
  search?: Resolver<ResolversTypes['SearchResult'], ParentType, ContextType, RequireFields<QuerySearchArgs, 'limit'>>;
  similarPhotos?: Resolver<Array<ResolversTypes['PhotoMatch']>, ParentType, ContextType, RequireFields<QuerySimilarPhotosArgs, 'image' | 'limit'>>;
  tagImage?: Resolver<Array<ResolversTypes['Tag']>, ParentType, ContextType, RequireFields<QueryTagImageArgs, 'image' | 'labels'>>;
};

export type ReadTextResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReadText'] = ResolversParentTypes['ReadText']> = {
  codes?: Resolver<Array<ResolversTypes['ScannedCode']>, ParentType, ContextType>;
  identifiers?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  regions?: Resolver<Array<ResolversTypes['TextRegion']>, ParentType, ContextType>;
  text?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type ReviewItemResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReviewItem'] = ResolversParentTypes['ReviewItem']> = {
  claimedBy?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  identification?: Resolver<Maybe<ResolversTypes['PartIdentification']>, ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['ReviewKind'], ParentType, ContextType>;
  label?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  note?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  photo?: Resolver<Maybe<ResolversTypes['Photo']>, ParentType, ContextType>;
  reason?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  resolvedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  resolvedBy?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['ReviewStatus'], ParentType, ContextType>;
};

export type ReviewItemConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReviewItemConnection'] = ResolversParentTypes['ReviewItemConnection']> = {
  edges?: Resolver<Array<ResolversTypes['ReviewItemEdge']>, ParentType, ContextType>;
  nodes?: Resolver<Array<ResolversTypes['ReviewItem']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ReviewItemEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReviewItemEdge'] = ResolversParentTypes['ReviewItemEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['ReviewItem'], ParentType, ContextType>;
};

export type ScannedCodeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ScannedCode'] = ResolversParentTypes['ScannedCode']> = {
  format?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  value?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type SearchHitResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SearchHit'] = ResolversParentTypes['SearchHit']> = {
  document?: Resolver<Maybe<ResolversTypes['Document']>, ParentType, ContextType>;
  matchedBy?: Resolver<Array<ResolversTypes['MatchKind']>, ParentType, ContextType>;
  page?: Resolver<Maybe<ResolversTypes['Page']>, ParentType, ContextType>;
  photo?: Resolver<Maybe<ResolversTypes['Photo']>, ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  snippet?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type SearchResultResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SearchResult'] = ResolversParentTypes['SearchResult']> = {
  hits?: Resolver<Array<ResolversTypes['SearchHit']>, ParentType, ContextType>;
  noGoodMatch?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  readText?: Resolver<Maybe<ResolversTypes['ReadText']>, ParentType, ContextType>;
};

export type StoreInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StoreInfo'] = ResolversParentTypes['StoreInfo']> = {
  kind?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  location?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  ready?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type SubscriptionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  askStream?: SubscriptionResolver<ResolversTypes['AskEvent'], "askStream", ParentType, ContextType, RequireFields<SubscriptionAskStreamArgs, 'question'>>;
};

export type TagResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Tag'] = ResolversParentTypes['Tag']> = {
  label?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type TextRegionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TextRegion'] = ResolversParentTypes['TextRegion']> = {
  box?: Resolver<Array<ResolversTypes['Float']>, ParentType, ContextType>;
  confidence?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  text?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export interface UploadScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['Upload'], any> {
  name: 'Upload';
}

export type Resolvers<ContextType = GraphQLContext> = {
  Answer?: AnswerResolvers<ContextType>;
  AnswerDelta?: AnswerDeltaResolvers<ContextType>;
  AskEvent?: AskEventResolvers<ContextType>;
  AuditEntry?: AuditEntryResolvers<ContextType>;
  AuditEntryConnection?: AuditEntryConnectionResolvers<ContextType>;
  Caller?: CallerResolvers<ContextType>;
  Caption?: CaptionResolvers<ContextType>;
  Citation?: CitationResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  Document?: DocumentResolvers<ContextType>;
  DocumentConnection?: DocumentConnectionResolvers<ContextType>;
  DocumentEdge?: DocumentEdgeResolvers<ContextType>;
  Embedding?: EmbeddingResolvers<ContextType>;
  Feedback?: FeedbackResolvers<ContextType>;
  Health?: HealthResolvers<ContextType>;
  JSON?: GraphQLScalarType;
  ModelInfo?: ModelInfoResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Page?: PageResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  PartCandidate?: PartCandidateResolvers<ContextType>;
  PartIdentification?: PartIdentificationResolvers<ContextType>;
  Photo?: PhotoResolvers<ContextType>;
  PhotoMatch?: PhotoMatchResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  ReadText?: ReadTextResolvers<ContextType>;
  ReviewItem?: ReviewItemResolvers<ContextType>;
  ReviewItemConnection?: ReviewItemConnectionResolvers<ContextType>;
  ReviewItemEdge?: ReviewItemEdgeResolvers<ContextType>;
  ScannedCode?: ScannedCodeResolvers<ContextType>;
  SearchHit?: SearchHitResolvers<ContextType>;
  SearchResult?: SearchResultResolvers<ContextType>;
  StoreInfo?: StoreInfoResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  Tag?: TagResolvers<ContextType>;
  TextRegion?: TextRegionResolvers<ContextType>;
  Upload?: GraphQLScalarType;
};

