/**
 * The parsed-document cache (src/graphql/document-cache.ts) that the token limit, the deadline
 * middleware and graphql-ws share: keyed by the exact query text (a changed text is parsed anew,
 * never served an older parse), bounded in entries and characters, least recently used first out.
 */
import { describe, expect, it } from 'vitest';
import { DocumentCache, type ParsedQuery } from '../../src/graphql/document-cache.js';
import { operationBudgetMs } from '../../src/server/hardening.js';
import { rootFieldsOf } from '../../src/server/operation-fields.js';

const fieldsOf = (parsed: ParsedQuery) => (parsed.kind === 'document' ? rootFieldsOf(parsed.document, undefined) : parsed.kind);

describe('DocumentCache', () => {
  it('parses a text once and answers the same text from the cache', () => {
    const cache = new DocumentCache({ maxTokens: 100 });
    const a = cache.get('{ health { status } }');
    const b = cache.get('{ health { status } }');
    expect(fieldsOf(a)).toEqual(['health']);
    expect(b).toBe(a);
    expect(cache.stats()).toMatchObject({ entries: 1, hits: 1, misses: 1 });
  });

  it('never serves a stale parse for a changed text, even one character apart', () => {
    const cache = new DocumentCache({ maxTokens: 100 });
    expect(fieldsOf(cache.get('{ health { status } }'))).toEqual(['health']);
    expect(fieldsOf(cache.get('{ healtH { status } }'))).toEqual(['healtH']);
    expect(fieldsOf(cache.get('{ health { status } } '))).toEqual(['health']);
    expect(cache.stats()).toMatchObject({ entries: 3, misses: 3, hits: 0 });
    // What the deadline middleware does with it: the override follows the text, not the cache.
    const budget = (q: string) => {
      const parsed = cache.get(q);
      return parsed.kind === 'document' ? operationBudgetMs(parsed.document, undefined, { defaultMs: 1000, overrides: { ingestDocument: 9000 } }) : -1;
    };
    expect(budget('mutation { ingestDocument }')).toBe(9000);
    expect(budget('mutation { ingestDocumenT }')).toBe(1000);
    expect(budget('mutation { ingestDocument }')).toBe(9000);
  });

  it('keeps the token limit and syntax errors as answers too', () => {
    const cache = new DocumentCache({ maxTokens: 5 });
    expect(cache.get('{ a b c d e f g }').kind).toBe('too-many-tokens');
    const broken = cache.get('{ health ');
    expect(broken.kind).toBe('syntax-error');
    expect(broken.kind === 'syntax-error' && broken.error.message).toMatch(/Syntax Error/);
    expect(cache.get('{ a b c }').kind).toBe('document');
  });

  it('holds at most maxEntries texts, dropping the least recently used', () => {
    const cache = new DocumentCache({ maxTokens: 100, maxEntries: 3 });
    for (const f of ['a', 'b', 'c']) cache.get(`{ ${f} }`);
    cache.get('{ a }'); // a is now the most recent: b is the eldest
    cache.get('{ d }');
    expect(cache.stats().entries).toBe(3);
    const before = cache.stats().misses;
    cache.get('{ a }');
    cache.get('{ c }');
    cache.get('{ d }');
    expect(cache.stats().misses).toBe(before); // all three still held
    cache.get('{ b }');
    expect(cache.stats().misses).toBe(before + 1); // b was dropped
    for (let i = 0; i < 1000; i++) cache.get(`{ f${i} }`);
    expect(cache.stats().entries).toBe(3);
  });

  it('holds at most maxChars characters of text, and does not keep one text longer than an eighth of it', () => {
    const cache = new DocumentCache({ maxTokens: 10_000, maxEntries: 1000, maxChars: 800 });
    const text = (i: number) => `{ f${String(i).padStart(3, '0')} ${'x '.repeat(40)}}`; // 91 characters
    for (let i = 0; i < 100; i++) cache.get(text(i));
    expect(cache.stats().chars).toBeLessThanOrEqual(800);
    expect(cache.stats().entries).toBe(Math.floor(800 / text(0).length));
    const long = `{ long(note: "${'y'.repeat(120)}") }`;
    expect(long.length).toBeGreaterThan(100);
    expect(fieldsOf(cache.get(long))).toEqual(['long']);
    expect(fieldsOf(cache.get(long))).toEqual(['long']);
    expect(cache.stats().hits).toBe(0); // answered both times, kept neither
  });

  it('refuses bounds that are not positive integers', () => {
    expect(() => new DocumentCache({ maxTokens: 0 })).toThrow(RangeError);
    expect(() => new DocumentCache({ maxTokens: 10, maxEntries: 1.5 })).toThrow(RangeError);
  });
});
