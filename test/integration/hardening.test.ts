/**
 * Abuse limits over real HTTP and WebSocket, on a small express + Apollo app built with the
 * hardening builders the way app.ts wires them: document limits (depth, aliases, directives,
 * cost, tokens), body limit, per-client rate limits, security headers and operation deadlines.
 * Every refusal has a stable `extensions.code`, and the server stays healthy afterwards.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express, { type ErrorRequestHandler } from 'express';
import { getIntrospectionQuery, type GraphQLError, type GraphQLSchema } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { makeFormatError } from '../../src/server/format-error.js';
import {
  deadlineExecutors,
  graphqlArmorPlugins,
  operationSignalOf,
  operationTimeout,
  rateLimiter,
  securityHeaders,
  type ArmorLimits,
  type OperationTimeoutOptions,
  type RateLimitOptions,
} from '../../src/server/hardening.js';

const MB = 1024 * 1024;
const MAX_BODY = 1 * MB; // MAX_REQUEST_BYTES default
const EXPLORER_HTML = readFileSync(new URL('../../src/server/explorer.html', import.meta.url), 'utf8');

interface ToyContext {
  signal: AbortSignal | undefined;
}

/** Resolvers that noticed their operation was abandoned (via the AbortSignal in the context). */
const abandoned: string[] = [];

function waitFor(ms: number, signal: AbortSignal | undefined, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(`${name} done after ${ms} ms`), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      abandoned.push(name);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });
}

const schema: GraphQLSchema = makeExecutableSchema<ToyContext>({
  typeDefs: /* GraphQL */ `
    type Query {
      hello: String!
      search(text: String, limit: Int): [Hit!]!
      node: Node
      "Waits, but gives up when the operation is abandoned."
      slow(ms: Int!): String!
      "Waits and ignores abandonment: its late response must be dropped quietly."
      stubborn(ms: Int!): String!
    }
    type Mutation {
      ingestDocument(ms: Int!): String!
    }
    type Subscription {
      ticks(everyMs: Int!): Int!
    }
    type Hit {
      id: ID!
      score: Float!
      node: Node
    }
    type Node {
      id: ID!
      name: String
      child: Node
    }
  `,
  resolvers: {
    Query: {
      hello: () => 'world',
      search: (_: unknown, { text }: { text?: string }) => [{ id: `hit-${text ?? ''}`, score: 0.9, node: { id: 'n1' } }],
      node: () => ({ id: 'n0' }),
      slow: (_: unknown, { ms }: { ms: number }, ctx: ToyContext) => waitFor(ms, ctx.signal, 'slow'),
      stubborn: (_: unknown, { ms }: { ms: number }) => waitFor(ms, undefined, 'stubborn'),
    },
    Mutation: {
      ingestDocument: (_: unknown, { ms }: { ms: number }, ctx: ToyContext) => waitFor(ms, ctx.signal, 'ingestDocument'),
    },
    Subscription: {
      ticks: {
        subscribe: async function* (_: unknown, { everyMs }: { everyMs: number }) {
          for (let i = 0; ; i++) {
            await sleep(everyMs);
            yield { ticks: i };
          }
        },
      },
    },
    Node: {
      child: (parent: { id: string }) => ({ id: `${parent.id}.c` }),
    },
  },
});

interface ToyOptions {
  limits?: Partial<ArmorLimits>;
  rate: RateLimitOptions;
  timeouts: OperationTimeoutOptions;
}

