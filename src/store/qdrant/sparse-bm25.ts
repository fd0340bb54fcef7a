/**
 * BM25 as sparse vectors, for Qdrant's `bm25` sparse vector with `modifier: 'idf'`: the client
 * turns text into term ids with BM25-saturated term frequencies, and the server multiplies each
 * query term by its inverse document frequency over the collection. So
 * score(page) = Σ over query terms of idf(term) · tf(term, page)·(k1+1) / (tf + k1·(1 − b + b·len/avgLen)).
 *
 * Terms: NFKC, lower case, diacritics removed, runs of letters/digits; a part number written with
 * joiners ("4471-B", "TC-2.1") gives the whole token and its parts, so it matches as written and
 * piecewise. Words get a light English suffix stemmer ("pumps" → "pump"); both sides use the
 * same function, so only consistency matters. Term ids are a 31-bit FNV-1a hash: stable across
 * processes and versions (changing it means re-ingesting), collisions summed. Pure functions.
 */
import { MAX_LEXICAL_TERMS } from '../sqlite/lexical-query.js';

export interface SparseVector {
  indices: number[];
  values: number[];
}

export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/** Assumed average page length in terms (the server does not report it to clients). */
export const DEFAULT_BM25_AVERAGE_LENGTH = 256;

const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our should so than that the their them then there these they this those to up was ' +
    'we were what when where which who why will with would you your'
  ).split(' '),
);

const TOKEN = /[\p{L}\p{N}]+(?:[-/._'][\p{L}\p{N}]+)*/gu;
const JOINERS = /[-/._']/;

function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase().normalize('NFD').replace(/\p{M}+/gu, '').normalize('NFC');
}

/** A light, deterministic English suffix stemmer (plural and -ing/-ed endings); numbers untouched. */
export function stem(word: string): string {
  if (!/^\p{L}+$/u.test(word) || word.length <= 3) return word;
  let w = word;
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && /(?:sses|xes|ches|shes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed') && !w.endsWith('eed')) w = w.slice(0, -2);
  return w;
}

/** Every term of a text in order (repeats kept): whole joined tokens and their stemmed parts. */
export function lexicalTerms(text: string): string[] {
  const terms: string[] = [];
  for (const match of fold(text).matchAll(TOKEN)) {
    const token = match[0];
    if (JOINERS.test(token)) {
      terms.push(token);
      for (const part of token.split(/[-/._']+/)) if (part.length > 0) terms.push(stem(part));
    } else {
      terms.push(stem(token));
    }
  }
  return terms;
}

/** FNV-1a over the UTF-8 bytes, folded to 31 bits (Qdrant takes uint32 indices). */
export function termId(term: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(term, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & 0x7fffffff;
}

function sorted(weights: Map<number, number>): SparseVector {
  const indices = [...weights.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => weights.get(i)!) };
}

/** The document side: BM25-saturated term frequencies; null when the text has no terms. */
export function documentSparseVector(text: string, averageLength = DEFAULT_BM25_AVERAGE_LENGTH): SparseVector | null {
  const terms = lexicalTerms(text);
  if (terms.length === 0) return null;
  const counts = new Map<number, number>();
  for (const term of terms) {
    const id = termId(term);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const norm = BM25_K1 * (1 - BM25_B + (BM25_B * terms.length) / Math.max(1, averageLength));
  const weights = new Map<number, number>();
  for (const [id, tf] of counts) weights.set(id, (tf * (BM25_K1 + 1)) / (tf + norm));
  return sorted(weights);
}

/**
 * The query side: distinct terms with weight 1 (the server applies the IDF), stopwords dropped
 * unless nothing else is left, at most MAX_LEXICAL_TERMS. `words` are the query's words as
 * typed (lower case), for locating an excerpt. Null when the query has no terms.
 */
export function querySparseVector(raw: string): { vector: SparseVector; words: string[] } | null {
  const words: string[] = [];
  const seenWords = new Set<string>();
  for (const match of fold(raw).matchAll(TOKEN)) {
    for (const word of [match[0], ...(JOINERS.test(match[0]) ? match[0].split(/[-/._']+/) : [])]) {
      if (word.length > 0 && !seenWords.has(word)) {
        seenWords.add(word);
        words.push(word);
      }
    }
  }
  const content = words.filter((w) => !STOPWORDS.has(w));
  const kept = (content.length > 0 ? content : words).slice(0, MAX_LEXICAL_TERMS);
  if (kept.length === 0) return null;
  const weights = new Map<number, number>();
  for (const word of kept) weights.set(termId(JOINERS.test(word) ? word : stem(word)), 1);
  return { vector: sorted(weights), words: kept };
}
