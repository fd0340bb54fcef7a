/**
 * The extractive caption (no language model): the photo's best zero-shot tag, the identifiers
 * read on it, and the knowledge-base source it matches. The identifier the source carries is
 * named first, since that is the part's own (a plate also shows serials that no source holds).
 * Pure.
 */
import { extractIdentifiers, normalizeIdentifier } from '../search/identifiers.js';

/** Most identifiers a caption names. */
const MAX_NAMED = 3;

export function extractiveCaption(tag: string | null, best: { label: string; text: string } | null, readIdentifiers: readonly string[]): string {
  const what = tag ? `A photo of ${/^[aeiou]/i.test(tag) ? 'an' : 'a'} ${tag}` : 'A photo';
  const inSource = new Set(best ? extractIdentifiers(`${best.label}\n${best.text}`).map(normalizeIdentifier) : []);
  const ordered = [...readIdentifiers.filter((id) => inSource.has(normalizeIdentifier(id))), ...readIdentifiers.filter((id) => !inSource.has(normalizeIdentifier(id)))];
  const reading = ordered.length > 0 ? ` reading ${ordered.slice(0, MAX_NAMED).join(', ')}` : '';
  return best ? `${what}${reading}, matching ${best.label} [1].` : `${what}${reading}.`;
}
