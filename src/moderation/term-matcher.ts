/**
 * Blocked and allowed terms in questions and answers: whole-word, case-insensitive,
 * Unicode-aware matching that resists the simple evasions (spaced or dotted letters,
 * leetspeak digits, zero-width characters, fancy Unicode letters) without flagging innocent
 * words that merely contain a term ("assemble" never matches "ass").
 *
 * How a text is read (terms are read the same way, so both sides always agree):
 * 1. Folded: NFKC (full-width and mathematical letters, ligatures → plain letters), invisible
 *    characters (zero-width spaces and joiners, soft hyphens) removed, lower-cased (ß → ss,
 *    final σ), accents stripped from Latin and Greek letters ("fück" → "fuck").
 * 2. Cut into words: runs of letters, digits and marks; in scripts written without spaces
 *    (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) every character is a word of its
 *    own, so a term in those scripts matches as a character sequence.
 * 3. Read twice: once word by word, and once with every run of two or more one-character
 *    words separated by at most three non-line-break characters joined into one word
 *    ("f u c k", "f.u.c.k", "s-h-i-t" → "fuck", "shit").
 * A term (one or more words) matches a sequence of whole words. A word also matches in its
 * leetspeak reading (0→o 1→i 3→e 4→a 5→s 7→t) when it has at least as many letters as digits:
 * "sh1t" and "a55hole" are read as words, while part numbers like "A55" or "455" are not.
 * A multi-word term also matches its words written together ("bleedvalve").
 *
 * Allowed terms take precedence: a blocked match lying wholly inside an allowed match is
 * ignored ("bleed valve" allowed exempts the "bleed" in it, not a "bleed" elsewhere). Words of
 * an allowed phrase must be separated by spaces, hyphens or underscores only, so an allowed
 * phrase cannot be assembled across punctuation; words of a blocked phrase may be separated by
 * anything, so punctuation does not evade it.
 */

export interface TermScreening {
  decision: 'allow' | 'block';
  /** The blocked terms found, spelt as in the policy, in order of first occurrence. */
  matchedTerms: string[];
}

interface Token {
  /** Folded text of the word. */
  text: string;
  /** Leetspeak reading, when it differs and the word qualifies. */
  leet: string | null;
  start: number;
  end: number;
}

interface CompiledTerm {
  term: string;
  words: string[];
  compact: string;
}

interface Match {
  term: string;
  start: number;
  end: number;
}

const SEGMENTED = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Thai}\\p{Script=Lao}\\p{Script=Khmer}\\p{Script=Myanmar}';
const WORD = new RegExp(`[${SEGMENTED}]\\p{M}*|(?:(?![${SEGMENTED}])[\\p{L}\\p{N}\\p{M}])+`, 'gu');
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't' };
/** Most non-word characters between two one-character words that are still read as one word. */
const MAX_SPACED_GAP = 3;
/** Separators allowed between the words of an allowed phrase. */
const LOOSE_GAP = /^[\s\-_\u2010-\u2015]*$/u;

/** The folded form of a text that matching works on (see the module comment). */
export function foldText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/ς/g, 'σ')
    .normalize('NFD')
    .replace(/([\p{Script=Latin}\p{Script=Greek}])\p{M}+/gu, '$1')
    .normalize('NFC');
}

function leetReading(word: string): string | null {
  if (!/[014357]/.test(word)) return null;
  let letters = 0;
  let digits = 0;
  for (const ch of word) {
    if (/\p{N}/u.test(ch)) digits++;
    else if (/\p{L}/u.test(ch)) letters++;
  }
  if (letters === 0 || letters < digits) return null;
  return word.replace(/[014357]/g, (d) => LEET[d]!);
}

function token(text: string, start: number, end: number): Token {
  return { text, leet: leetReading(text), start, end };
}

/** Words of a folded text, with their offsets in it. */
function words(folded: string): Token[] {
  return [...folded.matchAll(WORD)].map((m) => token(m[0], m.index, m.index + m[0].length));
}

/** The same words with runs of spaced-out single characters joined ("f u c k" → "fuck"). */
function joinSpaced(folded: string, tokens: readonly Token[]): Token[] {
  const single = (t: Token) => [...t.text.replace(/\p{M}+/gu, '')].length === 1;
  const out: Token[] = [];
  let i = 0;
  while (i < tokens.length) {
    let j = i;
    while (j + 1 < tokens.length && single(tokens[j]!) && single(tokens[j + 1]!)) {
      const gap = folded.slice(tokens[j]!.end, tokens[j + 1]!.start);
      if (gap.length > MAX_SPACED_GAP || /[\n\r\u2028\u2029]/.test(gap)) break;
      j++;
    }
    if (j > i) {
      out.push(token(tokens.slice(i, j + 1).map((t) => t.text).join(''), tokens[i]!.start, tokens[j]!.end));
      i = j + 1;
    } else {
      out.push(tokens[i]!);
      i++;
    }
  }
  return out;
}

