import { makeExecutableSchema } from '@graphql-tools/schema';
import { execute, getOperationAST, parse, subscribe } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/api-keys.js';
import { guardSchema, newOperationTrace, refuseForbidden } from '../../src/server/operation-guard.js';


// A toy schema whose field names match the permission table (auditLog is admin-only, me is anyone's).
const schema = guardSchema(
  makeExecutableSchema({
    typeDefs: `
      type Document { id: ID! title: String }
      type Query { me: String, auditLog: String, documents: [Document!]! }
      type Subscription { askStream: String }`,
    resolvers: {
      Query: { me: () => 'me', auditLog: () => 'secret', documents: () => [{ id: 'd1', title: 'T' }, { id: 'd2', title: 'U' }] },
      Subscription: {
        askStream: {
          subscribe: async function* () {
            yield { askStream: 'x' };
          },
        },
      },
    },
  }),
);
const tech: Principal = { keyName: 'tina', role: 'technician', tenant: 'acme' };

describe('the guarded schema (every executor, not only Apollo)', () => {
  it('refuses a forbidden root field when a transport skipped the operation check', async () => {
    const trace = newOperationTrace();
    const result = await execute({ schema, document: parse('{ me auditLog }'), contextValue: { principal: tech, trace } });
    expect(result.data).toEqual({ me: 'me', auditLog: null });
    expect(result.errors?.[0]?.originalError).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses every root field when the context names no caller (fails closed)', async () => {
    const result = await execute({ schema, document: parse('{ me }'), contextValue: {} });
    expect(result.errors?.[0]?.originalError).toMatchObject({ code: 'FORBIDDEN' });
    const stream = await subscribe({ schema, document: parse('subscription { askStream }'), contextValue: {} });
    expect('errors' in stream && stream.errors?.[0]?.originalError).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('notes the ids of the documents an operation returns', async () => {
    const trace = newOperationTrace();
    await execute({ schema, document: parse('{ documents { title } }'), contextValue: { principal: tech, trace } });
    expect([...trace.documentIds]).toEqual(['d1', 'd2']);
  });

  it('refuses the whole operation before execution when one field is forbidden, through fragments', () => {
    const document = parse('query { ...F } fragment F on Query { me auditLog }');
    expect(refuseForbidden(tech, document, getOperationAST(document)!)).toMatchObject({ code: 'FORBIDDEN' });
    expect(refuseForbidden({ ...tech, role: 'admin' }, document, getOperationAST(document)!)).toBeNull();
  });
});
