/**
 * Part numbers, model names and document codes ("4471-B", "P-200", "SOP-12", "TC-2.1"): the
 * tokens a technician types exactly and that neither CLIP nor BM25 handles well (BM25 splits
 * "4471-B" into "4471" and "b"). Pure functions shared by ingestion, search and identification.
 *
 * Both functions normalise first (NFKC, zero-width and bidi characters removed; see
 * normalize-text.ts), so "ZW\u200b-77" and "ＺＷ－７７" are the identifier ZW-77 wherever they are read.
 */
import { normalizeText } from '../text/normalize-text.js';

// A run of letters/digits joined by - / . _ that contains at least one digit and is not just a number or a year-like count.
const CANDIDATE = /[A-Za-z0-9]+(?:[-/._][A-Za-z0-9]+)*/g;

/** Case and separators ignored: "p-200", "P200" and "P 200" are one identifier. */
export function normalizeIdentifier(identifier: string): string {
  return normalizeText(identifier).toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Whether one token (no spaces) is identifier-shaped: letters and digits, not a plain number, year or measurement. */
export function isIdentifier(token: string): boolean {
  if (token.length < 3 || token.length > 40) return false;
  const hasDigit = /\d/.test(token);
  const hasLetter = /[A-Za-z]/.test(token);
  const hasSeparator = /[-/._]/.test(token);
  if (!hasDigit) return false;
  // Plain numbers ("150", "2024") and fractions ("3/8") are measurements, not identifiers.
  if (!hasLetter) return hasSeparator && /^\d{2,}[-]\d{2,}/.test(token);
  // Units glued to numbers ("150psi", "20mm", "2x") are not identifiers either.
  if (/^\d+(?:\.\d+)?(?:mm|cm|m|kg|g|psi|bar|kw|w|v|a|hz|rpm|nm|in|ft|lb|x|s|ms|h|l|ml)$/i.test(token)) return false;
  return true;
}

/** Distinct identifiers in a text, as written (first spelling wins), in order of appearance. */
export function extractIdentifiers(text: string): string[] {
  const seen = new Map<string, string>();
  for (const match of normalizeText(text).matchAll(CANDIDATE)) {
    const token = match[0].replace(/[-/._]+$/, '');
    if (!isIdentifier(token)) continue;
    const key = normalizeIdentifier(token);
    if (!seen.has(key)) seen.set(key, token);
  }
  return [...seen.values()];
}
