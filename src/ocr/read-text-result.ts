/**
 * Pure assembly of a readText answer from recognised regions and decoded codes: low-confidence
 * and empty regions dropped, text joined in reading order, identifiers extracted with exactly
 * the rules search applies to typed identifiers (search/identifiers.ts), from text and codes.
 */
import { extractIdentifiers, normalizeIdentifier } from '../search/identifiers.js';
import { codeFormatName, MAX_CODES, sanitizeCodeValue } from './code-values.js';
import type { ReadTextResult, ScannedCode, TextRegion } from './text-reader.js';

/**
 * Regions the recogniser is less sure of are dropped. PaddleOCR's `drop_score` is 0.5; on a
 * textureless photo the detector still finds a blob now and then and the recogniser reads one
 * glyph from it at 0.5–0.6 (measured), so we ask for 0.6, and for a lone character (which never
 * makes an identifier) 0.9.
 */
export const MIN_REGION_CONFIDENCE = 0.6;
export const MIN_SINGLE_CHAR_CONFIDENCE = 0.9;

export function assembleReadText(regions: readonly TextRegion[], rawCodes: readonly { format: string; value: string }[]): ReadTextResult {
  const kept = regions.filter((r) => {
    const chars = [...r.text.trim()].length;
    return chars > 0 && r.confidence >= (chars === 1 ? MIN_SINGLE_CHAR_CONFIDENCE : MIN_REGION_CONFIDENCE);
  });
  const seen = new Set<string>();
  const codes: ScannedCode[] = [];
  for (const raw of rawCodes) {
    const code = { format: codeFormatName(raw.format), value: sanitizeCodeValue(raw.value) };
    const key = `${code.format}\u0000${code.value}`;
    if (code.value === '' || seen.has(key) || codes.length >= MAX_CODES) continue;
    seen.add(key);
    codes.push(code);
  }
  const text = kept.map((r) => r.text).join('\n');
  const identifiers: string[] = [];
  const known = new Set<string>();
  for (const id of [...extractIdentifiers(text), ...codes.flatMap((c) => extractIdentifiers(c.value))]) {
    const key = normalizeIdentifier(id);
    if (known.has(key)) continue;
    known.add(key);
    identifiers.push(id);
  }
  return { text, identifiers, regions: kept, codes };
}

/**
 * How surely each identifier was read, by normalised identifier (search/identifiers.ts): the
 * confidence of the region it was read in (the best one when read twice), 1 for one decoded from a
 * QR code or barcode (the symbology's checksum verified it). An identifier never spans two
 * regions: the text joins regions with line breaks, where identifiers end.
 */
export function identifierConfidences(read: Pick<ReadTextResult, 'regions' | 'codes'> & { identifiers?: readonly string[] }): Map<string, number> {
  const out = new Map<string, number>();
  const note = (text: string, confidence: number) => {
    for (const id of extractIdentifiers(text)) {
      const key = normalizeIdentifier(id);
      out.set(key, Math.max(out.get(key) ?? 0, confidence));
    }
  };
  for (const region of read.regions) note(region.text, region.confidence);
  for (const code of read.codes) note(code.value, 1);
  // An identifier resolved from a glued token (search/glued-identifiers.ts) is part of one
  // region's or code's characters: it is as sure as the surest that holds it.
  for (const id of read.identifiers ?? []) {
    const key = normalizeIdentifier(id);
    if (out.has(key)) continue;
    const holders = [...read.regions.map((r) => ({ text: r.text, confidence: r.confidence })), ...read.codes.map((c) => ({ text: c.value, confidence: 1 }))];
    const best = Math.max(0, ...holders.filter((h) => normalizeIdentifier(h.text).includes(key)).map((h) => h.confidence));
    if (best > 0) out.set(key, best);
  }
  return out;
}
