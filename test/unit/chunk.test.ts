import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/clip/tokenize.js';
import { chunkText } from '../../src/ingest/chunk.js';
import { REPO_ROOT, readReferenceJson } from '../helpers/shared.js';

/**
 * A stand-in for CLIP's BPE that behaves like it where it matters: it never merges across
 * whitespace (so counts add up word by word), punctuation and digits are tokens of their own,
 * and long letter runs cost more than one token (one per 4 letters).
 */
function fakeCount(s: string): number {
  let n = 0;
  for (const piece of s.match(/\p{L}+|\p{N}|[^\s\p{L}\p{N}]/gu) ?? []) n += /^\p{L}/u.test(piece) ? Math.ceil(piece.length / 4) : 1;
  return n;
}

function counting(count: (s: string) => number = fakeCount) {
  const calls = { n: 0 };
  return { calls, countTokens: (s: string) => (calls.n++, count(s)) };
}

const WORDS = 'seal impeller casing bolt torque gland plate shaft sleeve O-ring 4471-B P-200 replace tighten crosswise 45 N·m drain valve'.split(' ');
/** Deterministic prose of n words. */
function prose(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[(i * 7 + Math.floor(i / 3)) % WORDS.length]!);
  return out.join(' ');
}

const opts = { maxTokens: 75, overlapTokens: 16, countTokens: fakeCount };

describe('chunkText', () => {
  it('returns no chunks for empty or blank text', () => {
    expect(chunkText('', opts)).toEqual([]);
    expect(chunkText(' \n\t  \n', opts)).toEqual([]);
  });

  it('keeps a short text as one chunk with whitespace normalised', () => {
    expect(chunkText('  Replace the\tseal\n\n kit 4471-B  ', opts)).toEqual(['Replace the seal kit 4471-B']);
  });

  it('makes windows that each fit maxTokens, in order, covering every word', () => {
    const text = prose(1000);
    const chunks = chunkText(text, opts);
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) {
      expect(fakeCount(c)).toBeLessThanOrEqual(75);
      expect(c).toBe(c.trim());
      expect(c).not.toMatch(/\s{2,}/);
    }
    // Each chunk is a contiguous run of the input's words, and together they cover all of them in order.
    const words = text.split(' ');
    let covered = 0;
    for (const c of chunks) {
      const cw = c.split(' ');
      let start = -1;
      for (let s = Math.max(0, covered - cw.length); s <= covered; s++) {
        if (cw.every((w, k) => words[s + k] === w)) start = s;
      }
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start).toBeLessThanOrEqual(covered);
      covered = start + cw.length;
    }
    expect(covered).toBe(words.length);
  });

  it('overlaps consecutive windows by about overlapTokens, never more', () => {
    const chunks = chunkText(prose(600), opts);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!.split(' ');
      const next = chunks[i]!.split(' ');
      // The longest suffix of prev that is a prefix of next.
      let shared = 0;
      for (let k = Math.min(prev.length, next.length); k > 0; k--) {
        if (prev.slice(-k).join(' ') === next.slice(0, k).join(' ')) {
          shared = k;
          break;
        }
      }
      const overlap = fakeCount(next.slice(0, shared).join(' '));
      expect(overlap).toBeLessThanOrEqual(16);
      expect(overlap).toBeGreaterThanOrEqual(10);
    }
  });

  it('uses no overlap when overlapTokens is 0', () => {
    const text = prose(300);
    const chunks = chunkText(text, { ...opts, overlapTokens: 0 });
    expect(chunks.join(' ')).toBe(text);
  });

  it('never splits inside an ordinary word', () => {
    const text = prose(500);
    const vocabulary = new Set(text.split(' '));
    for (const c of chunkText(text, { ...opts, maxTokens: 20, overlapTokens: 5 })) {
      for (const w of c.split(' ')) expect(vocabulary.has(w)).toBe(true);
    }
  });

  it("hard-splits a single over-long word (500 'x's) into pieces that fit", () => {
    const long = 'x'.repeat(500); // 125 tokens with the fake tokenizer
    const chunks = chunkText(`before ${long} after`, opts);
    for (const c of chunks) expect(fakeCount(c)).toBeLessThanOrEqual(75);
    const joined = chunks.join(' ');
    expect(joined.replace(/[ ]/g, '')).toContain(long);
    expect(chunks[0]!.startsWith('before')).toBe(true);
    expect(chunks.at(-1)!.endsWith('after')).toBe(true);
  });

  it('hard-splits a long URL and keeps its characters in order', () => {
    const url = `https://example.com/manuals/${'p200-seal-replacement/'.repeat(20)}index.html`;
    const chunks = chunkText(url, opts);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(fakeCount(c)).toBeLessThanOrEqual(75);
    expect(chunks.join('')).toBe(url);
  });

  it('does not cut a surrogate pair in half', () => {
    const word = '🔧'.repeat(200); // one token per emoji
    const chunks = chunkText(word, { ...opts, overlapTokens: 0 });
    expect(chunks.length).toBe(3);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const c of chunks) expect(c).not.toMatch(loneSurrogate);
    expect(chunks.join('')).toBe(word);
  });

  it('respects maxTokens with a tokenizer that adds start/end tokens to every call', () => {
    const withSpecials = (s: string) => fakeCount(s) + 2;
    const chunks = chunkText(prose(400), { maxTokens: 77, overlapTokens: 10, countTokens: withSpecials });
    for (const c of chunks) expect(withSpecials(c)).toBeLessThanOrEqual(77);
    expect(Math.max(...chunks.map(withSpecials))).toBeGreaterThan(70);
  });

  it('checks each window with the real count when counts do not add up across words', () => {
    // A tokenizer that also spends a token on every space: summing word counts under-estimates.
    const spaces = (s: string) => fakeCount(s) + (s.match(/ /g)?.length ?? 0);
    const chunks = chunkText(prose(400), { maxTokens: 40, overlapTokens: 8, countTokens: spaces });
    for (const c of chunks) expect(spaces(c)).toBeLessThanOrEqual(40);
  });

  it('counts each distinct word once: linear, not quadratic, on a 300-page manual', () => {
    // ~300 pages × 500 words. Distinct words: the vocabulary plus numbers.
    const words: string[] = [];
    for (let i = 0; i < 150_000; i++) words.push(i % 50 === 0 ? `step-${i % 997}` : WORDS[(i * 7) % WORDS.length]!);
    const text = words.join(' ');
    const { calls, countTokens } = counting();
    const t0 = performance.now();
    const chunks = chunkText(text, { maxTokens: 75, overlapTokens: 16, countTokens });
    const ms = performance.now() - t0;
    const distinct = new Set(words).size;
    // One call per distinct word, one for '' and one check per chunk.
    expect(calls.n).toBeLessThanOrEqual(distinct + 1 + chunks.length);
    expect(ms).toBeLessThan(3000);
  });

  it('refuses nonsensical options', () => {
    expect(() => chunkText('a b', { ...opts, maxTokens: 0 })).toThrow(RangeError);
    expect(() => chunkText('a b', { ...opts, overlapTokens: 75 })).toThrow(RangeError);
    expect(() => chunkText('a b', { ...opts, overlapTokens: -1 })).toThrow(RangeError);
    expect(() => chunkText('a b', { ...opts, maxTokens: 2, overlapTokens: 0, countTokens: (s) => fakeCount(s) + 2 })).toThrow(RangeError);
  });
});