/** The words of a term as matching sees them; empty when it has no letters or digits. */
export function termWords(term: string): string[] {
  return words(foldText(term)).map((t) => t.text);
}

class TermIndex {
  private readonly byFirstWord = new Map<string, CompiledTerm[]>();
  private readonly byCompact = new Map<string, CompiledTerm[]>();

  constructor(terms: readonly string[]) {
    for (const term of terms) {
      const w = termWords(term);
      if (w.length === 0) continue;
      const compiled: CompiledTerm = { term, words: w, compact: w.join('') };
      push(this.byFirstWord, w[0]!, compiled);
      if (w.length > 1) push(this.byCompact, compiled.compact, compiled);
    }
  }

  get size(): number {
    return this.byFirstWord.size;
  }

  matches(folded: string, tokens: readonly Token[], strictGaps: boolean): Match[] {
    const found: Match[] = [];
    const is = (t: Token, word: string) => t.text === word || t.leet === word;
    tokens.forEach((first, i) => {
      const readings = first.leet ? [first.text, first.leet] : [first.text];
      for (const reading of readings) {
        for (const c of this.byFirstWord.get(reading) ?? []) {
          if (i + c.words.length > tokens.length) continue;
          let ok = true;
          for (let k = 1; k < c.words.length && ok; k++) {
            const prev = tokens[i + k - 1]!;
            const next = tokens[i + k]!;
            ok = is(next, c.words[k]!) && (!strictGaps || LOOSE_GAP.test(folded.slice(prev.end, next.start)));
          }
          if (ok) found.push({ term: c.term, start: first.start, end: tokens[i + c.words.length - 1]!.end });
        }
        for (const c of this.byCompact.get(reading) ?? []) found.push({ term: c.term, start: first.start, end: first.end });
      }
    });
    return found;
  }
}

/** A test of whether a span lies wholly inside one of the given spans (sorted, with running maximum ends: O(log n) a query). */
function coverage(spans: readonly Match[]): (m: Match) => boolean {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const maxEnd: number[] = [];
  sorted.forEach((s, i) => maxEnd.push(Math.max(s.end, i > 0 ? maxEnd[i - 1]! : -1)));
  return (m) => {
    let lo = 0;
    let hi = sorted.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.start <= m.start) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return last >= 0 && maxEnd[last]! >= m.end;
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class TermMatcher {
  private readonly blocked: TermIndex;
  private readonly allowed: TermIndex;

  constructor(blockedTerms: readonly string[], allowedTerms: readonly string[]) {
    this.blocked = new TermIndex(blockedTerms);
    this.allowed = new TermIndex(allowedTerms);
  }

  /** False when there are no blocked terms: every text is allowed. */
  get active(): boolean {
    return this.blocked.size > 0;
  }

  screen(text: string): TermScreening {
    if (!this.active || !text) return { decision: 'allow', matchedTerms: [] };
    const folded = foldText(text);
    const plain = words(folded);
    const streams = [plain, joinSpaced(folded, plain)];
    const blocked = streams.flatMap((s) => this.blocked.matches(folded, s, false));
    if (blocked.length === 0) return { decision: 'allow', matchedTerms: [] };
    const allowed = streams.flatMap((s) => this.allowed.matches(folded, s, true));
    const covered = coverage(allowed);
    const standing = blocked.filter((b) => !covered(b)).sort((a, b) => a.start - b.start || a.end - b.end);
    const matchedTerms = [...new Set(standing.map((m) => m.term))];
    return { decision: matchedTerms.length > 0 ? 'block' : 'allow', matchedTerms };
  }
}

/** Where text may be cut for release: after the last character that is not part of a word. */
export function lastWordBoundary(text: string, from: number): number {
  for (let i = text.length - 1; i >= from; i--) {
    const ch = text[i]!;
    // A lone surrogate half is part of a character outside the BMP: never cut there.
    if (/[\ud800-\udfff]/.test(ch)) continue;
    if (!WORD_CHAR.test(ch) && !/\p{Default_Ignorable_Code_Point}/u.test(ch)) return i + 1;
  }
  return from;
}
