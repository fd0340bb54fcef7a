/**
 * `topLevelFieldsOf` (src/server/operation-fields.ts) remembers its answer per document and
 * operation node: the answer must follow the node asked about, never an earlier one, and a caller
 * changing the list it got must not change the next caller's.
 */
import { parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { topLevelFieldsOf } from '../../src/server/operation-fields.js';

const operations = (query: string) => {
  const document = parse(query);
  return { document, ops: document.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition') };
};

describe('topLevelFieldsOf, remembered per document', () => {
  it('answers each operation of a document with its own fields, through fragments', () => {
    const { document, ops } = operations('query A { health { status } ...F } query B { search(text: "x") { id } } fragment F on Query { embedText(texts: ["a"]) { dim } }');
    expect(topLevelFieldsOf(document, ops[0]!)).toEqual(['health', 'embedText']);
    expect(topLevelFieldsOf(document, ops[1]!)).toEqual(['search']);
    expect(topLevelFieldsOf(document, ops[0]!)).toEqual(['health', 'embedText']);
  });

  it('answers a new document anew, even with the same text shape', () => {
    const first = operations('{ health { status } }');
    const second = operations('{ ingestDocument }');
    expect(topLevelFieldsOf(first.document, first.ops[0]!)).toEqual(['health']);
    expect(topLevelFieldsOf(second.document, second.ops[0]!)).toEqual(['ingestDocument']);
  });

  it('hands out a copy: changing it does not change the next answer', () => {
    const { document, ops } = operations('{ b a }');
    const fields = topLevelFieldsOf(document, ops[0]!);
    fields.sort();
    fields.push('injected');
    expect(topLevelFieldsOf(document, ops[0]!)).toEqual(['b', 'a']);
  });
});
