/** The beginning of an over-long question that `ask` searches with (src/answer/answer-service.ts). */
import { describe, expect, it } from 'vitest';
import { leadingWords } from '../../src/answer/answer-service.js';

describe('leadingWords', () => {
  it('keeps a text within the limit as it is', () => {
    expect(leadingWords('replace the seal', 16)).toBe('replace the seal');
  });

  it('cuts at the last space near the limit, never inside a word', () => {
    const text = 'alpha beta gamma delta epsilon zeta eta theta';
    const cut = leadingWords(text, 40);
    expect(cut.length).toBeLessThanOrEqual(40);
    expect(text.startsWith(cut)).toBe(true);
    expect(cut).toBe('alpha beta gamma delta epsilon zeta eta');
  });

  it('cuts at the limit itself when there is no space near it (one long token)', () => {
    expect(leadingWords('a ' + 'x'.repeat(100), 50)).toHaveLength(50);
  });
});