interface ToyServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The wiring app.ts uses, on a toy schema. */
async function startToyServer({ limits = {}, rate, timeouts }: ToyOptions): Promise<ToyServer> {
  const logger = pino({ level: 'silent' });
  const formatError = makeFormatError(logger);
  const armor = graphqlArmorPlugins<ToyContext>({ ...limits, blockFieldSuggestions: true });
  const httpServer = http.createServer();

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: MAX_BODY });
  const ws = useServer<Record<string, unknown>>(
    {
      schema,
      context: (): ToyContext => ({ signal: undefined }),
      ...deadlineExecutors(timeouts),
      onSubscribe: (_ctx, _id, payload) => armor.prepareOperation(schema, payload, { introspection: false }),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : undefined),
    },
    wsServer,
  );

  const apollo = new ApolloServer<ToyContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    introspection: false,
    plugins: [...armor.plugins],
    validationRules: armor.validationRules,
    parseOptions: armor.parseOptions,
  });
  await apollo.start();

  const app = express();
  app.use(securityHeaders());
  app.get('/', (_req, res) => {
    res.type('html').send(EXPLORER_HTML);
  });
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(
    '/graphql',
    // Stands in for the auth layer: it puts the caller's key name in res.locals.principal.
    (req, res, next) => {
      const key = req.header('x-test-key');
      if (key) res.locals.principal = { keyName: key, role: 'technician', tenant: 't1' };
      next();
    },
    rateLimiter(rate),
    express.json({ limit: MAX_BODY }),
    graphqlUploadExpress({ maxFileSize: MB, maxFiles: 2 }),
    armor.tokenLimit,
    operationTimeout({ ...timeouts, maxTokens: armor.limits.maxTokens }),
    expressMiddleware(apollo, { context: async ({ res }) => ({ signal: operationSignalOf(res) }) }),
  );
  // As app.ts: body-parser errors in the GraphQL error shape.
  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR';
    res.status(status).json({ errors: [{ message: 'Request refused.', extensions: { code } }] });
  };
  app.use(onError);
  httpServer.on('request', app);

  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      await ws.dispose();
      await apollo.stop();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

interface GqlResponse {
  status: number;
  headers: Headers;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<GqlResponse> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, ...((await res.json()) as object) };
}

const gql = (url: string, query: string, headers?: Record<string, string>) => post(url, { query }, headers);

const code = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.code;

/** POST from a given loopback source address (127.0.0.0/8 is all loopback on Linux). */
function postFrom(localAddress: string, port: number, query: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/graphql', method: 'POST', localAddress, headers: { 'content-type': 'application/json' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query }));
  });
}

const nested = (levels: number) => `{ node { ${'child { '.repeat(levels - 2)}id${' }'.repeat(levels - 2)} } }`;
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: search(text: "x") { id }`).join(' ')} }`;

const TIMEOUTS: OperationTimeoutOptions = { defaultMs: 400, overrides: { ingestDocument: 3000 } };
const GENEROUS: RateLimitOptions = { requestsPerMinute: 60_000, burst: 10_000 };

