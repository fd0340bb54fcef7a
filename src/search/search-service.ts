/**
 * Search: a text and/or an image → several candidate lists → evidence fusion by page or photo
 * (fusion.ts) → hits with the document, page, photo and a snippet, plus a "no good match" flag.
 *
 * Signals: text → chunks (SEMANTIC), text → page images/photos (CROSS_MODAL), BM25 (KEYWORD,
 * with the share of the query's words each page holds), exact identifiers (IDENTIFIER);
 * image → page images/photos (VISUAL), image → chunks (CROSS_MODAL), and what is written on the
 * image (OCR and QR/barcodes, read in parallel with the embedding): its identifiers
 * (IDENTIFIER) and words (KEYWORD), weighed as read rather than typed (fusion.ts
 * READ_EVIDENCE: a surely read identifier is decisive, read words are weak). Decisive evidence (an
 * exact identifier, a near-copy image, a page holding the query's words) outranks graded
 * evidence whatever the model; graded evidence counts only from lists whose best stands out
 * of the query's own background.
 *
 * "No good match" is decided on evidence, not on fused scores: an exact identifier match, a
 * page containing the query's content words, a near-copy image (the model's calibrated cosine,
 * else the scale-free ratio test), or a dense match that stands out from the query's own
 * background of similarities by SEARCH_MIN_STANDOUT robust standard deviations. All of these
 * are scale-free or calibrated, so they hold across models whose cosine ranges differ.
 */
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { InvalidInputError } from '../errors.js';
import { pageKey, type Candidate, type DocumentRecord, type HitRecords, type KnowledgeStore, type PageRecord, type PhotoRecord, type SearchFilter } from '../store/knowledge-store.js';
import { fuse, isNearCopy, READ_EVIDENCE, standOut, type FusedHit, type FusionMethod, type MatchKind, type ReadEvidence, type SignalList } from './fusion.js';
import { normalizeText } from '../text/normalize-text.js';
import { queryNearCopyKeys } from '../identify/page-layout.js';
import { extractIdentifiers, normalizeIdentifier } from './identifiers.js';
import type { ReadTextResult, TextReader } from '../ocr/text-reader.js';
import { identifierConfidences } from '../ocr/read-text-result.js';
import { contentTerms, excerpt, termCoverage } from './snippet.js';
import { resolveGluedInStore } from './glued-identifiers.js';

export interface SearchQuery {
  text?: string | null;
  image?: Uint8Array | null;
  filter?: SearchFilter;
  limit?: number;
  /** The caller's deadline: the encoder drops its work and the search stops when it is aborted. */
  signal?: AbortSignal;
}

export interface SearchHitView {
  score: number;
  matchedBy: MatchKind[];
  document: DocumentRecord | null;
  page: PageRecord | null;
  photo: PhotoRecord | null;
  snippet: string | null;
}

export interface SearchResultView {
  hits: SearchHitView[];
  noGoodMatch: boolean;
  /** What was read on the query photo; null for a text-only query, with OCR=off, or when reading failed (the search then goes on without it). */
  readText: ReadTextResult | null;
}

/** A search before hydration: every signal's candidate list and the fused order (for evaluation). */
export interface RankedSearch {
  text: string | null;
  identifiers: string[];
  /** What was read on the query photo (null: no photo, OCR=off, or reading failed). */
  read: ReadTextResult | null;
  lists: SignalList[];
  /** Best first, at most `limit`. */
  fused: FusedHit[];
  /** False for a mostly white query image: VISUAL cosines then call nothing a copy (see EvidenceFusionOptions). */
  cosineNearCopies: boolean;
}

export interface SearchSettings {
  maxLimit: number;
  maxQueryChars: number;
  /** Robust z-score a dense match must reach to count as a good match. */
  minStandOut: number;
  /** Share of the query's content words a page must contain for a keyword match to count. */
  minKeywordCoverage: number;
  /** Difference-hash distance (bits, 0..7) at or below which an image query is a near-copy of a stored image, on any model. */
  maxHashDistance: number;
  /** How the lists are fused: 'evidence' (the product); the others are baselines for `fieldscope eval search --fusion`. */
  fusion: FusionMethod;
}

