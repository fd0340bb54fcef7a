/**
 * Numbered sources: what the model (or the extractive answerer) may cite, built from search hits.
 */
import type { SearchHitView } from '../search/search-service.js';

export interface Source {
  /** 1-based: the [n] that cites it. */
  marker: number;
  hit: SearchHitView;
  /** "P-200 Pump Manual, p. 3" or "Photo: Ball valve BV-50". */
  label: string;
  /** The text the answer may draw on (page text, or the photo's caption). */
  text: string;
}

export function toSources(hits: readonly SearchHitView[], maxChars = 2000): Source[] {
  return hits.map((hit, i) => {
    const label = hit.photo
      ? `Photo: ${hit.photo.caption ?? 'untitled photo'}`
      : `${hit.document?.title ?? 'Untitled document'}${hit.page ? `, p. ${hit.page.number}` : ''}`;
    const body = hit.photo ? (hit.photo.caption ?? '') : (hit.page?.text ?? hit.snippet ?? '');
    return { marker: i + 1, hit, label, text: body.length > maxChars ? `${body.slice(0, maxChars)}…` : body };
  });
}
