/**
 * Search: a text and/or an image → several candidate lists → reciprocal-rank fusion by page
 * or photo → hits with the document, page, photo and a snippet, plus a "no good match" flag.
 *
 * Signals: text → chunks (SEMANTIC), text → page images/photos (CROSS_MODAL), BM25 (KEYWORD),
 * exact identifiers (IDENTIFIER, weighted double: a part number typed exactly is strong
 * evidence); image → page images/photos (VISUAL; a near-copy weighs triple, for the same
 * reason), image → chunks (CROSS_MODAL).
 *
 * "No good match" is decided on evidence, not on fused scores (RRF scores are ranks, and every
 * query has a best-ranked page): an exact identifier match, a page containing the query's
 * content words, or a dense match that stands out from the query's own background of
 * similarities by SEARCH_MIN_STANDOUT robust standard deviations. The last is scale-free, so it
 * holds across models whose cosine ranges differ.
 */
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { InvalidInputError } from '../errors.js';
import type { Candidate, DocumentRecord, KnowledgeStore, PageRecord, PhotoRecord, SearchFilter } from '../store/knowledge-store.js';
import { reciprocalRankFusion, standOut, type FusedHit, type MatchKind, type SignalList } from './fusion.js';
import { normalizeText } from '../text/normalize-text.js';
import { extractIdentifiers } from './identifiers.js';
import { contentTerms, excerpt, termCoverage } from './snippet.js';

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
}

export interface SearchSettings {
  maxLimit: number;
  maxQueryChars: number;
  /** Robust z-score a dense match must reach to count as a good match. */
  minStandOut: number;
  /** Share of the query's content words a page must contain for a keyword match to count. */
  minKeywordCoverage: number;
  /** Cosine above which an image query is a near-copy of a stored image. */
  nearDuplicateSimilarity: number;
}

export const DEFAULT_SEARCH_SETTINGS: SearchSettings = { maxLimit: 100, maxQueryChars: 2000, minStandOut: 4, minKeywordCoverage: 0.75, nearDuplicateSimilarity: 0.95 };

export class SearchService {
  constructor(
    private readonly encoder: ClipEncoder,
    private readonly store: KnowledgeStore,
    private readonly settings: SearchSettings = DEFAULT_SEARCH_SETTINGS,
  ) {}

  async search(query: SearchQuery): Promise<SearchResultView> {
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

    const [textVector, imageVector] = await Promise.all([
      text ? this.encoder.embedTexts([text], { signal: query.signal }).then((v) => v[0]!) : null,
      image ? this.encoder.embedImages([image], { signal: query.signal }).then((v) => v[0]!) : null,
    ]);
    query.signal?.throwIfAborted();
    const perSignal = Math.max(limit * 3, 30);
    const filter = query.filter;
    const identifiers = text ? extractIdentifiers(text) : [];
    const lists: SignalList[] = await Promise.all([
      ...(textVector
        ? [
            this.store.searchChunks(textVector, perSignal, filter).then((c) => ({ signal: 'SEMANTIC' as const, candidates: c })),
            this.store.searchImages(textVector, perSignal, filter).then((c) => ({ signal: 'CROSS_MODAL' as const, candidates: c })),
            this.store.searchLexical(text!, perSignal, filter).then((c) => ({ signal: 'KEYWORD' as const, candidates: c })),
            identifiers.length > 0
              ? this.store.searchIdentifiers(identifiers, perSignal, filter).then((c) => ({ signal: 'IDENTIFIER' as const, candidates: c, weight: 2 }))
              : Promise.resolve({ signal: 'IDENTIFIER' as const, candidates: [] as Candidate[] }),
          ]
        : []),
      ...(imageVector
        ? [
            // A near-copy of a stored image is as strong as an exact part number: weigh it like one.
            this.store.searchImages(imageVector, perSignal, filter).then((c) => ({
              signal: 'VISUAL' as const,
              candidates: c,
              weight: (candidate: Candidate) => (candidate.score >= this.settings.nearDuplicateSimilarity ? 3 : 1),
            })),
            this.store.searchChunks(imageVector, perSignal, filter).then((c) => ({ signal: 'CROSS_MODAL' as const, candidates: c })),
          ]
        : []),
    ]);

    const fused = reciprocalRankFusion(lists).slice(0, limit);
    const hits = await Promise.all(fused.map((hit) => this.hydrate(hit, text, identifiers)));
    const noGoodMatch = !(await this.hasGoodMatch(lists, hits, text));
    return { hits, noGoodMatch };
  }

  private async hydrate(hit: FusedHit, text: string | null, identifiers: string[]): Promise<SearchHitView> {
    const needles = { identifiers, terms: text ? contentTerms(text) : [] };
    if (hit.target.kind === 'photo') {
      const photo = await this.store.getPhoto(hit.target.photoId);
      return { score: hit.score, matchedBy: hit.matchedBy, document: null, page: null, photo, snippet: photo?.caption ?? null };
    }
    const [document, page] = await Promise.all([this.store.getDocument(hit.target.documentId), this.store.getPage(hit.target.documentId, hit.target.pageNumber)]);
    const chunk = hit.evidence.SEMANTIC?.matchedText ?? hit.evidence.CROSS_MODAL?.matchedText;
    const lexical = hit.evidence.IDENTIFIER || hit.evidence.KEYWORD;
    const snippet = page?.text ? (lexical || !chunk ? excerpt(page.text, needles) : chunk) : (chunk ?? null);
    return { score: hit.score, matchedBy: hit.matchedBy, document, page, photo: null, snippet: snippet || null };
  }

  private async hasGoodMatch(lists: SignalList[], hits: SearchHitView[], text: string | null): Promise<boolean> {
    if (hits.length === 0) return false;
    if (lists.some((l) => l.signal === 'IDENTIFIER' && l.candidates.length > 0)) return true;
    if (text) {
      const terms = contentTerms(text);
      const covered = hits.some((h) => {
        const body = h.page?.text ?? h.photo?.caption ?? '';
        return terms.length > 0 && termCoverage(terms, body) >= this.settings.minKeywordCoverage;
      });
      if (covered) return true;
    }
    // A near-copy of a stored photo or page is a match on any model.
    if (lists.some((l) => l.signal === 'VISUAL' && (l.candidates[0]?.score ?? 0) >= this.settings.nearDuplicateSimilarity)) return true;
    return lists.some((l) => {
      if (l.signal === 'KEYWORD' || l.signal === 'IDENTIFIER') return false;
      const z = standOut(l.candidates.map((c) => c.score));
      return z !== null && z >= this.settings.minStandOut;
    });
  }
}