export const DEFAULT_SEARCH_SETTINGS: SearchSettings = { maxLimit: 100, maxQueryChars: 2000, minStandOut: 4, minKeywordCoverage: 0.75, maxHashDistance: 6, fusion: 'evidence' };

/**
 * Metadata is stored normalised (keys and string values), so a filter is compared normalised too.
 * Only keys and top-level strings: deeper values are not filterable, and the store refuses them.
 */
function normalizedFilter(filter: SearchFilter | undefined): SearchFilter | undefined {
  if (!filter?.metadata || typeof filter.metadata !== 'object' || Array.isArray(filter.metadata)) return filter;
  const metadata = Object.fromEntries(Object.entries(filter.metadata).map(([k, v]) => [normalizeText(k), typeof v === 'string' ? normalizeText(v) : v]));
  return { ...filter, metadata };
}

/** Told when reading the query photo failed for a reason other than the caller's deadline (the search went on without it). */
export type ReadFailureLog = (cause: unknown) => void;

export class SearchService {
  /**
   * `reader`: reads the query photo (null with OCR=off: image searches are visual only).
   * `onReadFailure`: told when a read fails (e.g. the OCR queue is full) and the search goes on without it.
   */
  constructor(
    private readonly encoder: ClipEncoder,
    private readonly store: KnowledgeStore,
    private readonly settings: SearchSettings = DEFAULT_SEARCH_SETTINGS,
    private readonly reader: TextReader | null = null,
    private readonly onReadFailure: ReadFailureLog = () => undefined,
  ) {}

  /** Longest query text `search` accepts (normalised characters); longer is TEXT_TOO_LONG. */
  get maxQueryChars(): number {
    return this.settings.maxQueryChars;
  }

  /** The same service with another fusion (for `fieldscope eval search --fusion`). */
  withFusion(fusion: FusionMethod): SearchService {
    return new SearchService(this.encoder, this.store, { ...this.settings, fusion }, this.reader, this.onReadFailure);
  }

  async search(query: SearchQuery): Promise<SearchResultView> {
    const { text, identifiers, read, lists, fused, cosineNearCopies } = await this.rank(query);
    // Every hit's records in one store call (on Qdrant one request), so a search costs two round trips whatever its limit.
    const records = await this.store.getHitRecords(fused.map((hit) => hit.target), { signal: query.signal });
    query.signal?.throwIfAborted();
    const needles = [...identifiers, ...(read?.identifiers ?? [])];
    const hits = fused.map((hit) => this.hydrate(hit, records, text, needles));
    const noGoodMatch = !this.hasGoodMatch(lists, hits, text, cosineNearCopies);
    return { hits, noGoodMatch, readText: read };
  }