describe('GraphQL abuse limits over HTTP', () => {
  let server: ToyServer;
  beforeAll(async () => {
    server = await startToyServer({ rate: GENEROUS, timeouts: TIMEOUTS });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function expectHealthy() {
    const res = await gql(server.url, '{ hello }');
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ hello: 'world' });
  }

  describe('document limits (graphql-armor): QUERY_TOO_COMPLEX with the rule and its limit', () => {
    it('answers a query at the depth limit (12)', async () => {
      const res = await gql(server.url, nested(12));
      expect(res.errors).toBeUndefined();
      expect(res.data?.node).toBeTruthy();
    });

    it('refuses a 50-level nested query', async () => {
      const res = await gql(server.url, nested(50));
      expect(res.status).toBe(400);
      expect(res.data).toBeUndefined();
      // Every limit it breaks is reported (50 levels also cost far more than 5000), all with the same code.
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(res.errors?.map(() => 'QUERY_TOO_COMPLEX'));
      expect(res.errors).toContainEqual({
        message: 'Query depth limit of 12 exceeded, found 50.',
        extensions: { code: 'QUERY_TOO_COMPLEX', category: 'BAD_USER_INPUT', rule: 'depth', limit: 12 },
      });
      expect(res.errors?.map((e) => e.extensions?.rule).sort()).toEqual(['cost', 'depth']);
      expect(JSON.stringify(res)).not.toMatch(/stacktrace|Syntax Error/);
      await expectHealthy();
    });

    it('refuses 1,000 aliases of search (past the token limit before it is even parsed)', async () => {
      const res = await gql(server.url, aliases(1000));
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', rule: 'tokens', limit: 5000 });
      await expectHealthy();
    });

    it('allows 15 aliases of search and refuses 16 with the alias rule', async () => {
      const ok = await gql(server.url, aliases(15));
      expect(ok.errors).toBeUndefined();
      expect(Object.keys(ok.data ?? {})).toHaveLength(15);
      const refused = await gql(server.url, aliases(16));
      expect(refused.status).toBe(400);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', rule: 'aliases', limit: 15 });
    });

    it('refuses more than 50 directives', async () => {
      const res = await gql(server.url, `{ hello ${'@include(if: true) '.repeat(51)}}`);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', rule: 'directives', limit: 50 });
    });

    it('refuses a document of 100,000 tokens that fits in the body limit, without parsing it', async () => {
      const query = `{ ${'hello '.repeat(100_000)}}`;
      expect(query.length).toBeLessThan(MAX_BODY);
      const started = performance.now();
      const res = await gql(server.url, query);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', rule: 'tokens', limit: 5000 });
      expect(performance.now() - started).toBeLessThan(2000);
      await expectHealthy();
    });

    it('hides field suggestions (they reveal the schema when introspection is off)', async () => {
      const res = await gql(server.url, '{ helo }');
      expect(res.status).toBe(400);
      expect(code(res)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.errors?.[0]?.message).not.toContain('hello');
    });
  });

  describe('a 20 MB query string', () => {
    it('is refused by the body limit (413) without the process growing by hundreds of MB', async () => {
      const body = JSON.stringify({ query: `{ ${'hello '.repeat((20 * MB) / 6)}}` });
      expect(body.length).toBeGreaterThan(20 * MB);
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 3; i++) {
        const res = await post(server.url, body);
        expect(res.status).toBe(413);
        expect(code(res)).toBe('PAYLOAD_TOO_LARGE');
      }
      // Parsing even one 3.5M-token document would take well over a GB of AST.
      expect(process.memoryUsage().rss - before).toBeLessThan(150 * MB);
      await expectHealthy();
    });
  });

  describe('security headers', () => {
    it('marks API responses nosniff, unframeable, without X-Powered-By', async () => {
      const res = await gql(server.url, '{ hello }');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security')).toBeNull(); // plain HTTP: left to the TLS terminator
    });

    it('lets the explorer run exactly its own inline script and style, by hash', async () => {
      const res = await fetch(`${server.url}/`);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      const sha = (tag: string) => {
        const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(EXPLORER_HTML);
        return `'sha256-${createHash('sha256').update(m![1]!).digest('base64')}'`;
      };
      expect(csp).toContain(`script-src ${sha('script')}`);
      expect(csp).toContain(`style-src ${sha('style')}`);
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-powered-by')).toBeNull();
    });

    it('also marks refusals (413) and other routes', async () => {
      const res = await fetch(`${server.url}/health`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const big = await post(server.url, JSON.stringify({ query: 'x'.repeat(MAX_BODY + 10) }));
      expect(big.status).toBe(413);
      expect(big.headers.get('x-content-type-options')).toBe('nosniff');
    });
  });

  describe('operation deadlines', () => {
    it('answers TIMEOUT at the deadline, tells the resolver, and serves the next request', async () => {
      abandoned.length = 0;
      const started = performance.now();
      const res = await gql(server.url, '{ slow(ms: 10000) }');
      const elapsed = performance.now() - started;
      expect(res.status).toBe(504);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'TIMEOUT', timeoutMs: 400 });
      expect(elapsed).toBeGreaterThanOrEqual(390);
      expect(elapsed).toBeLessThan(3000);
      await sleep(20);
      expect(abandoned).toContain('slow');
      await expectHealthy();
    });

    it('drops the late response of work that ignores the signal, and the connection stays usable', async () => {
      const res = await gql(server.url, '{ stubborn(ms: 700) }');
      expect(res.status).toBe(504);
      expect(code(res)).toBe('TIMEOUT');
      await sleep(500); // the abandoned operation finishes and tries to answer
      await expectHealthy();
      await expectHealthy();
    });

    it('gives root fields with an override their longer deadline (ingest)', async () => {
      const res = await gql(server.url, 'mutation Quick { ingestDocument(ms: 900) }');
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ ingestDocument: 'ingestDocument done after 900 ms' });
    });

    it('a client cannot buy a longer deadline by naming its operation like an ingest', async () => {
      const res = await post(server.url, { query: 'query ingestDocument { slow(ms: 900) }', operationName: 'ingestDocument' });
      expect(code(res)).toBe('TIMEOUT');
    });
  });
});