describe('chunkText with the real CLIP tokenizer', () => {
  const tokenizer = new ClipTokenizer({
    tokenizerJson: readReferenceJson('clip-tokenizer', 'tokenizer.json.gz'),
    tokenizerConfigJson: readReferenceJson('clip-tokenizer', 'tokenizer_config.json'),
  });
  // As ClipEncoder.countTokens: content tokens, without start/end.
  const clipCount = (s: string) => tokenizer.encode(s, Number.MAX_SAFE_INTEGER).length - 2;

  it('fits every window of a demo manual into 75 content tokens, with word counts that add up', () => {
    const manual = readFileSync(path.join(REPO_ROOT, 'demo', 'source', 'p200-centrifugal-pump-manual.md'), 'utf8');
    const { calls, countTokens } = counting(clipCount);
    const chunks = chunkText(manual, { maxTokens: 75, overlapTokens: 16, countTokens });
    expect(chunks.length).toBeGreaterThan(20);
    for (const c of chunks) expect(clipCount(c)).toBeLessThanOrEqual(75);
    // Windows are nearly full (the budget is used), and no window needed trimming: summed word
    // counts equal the whole-string count, so there was one check call per chunk and no more.
    const fill = chunks.slice(0, -1).map(clipCount);
    expect(Math.min(...fill)).toBeGreaterThan(60);
    const distinct = new Set(manual.split(/\s+/).filter(Boolean)).size;
    expect(calls.n).toBeLessThanOrEqual(distinct + 1 + chunks.length);
  });
});
