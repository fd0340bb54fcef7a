/**
 * The answer without a language model: the sentences of the top sources that best match the
 * question, each cited. Used when no model is configured, or when it fails. Pure.
 */
import { extractIdentifiers, normalizeIdentifier } from '../search/identifiers.js';
import { contentTerms } from '../search/snippet.js';
import type { Source } from './sources.js';

export function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    // A sentence ends at . ! ? after a word (not after a step number like "1."); numbered steps start a sentence.
    .split(/(?<=[\p{L})\]"'%°][.!?])\s+(?=[\p{Lu}\d"(])|\s(?=\d{1,2}\.\s)/u)
    .map((s) => s.trim())
    .filter((s) => s.length >= 12 && s.length <= 600);
}

export function extractiveAnswer(question: string, sources: readonly Source[], maxSentences = 3): { text: string; cited: number[] } {
  const terms = contentTerms(question);
  const ids = new Set(extractIdentifiers(question).map(normalizeIdentifier));
  const scored: { sentence: string; marker: number; score: number; order: number }[] = [];
  let order = 0;
  for (const source of sources) {
    for (const sentence of splitSentences(source.text)) {
      const words = new Set(sentence.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
      const termHits = terms.filter((t) => words.has(t)).length;
      const idHits = extractIdentifiers(sentence).filter((id) => ids.has(normalizeIdentifier(id))).length;
      // Earlier sources ranked higher by search: a small preference, not a veto.
      const score = termHits + 2 * idHits - 0.1 * (source.marker - 1);
      scored.push({ sentence, marker: source.marker, score, order: order++ });
    }
  }
  let picked = scored.filter((s) => s.score > 0).sort((a, b) => b.score - a.score).slice(0, maxSentences);
  if (picked.length === 0) picked = scored.slice(0, 1);
  if (picked.length === 0) return { text: '', cited: [] };
  picked.sort((a, b) => a.order - b.order);
  const cited = [...new Set(picked.map((p) => p.marker))];
  return { text: picked.map((p) => `${p.sentence} [${p.marker}]`).join(' '), cited };
}
