/**
 * Snippets and query-term coverage. Pure.
 */
const STOPWORDS = new Set(
  'a an and are as at be by for from has have how i in is it its of on or that the this to was what when where which who why will with do does can my our your'.split(' '),
);

/** Distinct lower-case content words of a query (no stopwords, at least 2 characters). */
export function contentTerms(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((w) => w.length >= 2 && !STOPWORDS.has(w)))];
}

/** Share of the query's content terms that occur in `text` as words (0..1). */
export function termCoverage(queryTerms: readonly string[], text: string): number {
  if (queryTerms.length === 0) return 0;
  const words = new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  return queryTerms.filter((t) => words.has(t)).length / queryTerms.length;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where an identifier occurs whatever its separators ("4471B" finds "4471-B"), or -1. */
function findIdentifier(text: string, identifier: string): number {
  const chars = identifier.replace(/[^A-Za-z0-9]/g, '').split('');
  if (chars.length === 0) return -1;
  const pattern = new RegExp(chars.map(escapeRegExp).join('[-/._ ]?'), 'i');
  return pattern.exec(text)?.index ?? -1;
}

/**
 * About `length` characters of `text` around the first identifier found, else the first query
 * word found, else from the start.
 */
export function excerpt(text: string, needles: { identifiers?: readonly string[]; terms?: readonly string[] }, length = 240): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= length) return flat;
  const lower = flat.toLowerCase();
  const earliest = (positions: number[]) => positions.filter((i) => i >= 0).reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  let at = earliest((needles.identifiers ?? []).map((id) => findIdentifier(flat, id)));
  if (!Number.isFinite(at)) at = earliest((needles.terms ?? []).map((t) => lower.search(new RegExp(`\\b${escapeRegExp(t.toLowerCase())}`))));
  if (!Number.isFinite(at)) at = -1;
  let start = at < 0 ? 0 : Math.max(0, at - Math.floor(length / 3));
  // Start at a word boundary.
  if (start > 0) {
    const space = flat.indexOf(' ', start);
    start = space >= 0 && space - start < 20 ? space + 1 : start;
  }
  const end = Math.min(flat.length, start + length);
  return `${start > 0 ? '…' : ''}${flat.slice(start, end).trim()}${end < flat.length ? '…' : ''}`;
}
