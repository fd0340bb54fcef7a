/**
 * Issue 17 item 3 over WebSocket: the transport's AbortSignal reaches the resolvers and is aborted
 * at the deadline (the client gets TIMEOUT at once), when the client completes a subscription, and
 * when the socket closes. The real transport (ws-transport.ts) on a real HTTP server, with a toy
 * schema whose resolvers wait for the signal and record it.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { OPEN_PRINCIPAL } from '../../src/auth/api-keys.js';
import type { GraphQLContext, Services } from '../../src/graphql/context.js';
import { makeFormatError } from '../../src/server/format-error.js';
import { graphqlArmorPlugins } from '../../src/server/hardening.js';
import { guardSchema } from '../../src/server/operation-guard.js';
import { attachWebSocketTransport } from '../../src/server/ws-transport.js';
import { wsClient } from '../helpers/ws.js';

const aborted: { field: string; reason: string }[] = [];
const started: string[] = [];
const waitForAbort = (field: string, signal: AbortSignal) =>
  new Promise<never>((_resolve, reject) => {
    started.push(field);
    signal.addEventListener('abort', () => {
      aborted.push({ field, reason: signal.reason instanceof Error ? signal.reason.message : String(signal.reason) });
      reject(signal.reason);
    });
  });

// Field names from the permission table, so the guarded schema knows them.
const schema = guardSchema(
  makeExecutableSchema({
    typeDefs: 'type Query { search: String, me: String } type Mutation { deleteDocument: String } type Subscription { askStream: String }',
    resolvers: {
      Mutation: {
        deleteDocument: (_p: unknown, _a: unknown, ctx: GraphQLContext) => waitForAbort('deleteDocument', ctx.signal),
      },
      Query: {
        search: (_p: unknown, _a: unknown, ctx: GraphQLContext) => waitForAbort('search', ctx.signal),
        me: () => 'me',
      },
      Subscription: {
        askStream: {
          subscribe: async function* (_p: unknown, _a: unknown, ctx: GraphQLContext) {
            yield { askStream: 'first' };
            await waitForAbort('askStream', ctx.signal);
          },
        },
      },
    },
  }),
);

describe('the WebSocket transport aborts the operation signal', () => {
  let httpServer: Server;
  let url: string;
  let transport: { dispose(): Promise<void> };
  const audit = new SqliteAuditStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-wsdeadline-')), 'audit.db'));

  beforeAll(async () => {
    await audit.init();
    httpServer = createServer();
    const logger = pino({ level: 'silent' });
    transport = attachWebSocketTransport({
      schema,
      httpServer,
      maxPayloadBytes: 65_536,
      registry: null,
      armor: graphqlArmorPlugins<GraphQLContext>(),
      introspection: false,
      testModel: false,
      deadlines: { defaultMs: 150 },
      formatError: makeFormatError(logger),
      audit,
      servicesFor: async () => ({}) as Services,
      contextFor: (principal, services, scope) => ({ principal, services, ...scope, actor: principal.keyName, logger, limits: { maxUploadBytes: 1, maxDocumentBytes: 1, maxImagesBytes: 1 }, fileUrl: (k) => k }),
      logger,
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await transport.dispose();
    await new Promise<void>((r) => httpServer.close(() => r()));
    await audit.close();
  });

  it('at the deadline: TIMEOUT to the client at once, and the resolver is told', async () => {
    aborted.length = 0;
    const client = wsClient(url, null);
    const started = performance.now();
    const res = await client.run('{ search }');
    expect(res.code).toBe('TIMEOUT');
    expect(performance.now() - started).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 20));
    expect(aborted).toEqual([{ field: 'search', reason: expect.stringMatching(/did not finish within/) }]);
    await client.dispose();
  });

  it('when the client completes a subscription, and when the socket closes', async () => {
    aborted.length = 0;
    const client = wsClient(url, null);
    await new Promise<void>((resolve) => {
      const unsubscribe = client.client.subscribe({ query: 'subscription { askStream }' }, { next: () => { unsubscribe(); resolve(); }, error: () => undefined, complete: () => undefined });
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(aborted.map((a) => a.field)).toEqual(['askStream']);

    started.length = 0;
    const closing = wsClient(url, null);
    void closing.run('{ search }');
    // Closed once the resolver runs (a fixed wait was too short on a loaded machine).
    await expect.poll(() => started).toEqual(['search']);
    await closing.dispose();
    await expect.poll(() => aborted.map((a) => a.field)).toEqual(['askStream', 'search']);
    expect(aborted[1]!.reason).toMatch(/closed the WebSocket/);
    await client.dispose();
    // Both were audited with the principal of the open server.
    expect((await audit.list({ tenant: OPEN_PRINCIPAL.tenant, first: 10 })).items.map((e) => e.operation)).toEqual(expect.arrayContaining(['search', 'askStream']));
  });

  it('audits an operation cut off by the deadline or by the socket closing once, saying so (not "ok")', async () => {
    const outcomesOf = async (operation: string) =>
      (await audit.list({ tenant: OPEN_PRINCIPAL.tenant, first: 100 })).items.filter((e) => e.operation === operation).map((e) => e.outcome);
    // The deadline (150 ms): the client is answered TIMEOUT, and so says the audit.
    const client = wsClient(url, null);
    expect((await client.run('mutation { deleteDocument }')).code).toBe('TIMEOUT');
    await expect.poll(() => outcomesOf('deleteDocument')).toEqual(['TIMEOUT']);
    await client.dispose();

    // The client leaves while the mutation runs: nobody is answered, and the entry says why it ended.
    started.length = 0;
    const closing = wsClient(url, null);
    void closing.run('mutation { deleteDocument }');
    await expect.poll(() => started).toEqual(['deleteDocument']);
    await closing.dispose();
    await expect.poll(() => outcomesOf('deleteDocument')).toHaveLength(2);
    // Time for a second entry of the same operation, were one coming.
    await new Promise((r) => setTimeout(r, 200));
    expect(await outcomesOf('deleteDocument')).toEqual(['CLIENT_CLOSED_REQUEST', 'TIMEOUT']);
  });
});