describe('rate limits per client', () => {
  let server: ToyServer;
  // The limiter's clock: frozen, so a slow machine cannot refill a bucket mid-test.
  let clock = 1_000_000;
  beforeAll(async () => {
    server = await startToyServer({ rate: { requestsPerMinute: 60, burst: 5, now: () => clock }, timeouts: TIMEOUTS });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a flood from one key gets RATE_LIMITED with Retry-After while another key is still served', async () => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await gql(server.url, '{ hello }', { 'x-test-key': 'flooder' }));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(15);
    const first = limited[0]!;
    expect(first.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', category: 'UNAVAILABLE' } });
    const retryAfterMs = first.errors?.[0]?.extensions?.retryAfterMs as number;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(1000);
    expect(first.headers.get('retry-after')).toBe(String(Math.ceil(retryAfterMs / 1000)));
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');

    const other = await gql(server.url, '{ hello }', { 'x-test-key': 'someone-else' });
    expect(other.status).toBe(200);
    expect(other.data).toEqual({ hello: 'world' });

    // One token a second: the flooder gets one request through once the hint has passed.
    clock += retryAfterMs;
    expect((await gql(server.url, '{ hello }', { 'x-test-key': 'flooder' })).status).toBe(200);
    expect((await gql(server.url, '{ hello }', { 'x-test-key': 'flooder' })).status).toBe(429);
  });

  it('without a key, clients are told apart by address', async () => {
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push(await postFrom('127.0.0.1', server.port, '{ hello }'));
    expect(statuses.filter((s) => s.status === 429).length).toBeGreaterThanOrEqual(3);
    expect(Number(statuses.at(-1)?.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await postFrom('127.0.0.2', server.port, '{ hello }')).status).toBe(200);
  });
});

describe('the same limits over graphql-ws', () => {
  let server: ToyServer;
  let client: Client;
  beforeAll(async () => {
    server = await startToyServer({ rate: GENEROUS, timeouts: TIMEOUTS });
    client = createClient({ url: server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
  });
  afterAll(async () => {
    await client?.dispose();
    await server?.close();
  });

  /** Collects what one operation sends until it completes or errors. */
  function run(query: string): Promise<{ results: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }[]; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
    return new Promise((resolve) => {
      const results: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }[] = [];
      client.subscribe(
        { query },
        {
          next: (r) => results.push(r as (typeof results)[number]),
          error: (e) => resolve({ results, errors: e as { message: string; extensions?: Record<string, unknown> }[] }),
          complete: () => resolve({ results }),
        },
      );
    });
  }

  it('refuses a 50-level nested query with QUERY_TOO_COMPLEX', async () => {
    const { errors } = await run(nested(50));
    expect(errors?.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX', 'QUERY_TOO_COMPLEX']);
    expect(errors?.map((e) => e.extensions)).toContainEqual({ code: 'QUERY_TOO_COMPLEX', category: 'BAD_USER_INPUT', rule: 'depth', limit: 12 });
  });

  it('refuses 1,000 aliases and 16 aliases', async () => {
    expect((await run(aliases(1000))).errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', rule: 'tokens' });
    expect((await run(aliases(16))).errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', rule: 'aliases' });
  });

  it('answers syntax errors and introspection (off here, as in production) with codes instead of closing the socket', async () => {
    expect((await run('{ hello')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect((await run(getIntrospectionQuery())).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await run('{ hello }')).results).toEqual([{ data: { hello: 'world' } }]);
  });

  it('ends a query past its deadline with TIMEOUT', async () => {
    const { results } = await run('{ stubborn(ms: 1000) }');
    expect(results[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'TIMEOUT', timeoutMs: 400 });
  });

  it('ends a subscription at its deadline with a TIMEOUT result', async () => {
    const started = performance.now();
    const { results, errors } = await run('subscription { ticks(everyMs: 50) }');
    expect(errors).toBeUndefined();
    expect(results.length).toBeGreaterThan(2);
    expect(results.at(-1)?.errors?.[0]?.extensions).toMatchObject({ code: 'TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('cost limit', () => {
  it('refuses an operation over the cost limit, as a QUERY_TOO_COMPLEX with rule cost', () => {
    const armor = graphqlArmorPlugins({ maxCost: 20 });
    const ok = armor.prepareOperation(schema, { query: '{ hello }' });
    expect(Array.isArray(ok)).toBe(false);
    const refused = armor.prepareOperation(schema, { query: '{ node { id name child { id name child { id name } } } }' });
    if (!Array.isArray(refused)) throw new Error('expected errors');
    expect(refused.map((e: GraphQLError) => e.extensions)).toEqual([{ code: 'QUERY_TOO_COMPLEX', category: 'BAD_USER_INPUT', rule: 'cost', limit: 20 }]);
  });
});
