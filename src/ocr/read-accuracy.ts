/**
 * How well text was read, as `fieldscope eval ocr` reports it. Pure.
 *
 * Character accuracy is 1 − (Levenshtein edits ÷ expected characters), on texts whose runs of
 * white space (line breaks included) are one space: a line split differently is not an error of
 * reading. Summed over a set it is 1 − Σedits ÷ Σcharacters (long texts weigh more), the way
 * OCR evaluations (ISRI, ocreval) report it. Identifier recall compares identifiers as search
 * matches them (normalizeIdentifier: case and separators ignored).
 */
import { normalizeIdentifier } from '../search/identifiers.js';

export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/** Levenshtein distance over code points. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

export interface TextScore {
  /** Characters of the expected text (white space collapsed). */
  chars: number;
  edits: number;
}

export function scoreText(expected: string, read: string): TextScore {
  const want = collapseWhitespace(expected);
  return { chars: [...want].length, edits: editDistance(want, collapseWhitespace(read)) };
}

/** 1 − Σedits ÷ Σchars, floored at 0; 1 for nothing expected. */
export function characterAccuracy(scores: readonly TextScore[]): number {
  const chars = scores.reduce((n, s) => n + s.chars, 0);
  const edits = scores.reduce((n, s) => n + s.edits, 0);
  return chars === 0 ? 1 : Math.max(0, 1 - edits / chars);
}

/** The expected identifiers that were read (each compared as search compares identifiers). */
export function identifiersFound(expected: readonly string[], read: readonly string[]): string[] {
  const keys = new Set(read.map(normalizeIdentifier));
  return expected.filter((id) => keys.has(normalizeIdentifier(id)));
}
