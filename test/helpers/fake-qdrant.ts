/**
 * A fake Qdrant REST server on 127.0.0.1:0 for testing the Qdrant adapter where no Qdrant can
 * run. It VALIDATES every request against Qdrant's official OpenAPI schema
 * (`test/fixtures/reference/qdrant/openapi-v1.19.json.gz`, Apache-2.0): the path must be one of the schema's, the method one
 * of that path's, query parameters and the JSON body must match the operation's schemas (with
 * `$ref`s resolved). An invalid request gets 400 with the validation errors (and is recorded in
 * `schemaErrors`). Valid ones are answered by a small in-memory Qdrant (fake-qdrant-engine.ts),
 * and every JSON answer is itself checked against the operation's response schema
 * (`responseErrors`), so the adapter is tested against answers a real Qdrant could give.
 *
 * Everything sent is recorded (`requests`), for assertions on what the adapter asked for.
 * Faults are scriptable: an HTTP status (429 with retry-after, 500, …), a request that never
 * gets an answer, a connection dropped before or after the request was applied, or a raw body
 * (garbage JSON, an HTML error page).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe } from 'vitest';
import { FakeQdrantEngine, QdrantInputError } from './fake-qdrant-engine.js';
import { OpenApiValidator, type MatchedOperation } from './openapi-validator.js';
import { referencePath } from './shared.js';

/** Committed with the repo (copied by test/fixtures/reference/copy-from-shared.mjs), so it is always there. */
export const QDRANT_SCHEMA_PATH = referencePath('qdrant', 'openapi-v1.19.json.gz');

/**
 * @deprecated The schema is committed now and these suites always run: use `describe`.
 * Kept as a plain alias so suites written against the old name keep compiling.
 */
export const describeWithQdrantSchema: typeof describe = describe;

let validator: OpenApiValidator | null = null;
export function qdrantSchema(): OpenApiValidator {
  validator ??= new OpenApiValidator(QDRANT_SCHEMA_PATH);
  return validator;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Qdrant's operationId (upsert_points, query_points_groups, …), or '' when the path is not in the schema. */
  operation: string;
  collection: string | undefined;
  query: Record<string, string>;
  body: unknown;
  headers: http.IncomingHttpHeaders;
  /** The status answered (0 when the connection was dropped or left hanging). */
  status: number;
}

export type Fault =
  | { type: 'status'; status: number; retryAfter?: string; message?: string }
  /** Never answer (the client's timeout fires). */
  | { type: 'hang' }
  /** Destroy the connection: before the request is applied, or (`applied: true`) after it was, so the answer is lost. */
  | { type: 'drop'; applied?: boolean }
  /** Apply and answer the request only after `ms` (other requests go on meanwhile): for interleavings. */
  | { type: 'delay'; ms: number }
  /** Answer with this raw body (not applied): a proxy's error page, an answer cut short, JSON of another shape. */
  | { type: 'body'; body: string; status?: number; contentType?: string };

export interface FaultRule {
  /** Which requests; all when absent. */
  when?: (request: RecordedRequest) => boolean;
  /** How many matching requests get the fault; every one when absent. */
  times?: number;
  fault: Fault;
}

export interface FakeQdrant {
  url: string;
  readonly engine: FakeQdrantEngine;
  readonly requests: RecordedRequest[];
  readonly schemaErrors: string[];
  readonly responseErrors: string[];
  inject(rule: FaultRule): void;
  clearFaults(): void;
  /** Forget recorded requests (collections stay). */
  clearRequests(): void;
  close(): Promise<void>;
}

export interface FakeQdrantOptions {
  /** When set, requests must carry it in the `api-key` header (health endpoints excepted, as in Qdrant). */
  apiKey?: string;
  version?: string;
  /** Listen on this port (default: any free one). */
  port?: number;
}

const HEALTH = new Set(['healthz', 'livez', 'readyz', 'root']);

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorBody(message: string): unknown {
  return { status: { error: message }, time: 0.0001 };
}