  /** Validates the query, runs every signal and fuses them; no records are read. */
  async rank(query: SearchQuery): Promise<RankedSearch> {
    // Normalised like stored text, so a query typed with zero-width or fullwidth characters matches.
    const typed = query.text ? normalizeText(query.text).trim() : '';
    const text = typed ? typed : null;
    const image = query.image ?? null;
    const limit = query.limit ?? 10;
    if (!text && !image) throw new InvalidInputError('EMPTY_QUERY', 'Give a text, an image, or both to search with.');
    if (!Number.isInteger(limit) || limit < 1 || limit > this.settings.maxLimit) {
      throw new InvalidInputError('INVALID_LIMIT', `limit must be between 1 and ${this.settings.maxLimit}; got ${limit}.`, { details: { max: this.settings.maxLimit } });
    }
    if (text && text.length > this.settings.maxQueryChars) {
      throw new InvalidInputError('TEXT_TOO_LONG', `The query has ${text.length} characters; the limit is ${this.settings.maxQueryChars}.`, { details: { limit: this.settings.maxQueryChars } });
    }

    // Reading starts with the embedding and runs beside it on its own workers.
    const reading = image ? this.startReading(image, query.signal) : null;
    let textVector: Float32Array | null;
    let imageVector: Float32Array | null;
    try {
      [textVector, imageVector] = await Promise.all([
        text ? this.encoder.embedTexts([text], { signal: query.signal }).then((v) => v[0]!) : null,
        image ? this.encoder.embedImages([image], { signal: query.signal }).then((v) => v[0]!) : null,
      ]);
    } catch (error) {
      // The encoder's error is the answer (a bad upload keeps embedImage's code); stop reading.
      reading?.cancel();
      throw error;
    }
    query.signal?.throwIfAborted();
    const plainRead = reading ? await reading.result : null;
    query.signal?.throwIfAborted();
    const filter = normalizedFilter(query.filter);
    // Identifiers OCR glued to a neighbouring word, resolved against what this knowledge base holds.
    const read = plainRead ? await resolveGluedInStore(plainRead, this.store, filter) : null;
    query.signal?.throwIfAborted();
    // After the encoder has accepted the image, so a bad upload keeps the encoder's error code.
    // As stored: the difference hash when informative, else (a page of text, a scan) the layout
    // signature; an image near the boundary looks up both (identify/page-layout.ts queryNearCopyKeys).
    const keys = image ? await queryNearCopyKeys(image) : null;
    const imageHash = keys?.hash ?? null;
    const imageLayout = keys?.layout ?? null;
    const perSignal = Math.max(limit * 3, 30);
    const identifiers = text ? extractIdentifiers(text) : [];
    // One call for every signal: on Qdrant one Query API request, on SQLite local reads.
    const readWords = read ? read.text.replace(/\s+/g, ' ').trim().slice(0, this.settings.maxQueryChars) : '';
    const found = await this.store.searchSignals(
      {
        text: text && textVector ? { vector: textVector, words: text, identifiers } : null,
        image: imageVector ? { vector: imageVector, hash: imageHash, maxHashDistance: this.settings.maxHashDistance, layout: imageLayout } : null,
        read: read && (readWords || read.identifiers.length > 0) ? { words: readWords, identifiers: read.identifiers } : null,
      },
      perSignal,
      filter,
      { signal: query.signal },
    );
    query.signal?.throwIfAborted();
    const lists: SignalList[] = [
      ...(textVector
        ? [
            { signal: 'SEMANTIC' as const, candidates: found.textChunks },
            { signal: 'CROSS_MODAL' as const, candidates: found.textImages },
            { signal: 'KEYWORD' as const, candidates: found.lexical },
            { signal: 'IDENTIFIER' as const, candidates: found.identifiers },
          ]
        : []),
      ...(imageVector
        ? [
            { signal: 'VISUAL' as const, candidates: found.imageHash, basis: 'perceptual-hash' as const },
            { signal: 'VISUAL' as const, candidates: found.imageLayout, basis: 'page-layout' as const },
            { signal: 'VISUAL' as const, candidates: found.imageImages },
            { signal: 'CROSS_MODAL' as const, candidates: found.imageChunks },
          ]
        : []),
      ...(read ? this.readLists(read, plainRead!.identifiers.length, found.readIdentifiers, found.readLexical) : []),
    ];

    // A mostly white query image (uninformative hash): only its layout signature may call a copy.
    const cosineNearCopies = !image || imageHash !== null;
    const fused = fuse(this.settings.fusion, lists, {
      queryIdentifiers: identifiers.length,
      nearCopySimilarity: this.nearCopySimilarity(),
      minKeywordCoverage: this.settings.minKeywordCoverage,
      cosineNearCopies,
    });
    return { text, identifiers, read, lists, fused: fused.slice(0, limit), cosineNearCopies };
  }

  /**
   * Reads the query photo beside the embedding. `result` never rejects for a failed read: the
   * search goes on without it (null), and `onReadFailure` is told; only the caller's deadline
   * stops it. `cancel` stops a read whose search has already failed.
   */
  private startReading(image: Uint8Array, signal: AbortSignal | undefined): { result: Promise<ReadTextResult | null>; cancel(): void } | null {
    if (!this.reader) return null;
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const read = this.reader.readText(image, { signal: both }).catch((error: unknown) => {
      if (signal?.aborted) throw signal.reason;
      if (!stop.signal.aborted) this.onReadFailure(error);
      return null;
    });
    // The deadline ends the wait even if the reader is slow to notice it.
    const result = signal ? Promise.race([read, abortion(signal)]) : read;
    // A search that fails before awaiting the read must not leave a rejected promise behind.
    result.catch(() => undefined);
    return { result, cancel: () => stop.abort() };
  }

