/**
 * Parsed GraphQL documents by query text, bounded (LRU), as Apollo keeps its own document store.
 *
 * Why: before Apollo runs, every HTTP request goes through the token limit (a lexer pass) and the
 * deadline middleware (a parse, to find the root fields); graphql-ws does both again for its own
 * messages. Clients send the same few query texts over and over, so each text is lexed and parsed
 * once here and the answer reused. The key is the exact query text: any change to it (one
 * character) is a different entry, never a stale parse.
 *
 * What an entry holds: whether the text is over the token limit (then it is never parsed), else the
 * document or the syntax error. Documents are shared between requests and must not be mutated
 * (graphql-js never does).
 *
 * Bounds: at most `maxEntries` texts and `maxChars` characters of query text in all (the parsed
 * trees are a small multiple of that); a text longer than `maxChars / 8` is answered but not kept,
 * so one large query cannot flush everyone else's.
 */
import { GraphQLError, Lexer, parse, Source, TokenKind, type DocumentNode } from 'graphql/index.js';

export type ParsedQuery =
  | { kind: 'too-many-tokens' }
  | { kind: 'document'; document: DocumentNode }
  | { kind: 'syntax-error'; error: GraphQLError };

export interface DocumentCacheOptions {
  /** Most lexical tokens in a document (comments excluded); longer texts are never parsed. */
  maxTokens: number;
  /** Most query texts kept. Default 1000. */
  maxEntries?: number;
  /** Most characters of query text kept in all. Default 2,000,000. */
  maxChars?: number;
}

/**
 * Lexical tokens in a GraphQL document (comments excluded, as graphql-js counts them), stopping at
 * `max + 1`: the cost is bounded by the limit, not by the document. A lexing error ends the count
 * (the parser reports it properly later).
 */
export function countTokens(query: string, max: number = Number.POSITIVE_INFINITY): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  try {
    while (count <= max && lexer.advance().kind !== TokenKind.EOF) count++;
  } catch {
    // Syntax error: not this function's business.
  }
  return count;
}

export class DocumentCache {
  readonly maxTokens: number;
  readonly maxEntries: number;
  readonly maxChars: number;
  /** Insertion order is recency order: a hit is moved to the end, the first key is the eldest. */
  private readonly entries = new Map<string, ParsedQuery>();
  private chars = 0;
  private hitCount = 0;
  private missCount = 0;

  constructor({ maxTokens, maxEntries = 1000, maxChars = 2_000_000 }: DocumentCacheOptions) {
    for (const [name, value] of [['maxTokens', maxTokens], ['maxEntries', maxEntries], ['maxChars', maxChars]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${value}.`);
    }
    this.maxTokens = maxTokens;
    this.maxEntries = maxEntries;
    this.maxChars = maxChars;
  }

  /** What `query` parses to (from the cache when the same text was seen lately). */
  get(query: string): ParsedQuery {
    const cached = this.entries.get(query);
    if (cached) {
      this.hitCount++;
      this.entries.delete(query);
      this.entries.set(query, cached);
      return cached;
    }
    this.missCount++;
    const parsed = this.parseOnce(query);
    if (query.length <= this.maxChars / 8) this.keep(query, parsed);
    return parsed;
  }

  /** Entries and characters held, and lookups answered from the cache or not (for tests and probes). */
  stats(): { entries: number; chars: number; hits: number; misses: number } {
    return { entries: this.entries.size, chars: this.chars, hits: this.hitCount, misses: this.missCount };
  }

  private parseOnce(query: string): ParsedQuery {
    if (countTokens(query, this.maxTokens) > this.maxTokens) return { kind: 'too-many-tokens' };
    try {
      return { kind: 'document', document: parse(query, { maxTokens: this.maxTokens }) };
    } catch (error) {
      if (error instanceof GraphQLError) return { kind: 'syntax-error', error };
      throw error;
    }
  }

  private keep(query: string, parsed: ParsedQuery): void {
    this.entries.set(query, parsed);
    this.chars += query.length;
    for (const [eldest] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(eldest);
      this.chars -= eldest.length;
    }
  }
}
