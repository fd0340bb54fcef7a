import { describe, expect, it } from 'vitest';
import { errorSentence, highlight, queryTerms, sentence, splitCitations } from '../../console/src/text.js';

describe('console text helpers (pure)', () => {
  it('words API errors as sentences for people, never as JSON', () => {
    expect(errorSentence([{ message: 'Missing or malformed key', extensions: { code: 'UNAUTHENTICATED' } }], 401)).toBe('The server did not accept this API key. Check the key and sign in again.');
    expect(errorSentence([{ message: 'The role "technician" may not call ingestDocument.', extensions: { code: 'FORBIDDEN' } }], 403)).toBe(
      "Your key's role (technician) is not allowed to add documents. Ask an administrator if you need to.",
    );
    expect(errorSentence([{ message: 'The role "agent" may not call deleteDocument, auditLog.', extensions: { code: 'FORBIDDEN' } }], 403)).toContain('delete documents or read the audit log');
    expect(errorSentence([{ message: 'the file type is not supported', extensions: { code: 'UNSUPPORTED_TYPE' } }], 200)).toBe('The file type is not supported.');
    expect(errorSentence([{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }], 500)).toMatch(/^Something went wrong on the server/);
    expect(errorSentence(undefined, 0)).toBe('The server could not be reached. Check the connection and try again.');
    expect(errorSentence(undefined, 502)).toBe('The server answered with an error (HTTP 502).');
    expect(sentence('  already ends!  ')).toBe('Already ends!');
  });

  it('splits an answer at its citation markers, including [1, 2] and [1][2]', () => {
    expect(splitCitations('Torque to 25 Nm [1]. Use kit 4471-B [2, 3][4]')).toEqual([
      { kind: 'text', text: 'Torque to 25 Nm ' },
      { kind: 'cite', marker: 1 },
      { kind: 'text', text: '. Use kit 4471-B ' },
      { kind: 'cite', marker: 2 },
      { kind: 'cite', marker: 3 },
      { kind: 'cite', marker: 4 },
    ]);
    expect(splitCitations('No markers [x] here')).toEqual([{ kind: 'text', text: 'No markers [x] here' }]);
  });

  it('marks the query words in a snippet at word starts, case-insensitively', () => {
    const terms = queryTerms('How do I replace the SEAL?', null);
    expect(terms).toEqual(['replace', 'seal']);
    expect(highlight('Replace the seal; sealant is not a reseal.', terms)).toEqual([
      { text: 'Replace', match: true },
      { text: ' the ', match: false },
      { text: 'seal', match: true },
      { text: '; ', match: false },
      { text: 'seal', match: true },
      { text: 'ant is not a reseal.', match: false },
    ]);
    expect(highlight('a (b) [c]', queryTerms('(b)'))).toEqual([{ text: 'a (b) [c]', match: false }]);
    expect(highlight('part 4471-B fits', queryTerms('4471-b'))).toEqual([
      { text: 'part ', match: false },
      { text: '4471-B', match: true },
      { text: ' fits', match: false },
    ]);
  });
});
