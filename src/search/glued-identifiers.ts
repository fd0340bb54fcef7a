/**
 * Identifiers that OCR glued to a neighbouring word. A recogniser reads a nameplate line by line
 * and often drops the spaces on a blurred line: "TYPE P-200 PUMP" comes back as "TYPEP-200PUMP",
 * "COMPRESSOR AC-50" as "COMPRESSORAC-50", and the identifier rules (identifiers.ts) then see
 * one long token, not P-200 or AC-50.
 *
 * The word boundary that was lost lies somewhere inside the token's leading or trailing run of
 * letters, and nothing in the characters says where. So we do not guess: `gluedVariants` lists
 * every shorter identifier-shaped token that starts/ends inside those runs, and
 * `resolveGluedIdentifiers` keeps, per read token the knowledge base does not hold in its own right, only the
 * longest variant it does hold (the fewest letters cut). A variant therefore never invents an
 * identifier: it can only name one the tenant's knowledge base (or label set) already carries.
 * Only for READ text: a typed query has its spaces.
 */
import { extractIdentifiers, isIdentifier, normalizeIdentifier } from './identifiers.js';
import type { ReadTextResult } from '../ocr/text-reader.js';
import type { KnowledgeStore, SearchFilter } from '../store/knowledge-store.js';

/** Targets read back when resolving against a store: the identifiers they carry are the ones known. */
const LOOKUP_TARGETS = 200;

/** Letters of a glued run considered for a cut: a longer run is a sentence, not a lost space. */
export const MAX_GLUED_LETTERS = 16;

/**
 * Shorter identifier-shaped tokens inside `token` that begin inside its leading letter run and/or
 * end inside its trailing letter run, fewest letters cut first. Empty when the token has no such
 * run (e.g. "4471-B" cut to "4471" is not an identifier, so nothing).
 */
export function gluedVariants(token: string): string[] {
  const lead = /^[A-Za-z]+/.exec(token)?.[0].length ?? 0;
  const trail = /[A-Za-z]+$/.exec(token)?.[0].length ?? 0;
  if (lead === token.length) return []; // all letters: no identifier inside
  const maxFront = Math.min(lead, MAX_GLUED_LETTERS);
  const maxBack = Math.min(trail, MAX_GLUED_LETTERS);
  const out: { text: string; cut: number }[] = [];
  const seen = new Set<string>([normalizeIdentifier(token)]);
  for (let front = 0; front <= maxFront; front++) {
    for (let back = 0; back <= maxBack; back++) {
      if (front === 0 && back === 0) continue;
      const text = token.slice(front, token.length - back).replace(/^[-/._]+|[-/._]+$/g, '');
      const key = normalizeIdentifier(text);
      if (seen.has(key) || !isIdentifier(text)) continue;
      seen.add(key);
      out.push({ text, cut: front + back });
    }
  }
  return out.sort((a, b) => a.cut - b.cut).map((v) => v.text);
}

/** Every variant of every read identifier: what to look up in the knowledge base. */
export function gluedCandidates(identifiers: readonly string[]): string[] {
  return [...new Set(identifiers.flatMap(gluedVariants))];
}

/**
 * The read identifiers plus, after each one, its longest variant the knowledge base holds, unless
 * the knowledge base holds the read token itself as an identifier in its own right. `targets`:
 * the normalised identifiers each page, photo or label carries. A target carrying the read token
 * together with one of its variants (a photo of the same plate, stored with its resolution) is a
 * glued reading, not a distinct identifier, so it does not stop the resolution. Read identifiers
 * are kept as read.
 */
export function resolveGluedIdentifiers(identifiers: readonly string[], targets: ReadonlyArray<ReadonlySet<string>>): string[] {
  const out: string[] = [];
  const keys = new Set<string>();
  const add = (id: string) => {
    const key = normalizeIdentifier(id);
    if (keys.has(key)) return;
    keys.add(key);
    out.push(id);
  };
  for (const id of identifiers) {
    add(id);
    const variants = gluedVariants(id);
    if (variants.length === 0) continue;
    const key = normalizeIdentifier(id);
    const variantKeys = variants.map(normalizeIdentifier);
    if (targets.some((t) => t.has(key) && !variantKeys.some((k) => t.has(k)))) continue;
    const variant = variants.find((_, i) => targets.some((t) => t.has(variantKeys[i]!)));
    if (variant) add(variant);
  }
  return out;
}

/** Normalised identifiers of a text (e.g. a label or a store's matchedText). */
export function identifierKeys(text: string): Set<string> {
  return new Set(extractIdentifiers(text).map(normalizeIdentifier));
}

/**
 * What was read, with its glued identifiers resolved against what a knowledge base holds (one
 * identifier lookup, only when a read token has a glued letter run; search and ingestPhoto use
 * it). Known = carried by one of the LOOKUP_TARGETS targets holding most of the lookup's keys.
 */
export async function resolveGluedInStore(read: ReadTextResult, store: Pick<KnowledgeStore, 'searchIdentifiers'>, filter?: SearchFilter): Promise<ReadTextResult> {
  const variants = gluedCandidates(read.identifiers);
  if (variants.length === 0) return read;
  const held = await store.searchIdentifiers([...read.identifiers, ...variants], LOOKUP_TARGETS, filter);
  const identifiers = resolveGluedIdentifiers(read.identifiers, held.map((c) => identifierKeys(c.matchedText ?? '')));
  return identifiers.length === read.identifiers.length ? read : { ...read, identifiers };
}
