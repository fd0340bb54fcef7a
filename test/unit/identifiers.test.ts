import { describe, expect, it } from 'vitest';
import { extractIdentifiers, normalizeIdentifier } from '../../src/search/identifiers.js';

describe('identifiers', () => {
  it('finds part numbers, model names and document codes as written', () => {
    expect(extractIdentifiers('Replace the O-ring (part #4471-B) on the P-200 pump per SOP-12, model TC-2.1.')).toEqual(['4471-B', 'P-200', 'SOP-12', 'TC-2.1']);
  });

  it('ignores plain numbers, fractions, units and words', () => {
    expect(extractIdentifiers('Torque to 25 Nm at 150psi, use a 3/8" wrench, 20mm bolts, step 3 of 2024')).toEqual([]);
  });

  it('keeps numeric catalogue numbers with a dash', () => {
    expect(extractIdentifiers('kit 1200-45 fits')).toEqual(['1200-45']);
  });

  it('normalises case and separators so P-200, p200 and P 200 meet', () => {
    expect(normalizeIdentifier('p-200')).toBe('P200');
    expect(normalizeIdentifier('P200')).toBe('P200');
    expect(normalizeIdentifier('4471-b')).toBe(normalizeIdentifier('4471B'));
  });

  it('reports each identifier once', () => {
    expect(extractIdentifiers('P-200, p200 and P-200 again')).toEqual(['P-200']);
  });
});
