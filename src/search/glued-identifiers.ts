/**
 * Identifiers that OCR glued to a neighbouring word. A recogniser reads a nameplate line by line
 * and often drops the spaces on a blurred line: "TYPE P-200 PUMP" comes back as "TYPEP-200PUMP",
 * "COMPRESSOR AC-50" as "COMPRESSORAC-50", and the identifier rules (identifiers.ts) then see
 * one long token, not P-200 or AC-50.
 *
 * The word boundary that was lost lies somewhere inside the token's leading or trailing run of
 * letters, and nothing in the characters says where. So we do not guess: `gluedVariants` lists
 * every shorter identifier-shaped token that starts/ends inside those runs, and
 * `resolveGluedIdentifiers` keeps, per read token the knowledge base does not hold, only the
 * longest variant it does hold (the fewest letters cut). A variant therefore never invents an
 * identifier: it can only name one the tenant's knowledge base (or label set) already carries.
 * Only for READ text: a typed query has its spaces.
 */
import { extractIdentifiers, isIdentifier, normalizeIdentifier } from './identifiers.js';

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
 * The read identifiers plus, after each one the knowledge base does not hold, its longest variant
 * that it does hold (`known` takes a normalised identifier). Read identifiers are kept as read.
 */
export function resolveGluedIdentifiers(identifiers: readonly string[], known: (key: string) => boolean): string[] {
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
    if (known(normalizeIdentifier(id))) continue;
    const variant = gluedVariants(id).find((v) => known(normalizeIdentifier(v)));
    if (variant) add(variant);
  }
  return out;
}

/** Normalised identifiers of a text (e.g. a label or a store's matchedText). */
export function identifierKeys(text: string): Set<string> {
  return new Set(extractIdentifiers(text).map(normalizeIdentifier));
}
