/**
 * Splits a page's text into overlapping windows that each fit the text encoder's context
 * (CLIP: 77 tokens minus start/end = 75). Pure.
 *
 * Windows are made of whole words (whitespace-separated); a word longer than a window on its own
 * (a URL, a run of 500 'x's) is cut into pieces that fit. Tokens are counted once per distinct word
 * and summed, so the cost is linear in the text, not quadratic: for a CLIP-style tokenizer, which
 * never merges across whitespace, the sum is exact; for any other, each window is checked with one
 * more `countTokens` call and trimmed if the sum was optimistic.
 */

export interface ChunkOptions {
  /** Tokens a chunk may have: `countTokens(chunk) <= maxTokens`. */
  maxTokens: number;
  /** Tokens of the previous chunk repeated at the start of the next (approximately, in whole words). */
  overlapTokens: number;
  /** Tokens of a string. May include a constant overhead (start/end tokens): it is measured on ''. */
  countTokens: (s: string) => number;
}

export function chunkText(text: string, options: ChunkOptions): string[] {
  const { maxTokens, overlapTokens, countTokens } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new RangeError(`overlapTokens must be an integer in [0, maxTokens), got ${overlapTokens}`);
  }
  const rawWords = text.split(/\s+/).filter((w) => w.length > 0);
  if (rawWords.length === 0) return [];

  const overhead = Math.max(0, countTokens(''));
  const budget = maxTokens - overhead;
  if (budget < 1) throw new RangeError(`countTokens('') is ${overhead}: no room for text within maxTokens ${maxTokens}`);

  const cache = new Map<string, number>();
  const cost = (w: string): number => {
    let c = cache.get(w);
    if (c === undefined) {
      c = Math.max(0, countTokens(w) - overhead);
      if (cache.size < 100_000) cache.set(w, c);
    }
    return c;
  };

  // Words with their token costs; over-long words are cut into pieces that fit the budget.
  const words: string[] = [];
  const costs: number[] = [];
  for (const w of rawWords) {
    const c = cost(w);
    if (c <= budget) {
      words.push(w);
      costs.push(c);
    } else {
      for (const piece of splitLongWord(w, budget, (s) => Math.max(0, countTokens(s) - overhead))) {
        words.push(piece.text);
        costs.push(piece.cost);
      }
    }
  }

  // prefix[i] = tokens of words[0..i)
  const prefix = new Array<number>(words.length + 1);
  prefix[0] = 0;
  for (let i = 0; i < words.length; i++) prefix[i + 1] = prefix[i]! + costs[i]!;
  const sum = (from: number, to: number) => prefix[to]! - prefix[from]!;

  const chunks: string[] = [];
  let start = 0;
  while (start < words.length) {
    // Longest run from `start` whose summed cost fits (at least one word: every word fits alone).
    let end = upperBound(prefix, prefix[start]! + budget, start + 1, words.length);
    end = Math.max(end, start + 1);
    // Verify with the real tokenizer; trim if whole-string counting disagrees with the sum.
    let chunk = words.slice(start, end).join(' ');
    while (end - start > 1 && countTokens(chunk) > maxTokens) {
      end--;
      chunk = words.slice(start, end).join(' ');
    }
    chunks.push(chunk);
    if (end >= words.length) break;
    // Next window starts so that the words it shares with this one cost at most overlapTokens,
    // and always moves forward.
    let next = end;
    while (next - 1 > start && sum(next - 1, end) <= overlapTokens) next--;
    start = next;
  }
  return chunks;
}

/** Largest index e in [lo, hi] with prefix[e] <= limit (prefix is non-decreasing), or lo - 1. */
function upperBound(prefix: number[], limit: number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  let best = lo - 1;
  while (a <= b) {
    const mid = (a + b) >>> 1;
    if (prefix[mid]! <= limit) {
      best = mid;
      a = mid + 1;
    } else {
      b = mid - 1;
    }
  }
  return best;
}

/**
 * Cuts a word into consecutive pieces of at most `budget` tokens each, at code-point boundaries
 * (never inside a surrogate pair). Each piece is the longest prefix that fits, found by binary
 * search: O(log n) token counts per piece.
 */
function splitLongWord(word: string, budget: number, count: (s: string) => number): { text: string; cost: number }[] {
  const chars = Array.from(word);
  const pieces: { text: string; cost: number }[] = [];
  let from = 0;
  while (from < chars.length) {
    let lo = from + 1;
    let hi = chars.length;
    let best = from + 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (count(chars.slice(from, mid).join('')) <= budget) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const text = chars.slice(from, best).join('');
    pieces.push({ text, cost: Math.min(budget, count(text)) });
    from = best;
  }
  return pieces;
}
