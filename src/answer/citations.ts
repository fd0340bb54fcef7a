/**
 * Checking an answer's citations against the sources actually given, and making model output
 * safe to show as plain text. Pure functions.
 */

export interface CitationCheck {
  /** The text with invalid markers removed and markup flattened. */
  text: string;
  /** Valid source numbers in order of first use. */
  cited: number[];
  warnings: string[];
}

// [1], [1][2], [1, 3], [1,2,3]
const MARKER = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

/** Markdown links/images, emphasis and HTML flattened to plain text (no markup passes through). */
export function toPlainText(text: string): string {
  return text
    .replace(/<\s*(script|style)[^>]*>[\s\S]*?<\s*\/\s*\1\s*>/gi, '')
    .replace(/<\s*br\s*\/?>/gi, '\n')
    .replace(/<[^>]{0,500}>/g, '')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\((?:[^)\s]+)(?:\s+"[^"]*")?\)/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?!\w)/g, '$1$2')
    .replace(/^#{1,6}\s+/gm, '')
    .replace(/&(lt|gt|amp|quot|#39);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'" })[e] ?? '')
    .replace(/[ \t]+\n/g, '\n')
    .trim();
}

/** Keeps markers that point at one of `sourceCount` sources, removes the rest with a warning each. */
export function checkCitations(rawText: string, sourceCount: number): CitationCheck {
  const warnings: string[] = [];
  const cited: number[] = [];
  const plain = toPlainText(rawText);
  const text = plain
    .replace(MARKER, (_match, list: string) => {
      const numbers = list.split(',').map((n) => Number.parseInt(n.trim(), 10));
      const valid = numbers.filter((n) => n >= 1 && n <= sourceCount);
      for (const n of numbers) {
        if (n < 1 || n > sourceCount) warnings.push(`Removed citation [${n}]: there is no source ${n} (the answer had ${sourceCount} sources).`);
        else if (!cited.includes(n)) cited.push(n);
      }
      return valid.map((n) => `[${n}]`).join('');
    })
    .replace(/ +([.,;:])/g, '$1')
    .replace(/ {2,}/g, ' ')
    .trim();
  return { text, cited, warnings };
}
