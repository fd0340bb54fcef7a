/**
 * Unicode normalised once, the same way wherever text becomes an identifier, a stored field, a
 * search query or part of a prompt (issue 17, item 17). Pure.
 *
 * - NFKC: fullwidth and compatibility forms fold to their plain spelling ("ＺＷ－７７" → "ZW-77",
 *   the "ﬁ" ligature of PDF text → "fi").
 * - Format characters (Unicode category Cf: zero-width space/joiners, bidi embeddings/overrides/
 *   isolates, soft hyphen, BOM) are removed: invisible, they only stop "ZW\u200b-77" matching
 *   "ZW-77" or make a title read differently from how it is stored. Emoji sequences lose their
 *   zero-width joiners; an acceptable cost for a parts catalogue.
 * - Control characters other than tab, newline, carriage return and form feed are removed.
 * - A lone surrogate (half of a UTF-16 pair, which UTF-8 cannot encode) becomes U+FFFD, the
 *   character SQLite and JSON encoders would have stored anyway: what a client is shown is then
 *   exactly what is stored, instead of an echo that differs from the record.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const INVISIBLE = /[\p{Cf}\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]/gu;

export function normalizeText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').normalize('NFKC').replace(INVISIBLE, '');
}

/** The first `max` UTF-16 units, without cutting a surrogate pair in half (which would make a lone surrogate). */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Every string in a JSON value (object keys included) normalised; the shape is unchanged. */
export function normalizeJsonStrings<T>(value: T): T {
  if (typeof value === 'string') return normalizeText(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => normalizeJsonStrings(v)) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[normalizeText(k)] = normalizeJsonStrings(v);
    return out as T;
  }
  return value;
}
