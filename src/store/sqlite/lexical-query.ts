/**
 * Turning a user's raw text into FTS5 phrases, safely: FTS5 has its own query language
 * (AND/OR/NOT/NEAR, quotes, parentheses, `*`, `^`, column filters), and raw input such as `"`,
 * `AND(` or `-` is a syntax error there. Every term therefore becomes a double-quoted string,
 * which FTS5 treats as a phrase of whatever tokens its tokenizer finds inside — so "4471-B"
 * becomes the phrase `4471 b`, matching the part number as written. Pure functions.
 */

/** Longest query we turn into terms: a pasted paragraph must not become a 500-term OR. */
export const MAX_LEXICAL_TERMS = 32;

// Words that carry no topic. BM25 gives them ~0 weight on a large corpus anyway; dropping them
// saves the cost of ranking every page that contains "the".
const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our should so than that the their them then there these they this those to up was ' +
    'we were what when where which who why will with would you your'
  ).split(' '),
);

/** Runs of letters/digits, keeping the joiners of part numbers ("4471-B", "TC-2.1", "3/8"). */
const TERM = /[\p{L}\p{N}]+(?:[-/._'][\p{L}\p{N}]+)*/gu;

/** Distinct terms of a query, as FTS5 phrases (`"term"`), stopwords dropped unless nothing else is left. */
export function lexicalPhrases(raw: string): string[] {
  const seen = new Set<string>();
  const terms: string[] = [];
  for (const match of raw.normalize('NFKC').matchAll(TERM)) {
    const term = match[0].toLowerCase();
    if (seen.has(term)) continue;
    seen.add(term);
    terms.push(term);
  }
  const content = terms.filter((t) => !STOPWORDS.has(t));
  const kept = (content.length > 0 ? content : terms).slice(0, MAX_LEXICAL_TERMS);
  // The TERM pattern admits no double quote, but quote-doubling keeps this safe if it changes.
  return kept.map((t) => `"${t.replaceAll('"', '""')}"`);
}

/** The words of the phrases, for locating an excerpt. */
export function phraseWords(phrases: readonly string[]): string[] {
  return phrases.flatMap((p) => p.slice(1, -1).split(/[^\p{L}\p{N}]+/u)).filter((w) => w.length > 0);
}

/**
 * About `width` characters of `text` around the first occurrence of any of `words` (a prefix
 * match, so "pumps" is found for "pump"), on word boundaries; the start of the text when none occurs.
 */
export function excerptAround(text: string, words: readonly string[], width = 240): string {
  if (text.length <= width) return text;
  const lower = text.toLowerCase();
  let at = -1;
  for (const word of words) {
    const stem = word.length > 4 ? word.slice(0, word.length - 1) : word;
    const i = lower.indexOf(stem);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  let start = Math.max(0, at < 0 ? 0 : at - Math.floor(width / 3));
  let end = Math.min(text.length, start + width);
  if (start > 0) {
    const space = text.indexOf(' ', start);
    if (space >= 0 && space < at) start = space + 1;
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start) end = space;
  }
  return `${start > 0 ? '…' : ''}${text.slice(start, end).trim()}${end < text.length ? '…' : ''}`;
}
