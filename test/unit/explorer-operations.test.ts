import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse, validate } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import { ALL_OPERATIONS } from '../../console/src/operations.js';
import { explorerOperations, jsonForHtml, renderExplorerPage } from '../../src/server/explorer-operations.js';
import { loadTypeDefs } from '../../src/graphql/schema.js';

const schema = makeExecutableSchema({ typeDefs: loadTypeDefs() });

describe('explorer operations (built from the schema, no introspection)', () => {
  const ops = explorerOperations(schema);

  it('has one valid operation per root field, subscriptions included', () => {
    const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((t) => Object.keys(t?.getFields() ?? {}));
    expect(ops.map((o) => o.field).sort()).toEqual([...roots].sort());
    expect(ops.find((o) => o.field === 'askStream')?.kind).toBe('subscription');
    for (const op of ops) expect(validate(schema, parse(op.document)), `${op.field}:\n${op.document}`).toEqual([]);
  });

  it('selects real fields (not only __typename), leaves scalars bare, and names the file variable as the operation does', () => {
    const byField = new Map(ops.map((o) => [o.field, o]));
    expect(byField.get('search')!.document).toMatch(/hits \{[\s\S]*thumbnailUrl[\s\S]*snippet/);
    expect(byField.get('deleteDocument')!.document).toBe('mutation DeleteDocument($id: ID!) {\n  deleteDocument(id: $id)\n}\n');
    expect(byField.get('askStream')!.document).toMatch(/\.\.\. on AnswerDelta \{\s+text\s+\}/);
    expect(byField.get('ingestDocument')!.args.find((a) => a.isUpload)?.name).toBe('file');
    expect(byField.get('identifyPart')!.args.find((a) => a.isUpload)?.name).toBe('image');
    expect(byField.get('embedText')!.variables).toEqual({ texts: ['pump seal'] });
  });

  it('puts the operations and the SDL into the page as inert JSON', () => {
    const page = renderExplorerPage('<body><!--EXPLORER-DATA--><script>x</script></body>', schema);
    const json = /<script type="application\/json" id="explorer-data">([\s\S]*?)<\/script>/.exec(page)![1]!;
    const data = JSON.parse(json) as { operations: unknown[]; sdl: string };
    expect(data.operations).toHaveLength(ops.length);
    expect(data.sdl).toContain('type Subscription');
    expect(jsonForHtml({ a: '</script><b>&' })).toBe('{"a":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}');
    expect(() => renderExplorerPage('<body></body>', schema)).toThrow(/EXPLORER-DATA/);
  });

  it('every operation the console sends is valid against the schema', () => {
    for (const doc of ALL_OPERATIONS) expect(validate(schema, parse(doc)), doc).toEqual([]);
  });
});
