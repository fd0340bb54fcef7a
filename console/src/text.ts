/**
 * Pure helpers of the console (no DOM, no network): turning API errors into sentences, splitting
 * an answer at its [n] citation markers, and marking query words in snippets. Tested in Node with plain values (test/unit/console-text.test.ts).
 */

export interface ApiErrorShape {
  message: string;
  extensions?: { code?: unknown; [key: string]: unknown };
}

/** What the console calls each operation when it says what was refused. */
const ACTIONS: Record<string, string> = {
  ingestDocument: 'add documents',
  ingestPhoto: 'add photos',
  deleteDocument: 'delete documents',
  deletePhoto: 'delete photos',
  reviewQueue: 'see the review queue',
  claimReview: 'claim review items',
  resolveReview: 'resolve review items',
  auditLog: 'read the audit log',
};

/** One sentence for a user, from the first GraphQL error (or an HTTP status when there is none). */
export function errorSentence(errors: readonly ApiErrorShape[] | undefined, status?: number): string {
  const first = errors?.[0];
  const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : undefined;
  const message = first?.message?.trim() ?? '';
  switch (code) {
    case 'UNAUTHENTICATED':
      return 'The server did not accept this API key. Check the key and sign in again.';
    case 'FORBIDDEN': {
      const m = /role "([^"]+)" may not call (.+)\.$/.exec(message);
      if (m) {
        const actions = m[2]!.split(', ').map((f) => ACTIONS[f] ?? `use ${f}`);
        return `Your key's role (${m[1]}) is not allowed to ${[...new Set(actions)].join(' or ')}. Ask an administrator if you need to.`;
      }
      return message ? sentence(message) : 'Your key is not allowed to do this.';
    }
    case 'RATE_LIMITED':
      return 'Too many requests from this key just now. Wait a few seconds and try again.';
    case 'PAYLOAD_TOO_LARGE':
      return `The file is too large. ${sentence(message)}`.trim();
    case 'TIMEOUT':
      return 'The server took too long to answer. Try again, or ask a shorter question.';
    case 'UNAVAILABLE':
      return message ? sentence(message) : 'The server cannot serve this right now. Try again in a minute.';
    case 'INTERNAL_SERVER_ERROR':
      return 'Something went wrong on the server. Try again; if it keeps happening, tell an administrator.';
    default:
      break;
  }
  if (message) return sentence(message);
  if (status === 0 || status === undefined) return 'The server could not be reached. Check the connection and try again.';
  return `The server answered with an error (HTTP ${status}).`;
}

/** Starts with a capital and ends with a full stop. */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export type AnswerPart = { kind: 'text'; text: string } | { kind: 'cite'; marker: number };

/** The answer's text with its [n] markers (also [1, 2] and [1][2]) as separate parts. */
export function splitCitations(text: string): AnswerPart[] {
  const parts: AnswerPart[] = [];
  let last = 0;
  for (const m of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
    if (m.index > last) parts.push({ kind: 'text', text: text.slice(last, m.index) });
    for (const n of m[1]!.split(',')) parts.push({ kind: 'cite', marker: Number(n.trim()) });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

const STOPWORDS = new Set(['the', 'and', 'for', 'with', 'what', 'how', 'does', 'this', 'that', 'from', 'are', 'was', 'which', 'when', 'where', 'who', 'why', 'can', 'should', 'into', 'its', 'you', 'your', 'there', 'their', 'have', 'has', 'not']);

/** The words of a query worth marking in a snippet: three letters or more, no common words, no repeats. */
export function queryTerms(...texts: (string | null | undefined)[]): string[] {
  const terms = new Set<string>();
  for (const text of texts) {
    for (const w of (text ?? '').toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}\-_/.]*[\p{L}\p{N}]|[\p{L}\p{N}]/gu) ?? []) {
      if (w.length >= 3 && !STOPWORDS.has(w)) terms.add(w);
    }
  }
  return [...terms];
}

export interface Marked {
  text: string;
  match: boolean;
}

/** The snippet cut where query terms occur (case-insensitive, whole-word starts), for <mark>. */
export function highlight(snippet: string, terms: readonly string[]): Marked[] {
  if (terms.length === 0 || !snippet) return snippet ? [{ text: snippet, match: false }] : [];
  const escaped = [...terms].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join('|')})`, 'giu');
  const out: Marked[] = [];
  let last = 0;
  for (const m of snippet.matchAll(re)) {
    if (m.index > last) out.push({ text: snippet.slice(last, m.index), match: false });
    out.push({ text: m[0], match: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) out.push({ text: snippet.slice(last), match: false });
  return out;
}

/** A 0..1 score as a whole percentage. */
export function percent(score: number | null | undefined): string {
  return score === null || score === undefined || !Number.isFinite(score) ? '–' : `${Math.round(score * 100)} %`;
}

/** Bytes as a short human size. */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