export async function startFakeQdrant(options: FakeQdrantOptions = {}): Promise<FakeQdrant> {
  const schema = qdrantSchema();
  const engine = new FakeQdrantEngine();
  const requests: RecordedRequest[] = [];
  const schemaErrors: string[] = [];
  const responseErrors: string[] = [];
  let rules: (FaultRule & { used: number })[] = [];
  const sockets = new Set<Socket>();

  const handle = (matched: MatchedOperation, body: unknown): unknown => {
    const name = matched.pathParams.collection_name ?? '';
    const b = (body ?? {}) as Record<string, unknown>;
    switch (matched.operation.operationId) {
      case 'root':
        return { title: 'qdrant - vector search engine (fake)', version: options.version ?? '1.19.0' };
      case 'get_collections':
        return { collections: [...engine.collections.keys()].map((n) => ({ name: n })) };
      case 'create_collection':
        return engine.createCollection(name, b);
      case 'delete_collection':
        return engine.deleteCollection(name);
      case 'get_collection':
        return engine.collectionInfo(name);
      case 'collection_exists':
        return engine.collectionExists(name);
      case 'create_field_index':
        return engine.createIndex(name, b);
      case 'delete_field_index':
        return engine.deleteIndex(name, matched.pathParams.field_name ?? '');
      case 'upsert_points':
        return engine.upsert(name, b);
      case 'delete_points':
        return engine.deletePoints(name, b);
      case 'set_payload':
        return engine.setPayload(name, b);
      case 'get_points':
        return engine.retrieve(name, b);
      case 'scroll_points':
        return engine.scroll(name, b);
      case 'count_points':
        return engine.count(name, b);
      case 'query_points':
        return engine.query(name, b);
      case 'query_points_groups':
        return engine.queryGroups(name, b);
      case 'query_batch_points':
        return engine.queryBatch(name, b);
      default:
        throw new QdrantInputError(`the fake Qdrant does not implement ${matched.operation.operationId}`, 501);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const raw = Buffer.concat(chunks).toString('utf8');
      const matched = schema.match(req.method ?? 'GET', url.pathname);
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        operation: 'error' in matched ? '' : matched.operation.operationId,
        collection: 'error' in matched ? undefined : matched.pathParams.collection_name,
        query: Object.fromEntries(url.searchParams),
        body: undefined,
        headers: req.headers,
        status: 0,
      };
      requests.push(recorded);
      const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
        recorded.status = status;
        send(res, status, body, headers);
      };

      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch (error) {
          return reply(400, errorBody(`Json deserialize error: ${(error as Error).message}`));
        }
      }
      recorded.body = body;
      if ('error' in matched) {
        schemaErrors.push(`${recorded.method} ${recorded.path}: ${matched.error}`);
        return reply(404, errorBody(`Not in Qdrant's OpenAPI schema: ${matched.error}`));
      }
      const op = matched.operation.operationId;
      const invalid = schema.validateRequest(matched, url.searchParams, body, raw.length > 0);
      if (invalid.length > 0) {
        schemaErrors.push(...invalid.map((e) => `${op}: ${e}`));
        return reply(400, errorBody(`Request does not match Qdrant's OpenAPI schema (${schema.version}): ${invalid.join('; ')}`));
      }

      const rule = rules.find((r) => (r.times === undefined || r.used < r.times) && (!r.when || r.when(recorded)));
      if (rule) rule.used += 1;
      const fault = rule?.fault;
      if (fault?.type === 'hang') return;
      if (fault?.type === 'drop' && !fault.applied) return void req.socket.destroy();
      if (fault?.type === 'body') {
        recorded.status = fault.status ?? 200;
        res.writeHead(recorded.status, { 'content-type': fault.contentType ?? 'application/json', 'content-length': Buffer.byteLength(fault.body) });
        return void res.end(fault.body);
      }
      if (fault?.type === 'status') {
        return reply(fault.status, errorBody(fault.message ?? `injected fault: HTTP ${fault.status}`), fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {});
      }

      const proceed = () => {
        if (options.apiKey !== undefined && !HEALTH.has(op) && req.headers['api-key'] !== options.apiKey) {
          return reply(req.headers['api-key'] === undefined ? 401 : 403, errorBody('Must provide a valid API key'));
        }
        if (HEALTH.has(op) && op !== 'root') {
          recorded.status = 200;
          res.writeHead(200, { 'content-type': 'text/plain' });
          return void res.end(`${op} check passed`);
        }

        let result: unknown;
        try {
          result = handle(matched, body);
        } catch (error) {
          if (error instanceof QdrantInputError) return reply(error.status, errorBody(error.message));
          return reply(500, errorBody(`fake Qdrant failed: ${(error as Error).stack ?? String(error)}`));
        }
        if (fault?.type === 'drop') return void req.socket.destroy();
        const envelope = op === 'root' ? result : { result, status: 'ok', time: 0.0001 };
        const wrong = schema.validateResponse(matched, envelope);
        if (wrong.length > 0) {
          responseErrors.push(...wrong.map((e) => `${op}: ${e}`));
          return reply(500, errorBody(`the fake's answer does not match the schema: ${wrong.join('; ')}`));
        }
        reply(200, envelope);
      };
      if (fault?.type === 'delay') setTimeout(proceed, fault.ms);
      else proceed();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    engine,
    requests,
    schemaErrors,
    responseErrors,
    inject(rule) {
      rules.push({ ...rule, used: 0 });
    },
    clearFaults() {
      rules = [];
    },
    clearRequests() {
      requests.length = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Conditions of a filter's `must` list (the adapter's filters put the tenant there). */
export function mustConditions(filter: unknown): unknown[] {
  if (typeof filter !== 'object' || filter === null) return [];
  const must = (filter as { must?: unknown }).must;
  return Array.isArray(must) ? must : must === undefined || must === null ? [] : [must];
}

/** Whether a filter requires `tenant == tenant` at its top level. */
export function requiresTenant(filter: unknown, tenant: string): boolean {
  return mustConditions(filter).some((c) => JSON.stringify(c) === JSON.stringify({ key: 'tenant', match: { value: tenant } }));
}