  /** The IDENTIFIER and KEYWORD lists of what was read, marked as read (fusion.ts READ_EVIDENCE). */
  private readLists(read: ReadTextResult, identifiersRead: number, identifierCandidates: Candidate[], wordCandidates: Candidate[]): SignalList[] {
    const evidence = readEvidence(read, identifiersRead);
    return [
      { signal: 'IDENTIFIER', candidates: identifierCandidates, read: evidence },
      { signal: 'KEYWORD', candidates: wordCandidates, read: evidence },
    ];
  }

  /** The model's calibrated near-copy cosine, or null (then the scale-free ratio test decides). */
  private nearCopySimilarity(): number | null {
    const model = this.encoder.model;
    return model.nearDuplicateCalibrated ? model.nearDuplicateSimilarity : null;
  }

  /** A fused hit with its records (pure: the records were read for the whole page of hits at once). */
  private hydrate(hit: FusedHit, records: HitRecords, text: string | null, identifiers: string[]): SearchHitView {
    const needles = { identifiers, terms: text ? contentTerms(text) : [] };
    if (hit.target.kind === 'photo') {
      const photo = records.photos.get(hit.target.photoId) ?? null;
      return { score: hit.score, matchedBy: hit.matchedBy, document: null, page: null, photo, snippet: photo?.caption ?? null };
    }
    const document = records.documents.get(hit.target.documentId) ?? null;
    const page = records.pages.get(pageKey(hit.target.documentId, hit.target.pageNumber)) ?? null;
    const chunk = hit.evidence.SEMANTIC?.matchedText ?? hit.evidence.CROSS_MODAL?.matchedText;
    const lexical = hit.evidence.IDENTIFIER || hit.evidence.KEYWORD;
    const snippet = page?.text ? (lexical || !chunk ? excerpt(page.text, needles) : chunk) : (chunk ?? null);
    return { score: hit.score, matchedBy: hit.matchedBy, document, page, photo: null, snippet: snippet || null };
  }

  private hasGoodMatch(lists: SignalList[], hits: SearchHitView[], text: string | null, cosineNearCopies: boolean): boolean {
    if (hits.length === 0) return false;
    if (lists.some((l) => l.signal === 'IDENTIFIER' && !l.read && l.candidates.length > 0)) return true;
    // An identifier read surely on the photo is as good as a typed one; read words alone are not.
    if (lists.some((l) => l.signal === 'IDENTIFIER' && l.read && l.candidates.some((c) => l.read!.confidence(c) >= READ_EVIDENCE.decisiveConfidence))) return true;
    if (text) {
      const terms = contentTerms(text);
      const covered = hits.some((h) => {
        const body = h.page?.text ?? h.photo?.caption ?? '';
        return terms.length > 0 && termCoverage(terms, body) >= this.settings.minKeywordCoverage;
      });
      if (covered) return true;
    }
    // A near-copy of a stored photo or page is a match on any model.
    if (lists.some((l) => (l.basis === 'perceptual-hash' || l.basis === 'page-layout') && l.candidates.length > 0)) return true;
    const calibrated = this.nearCopySimilarity();
    if (cosineNearCopies && lists.some((l) => l.signal === 'VISUAL' && !l.basis && l.candidates[0] !== undefined && isNearCopy(l.candidates[0].score, l.candidates[1]?.score, calibrated))) return true;
    return lists.some((l) => {
      if (l.signal === 'KEYWORD' || l.signal === 'IDENTIFIER' || l.basis) return false;
      const z = standOut(l.candidates.map((c) => c.score));
      return z !== null && z >= this.settings.minStandOut;
    });
  }
}

/** Rejects with the signal's reason when it aborts (never settles otherwise). */
function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * How to believe what was read: a candidate found by read identifiers is as sure as the surest
 * of the identifiers it matched (the store names them, as the page spells them, in matchedText).
 */
export function readEvidence(read: ReadTextResult, identifiersRead = read.identifiers.length): ReadEvidence {
  const confidences = identifierConfidences(read);
  return {
    identifiers: identifiersRead,
    confidence: (c) => Math.max(0, ...(c.matchedText ?? '').split(', ').map((id) => confidences.get(normalizeIdentifier(id)) ?? 0)),
  };
}
