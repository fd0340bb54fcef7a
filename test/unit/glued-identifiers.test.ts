/**
 * Identifiers OCR glued to a neighbouring word (src/search/glued-identifiers.ts): the variants
 * listed, and that only a variant the knowledge base holds is ever added.
 */
import { describe, expect, it } from 'vitest';
import { gluedCandidates, gluedVariants, resolveGluedIdentifiers } from '../../src/search/glued-identifiers.js';
import { extractIdentifiers, normalizeIdentifier } from '../../src/search/identifiers.js';
import { identifierConfidences } from '../../src/ocr/read-text-result.js';
import { readPull, resolveGluedForLabels } from '../../src/identify/identify-service.js';

/** A knowledge base of one target per identifier given. */
const knowing = (...ids: string[]) => ids.map((id) => new Set([normalizeIdentifier(id)]));

describe('gluedVariants', () => {
  it('lists identifiers starting or ending inside a glued letter run, fewest letters cut first', () => {
    const variants = gluedVariants('TYPEP-200PUMP');
    expect(variants).toContain('P-200');
    expect(variants).toContain('P-200PUMP');
    expect(variants).toContain('TYPEP-200');
    expect(variants.slice(0, 2).sort()).toEqual(['TYPEP-200PUM', 'YPEP-200PUMP']);
    expect(variants.indexOf('P-200PUMP')).toBeLessThan(variants.indexOf('P-200'));
    expect(gluedVariants('COMPRESSORAC-50')).toContain('AC-50');
    expect(gluedVariants('TYPE4471-B')).toContain('4471-B');
  });

  it('offers nothing that is not identifier-shaped, and nothing for a token without glued letters', () => {
    expect(gluedVariants('4471-B')).toEqual([]); // "4471" is a number
    expect(gluedVariants('55-1234')).toEqual([]);
    expect(gluedVariants('PUMP')).toEqual([]);
    for (const v of gluedVariants('TYPEP-200PUMP')) expect(extractIdentifiers(v)).toEqual([v]);
  });

  it('is not applied to typed text: extraction alone still reads the glued token as one', () => {
    expect(extractIdentifiers('TYPEP-200PUMP')).toEqual(['TYPEP-200PUMP']);
  });
});

describe('resolveGluedIdentifiers', () => {
  it('adds, after a read token the knowledge base lacks, the longest variant it holds', () => {
    expect(resolveGluedIdentifiers(['TYPEP-200PUMP', '55-1234-A'], knowing('P-200', '55-1234-A'))).toEqual(['TYPEP-200PUMP', 'P-200', '55-1234-A']);
    expect(resolveGluedIdentifiers(['COMPRESSORAC-50'], knowing('AC-50', 'C-50'))).toEqual(['COMPRESSORAC-50', 'AC-50']);
  });

  it('adds nothing the knowledge base does not hold (no junk), and nothing when the token itself is known', () => {
    expect(resolveGluedIdentifiers(['TYPEP-200PUMP', 'COMPRESSORAC-50'], knowing('XV-300'))).toEqual(['TYPEP-200PUMP', 'COMPRESSORAC-50']);
    expect(resolveGluedIdentifiers(['XV300'], knowing('XV300', 'V300'))).toEqual(['XV300']);
  });

  it('a target carrying the glued token with its resolution (a stored photo of the plate) does not stop the resolution', () => {
    const photo = new Set(['TYPEP200PUMP', 'P200']);
    expect(resolveGluedIdentifiers(['TYPEP-200PUMP'], [photo, ...knowing('P-200')])).toEqual(['TYPEP-200PUMP', 'P-200']);
    // A target holding the token alone (an identifier in its own right) does.
    expect(resolveGluedIdentifiers(['TYPEP-200PUMP'], [new Set(['TYPEP200PUMP']), ...knowing('P-200')])).toEqual(['TYPEP-200PUMP']);
  });

  it('candidates to look up are every variant once', () => {
    const all = gluedCandidates(['TYPEP-200PUMP', 'TYPEP-200PUMP']);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain('P-200');
  });
});

describe('identifierConfidences', () => {
  it('gives a resolved variant the confidence of the region it was read in', () => {
    const regions = [
      { text: 'TYPEP-200PUMP', confidence: 0.93, box: [0, 0, 1, 0.1] as [number, number, number, number] },
      { text: 'SERIAL 55-1234-A', confidence: 0.7, box: [0, 0.2, 1, 0.1] as [number, number, number, number] },
    ];
    const map = identifierConfidences({ regions, codes: [], identifiers: ['TYPEP-200PUMP', 'P-200', '55-1234-A'] });
    expect(map.get('P200')).toBe(0.93);
    expect(map.get('TYPEP200PUMP')).toBe(0.93);
    expect(map.get('551234A')).toBe(0.7);
  });
});

describe('identifyPart reads glued identifiers against its labels', () => {
  it('a plate read "TYPEP-200PUMP" pulls up the label carrying P-200, and only that one', () => {
    const regions = [{ text: 'TYPEP-200PUMP', confidence: 0.95, box: [0, 0, 1, 0.1] as [number, number, number, number] }];
    const read = { text: 'TYPEP-200PUMP', identifiers: ['TYPEP-200PUMP'], regions, codes: [] };
    const labels = ['XV-300 centrifugal pump', 'P-200 centrifugal pump', 'EP-2000 motor'];
    const resolved = resolveGluedForLabels(read, labels);
    expect(resolved.identifiers).toEqual(['TYPEP-200PUMP', 'P-200']);
    const flat = [0, 0, 0];
    const pulled = readPull(labels, [1, 0, 0.5], flat, resolved);
    expect(pulled.readIdentifiers).toEqual([[], ['P-200'], []]);
    expect(pulled.sure).toEqual([false, true, false]);
    // Without the resolution no label is pulled (the old behaviour).
    expect(readPull(labels, [1, 0, 0.5], flat, read).readIdentifiers).toEqual([[], [], []]);
  });
});
