/**
 * Abuse limits for the HTTP/GraphQL server, as pure builders that app.ts wires in:
 *
 * - `graphqlArmorPlugins`: depth, alias, directive and cost limits (graphql-armor validation rules),
 *   a token limit checked before parsing, all answering `extensions.code: QUERY_TOO_COMPLEX`; the same
 *   rules for graphql-ws through `prepareOperation`.
 * - `securityHeaders`: helmet for a JSON API, with a hash-based CSP for the local explorer page.
 * - `sharedRateLimit`: per-client token buckets (API key name, else IP), 429 RATE_LIMITED + Retry-After;
 *   kept in Postgres when the records are (one bucket per client across replicas), else in memory.
 * - `operationTimeout` / `deadlineExecutors`: a deadline per GraphQL operation (TIMEOUT), HTTP and WebSocket.
 *
 * Every refusal is a GraphQL-shaped body with a stable `extensions.code`; errors that travel through
 * Apollo or graphql-ws carry an AppError as `originalError`, so `format-error.ts` maps them unchanged.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP, isIPv6 } from 'node:net';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Request, RequestHandler, Response } from 'express';
import {
  execute,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
  // graphql has no "exports" map: Node loads its CommonJS build (index.js) for `import 'graphql'`, which is
  // what Apollo, graphql-ws and @graphql-tools use, but Vite (vitest) picks index.mjs for project files. Naming
  // the file keeps GraphQLError/GraphQLSchema from one instance everywhere (validate() and graphql-ws check instanceof).
} from 'graphql/index.js';
import helmet, { type HelmetOptions } from 'helmet';
import { AppError, ClientClosedError } from '../errors.js';
import { DocumentCache } from '../graphql/document-cache.js';
import { rootFieldsOf } from './operation-fields.js';
import type { SharedBuckets } from '../postgres/postgres-rate-buckets.js';
import { TokenBucketStore } from './token-bucket.js';

// ---------------------------------------------------------------------------------------------
// GraphQL document limits (graphql-armor)
// ---------------------------------------------------------------------------------------------

export const QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX';

/** Which limit a QUERY_TOO_COMPLEX error is about (`extensions.rule`). */
export type DocumentLimitRule = 'depth' | 'aliases' | 'directives' | 'cost' | 'tokens';

export interface ArmorLimits {
  /** Deepest selection nesting (introspection's `__schema` is not counted). */
  maxDepth: number;
  /** Most aliases in one operation (`__typename` aliases not counted). */
  maxAliases: number;
  /** Most directives in one operation. */
  maxDirectives: number;
  /** Most lexical tokens in the document, checked before parsing. */
  maxTokens: number;
  /** Highest graphql-armor cost (objects 2, scalars 1, ×1.5 per level of depth). */
  maxCost: number;
  /** Replace "Did you mean …" in validation errors (they reveal the schema when introspection is off). */
  blockFieldSuggestions: boolean;
}

export const DEFAULT_ARMOR_LIMITS: Readonly<ArmorLimits> = Object.freeze({
  maxDepth: 12,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 5000,
  maxCost: 5000,
  blockFieldSuggestions: true,
});

/** The GraphQL error a document limit produces: code QUERY_TOO_COMPLEX, with `rule` and `limit`. */
export function documentLimitError(rule: DocumentLimitRule, limit: number, message: string): GraphQLError {
  const details = { rule, limit };
  return new GraphQLError(message, {
    originalError: new AppError(QUERY_TOO_COMPLEX, 'BAD_USER_INPUT', message, { details }),
    extensions: { code: QUERY_TOO_COMPLEX, category: 'BAD_USER_INPUT', ...details },
  });
}

export { countTokens } from '../graphql/document-cache.js';

function tokenLimitError(limit: number): GraphQLError {
  return documentLimitError('tokens', limit, `Query token limit of ${limit} exceeded.`);
}

const SUGGESTION = /Did you mean ".+"\??/g;
const SUGGESTION_MASK = '[Suggestion hidden]';

/** What a graphql-ws `onSubscribe` hook may return: ready execution arguments, or errors to send. */
export type PreparedOperation = ExecutionArgs | readonly GraphQLError[];

export interface SubscribePayloadLike {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
}

export interface GraphQLArmor<TContext extends BaseContext = BaseContext> {
  limits: Readonly<ArmorLimits>;
  /** `new ApolloServer({ plugins: [...armor.plugins, ...] })` (hides field suggestions when asked). */
  plugins: ApolloServerPlugin<TContext>[];
  /** `new ApolloServer({ validationRules: armor.validationRules })`; also run by `prepareOperation`. */
  validationRules: ValidationRule[];
  /** `new ApolloServer({ parseOptions: armor.parseOptions })`: a backstop (GRAPHQL_PARSE_FAILED) behind `tokenLimit`. */
  parseOptions: ParseOptions;
  /** Express middleware for /graphql, after the body parsers: 400 QUERY_TOO_COMPLEX (rule `tokens`) before Apollo parses. */
  tokenLimit: RequestHandler;
  /** Query texts lexed and parsed once under `limits.maxTokens`: shared by `tokenLimit`, `prepareOperation` and `operationTimeout`. */
  documents: DocumentCache;
  /**
   * For graphql-ws: `onSubscribe: (ctx, _id, payload) => armor.prepareOperation(schema, payload, { introspection })`.
   * Token limit, parse, standard + armor validation (+ no introspection when `introspection` is false), every
   * error with a code. The returned args carry no `contextValue`, so useServer's `context` still supplies it.
   */
  prepareOperation(schema: GraphQLSchema, payload: SubscribePayloadLike, options?: { introspection?: boolean }): PreparedOperation;
}

/** GraphQL operations in a request: a JSON or multipart body (one or a batch), or the query string of a GET. */
function operationsOf(req: Request): { query?: unknown; operationName?: unknown }[] {
  const source: unknown = req.method === 'GET' || req.method === 'HEAD' ? req.query : req.body;
  const list: unknown[] = Array.isArray(source) ? source : [source];
  return list.filter((o): o is { query?: unknown; operationName?: unknown } => typeof o === 'object' && o !== null);
}

function queriesOf(req: Request): string[] {
  return operationsOf(req)
    .map((o) => o.query)
    .filter((q): q is string => typeof q === 'string');
}

export function graphqlArmorPlugins<TContext extends BaseContext = BaseContext>(overrides: Partial<ArmorLimits> = {}): GraphQLArmor<TContext> {
  const limits: Readonly<ArmorLimits> = Object.freeze({ ...DEFAULT_ARMOR_LIMITS, ...overrides });
  for (const key of ['maxDepth', 'maxAliases', 'maxDirectives', 'maxTokens', 'maxCost'] as const) {
    if (!Number.isInteger(limits[key]) || limits[key] < 1) throw new RangeError(`${key} must be an integer ≥ 1, got ${limits[key]}.`);
  }

  // graphql-armor's own Apollo wiring reports BAD_USER_INPUT (which Apollo turns into GRAPHQL_VALIDATION_FAILED),
  // and its token plugin throws from parsingDidStart (an HTTP 500 in Apollo 5): report our own errors instead.
  const reject = (rule: DocumentLimitRule, limit: number) => (ctx: ValidationContext | null, error: GraphQLError) => {
    ctx?.reportError(documentLimitError(rule, limit, error.message.replace(/^Syntax Error:\s*/, '')));
  };
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, propagateOnRejection: false, onReject: [reject('depth', limits.maxDepth)] },
    maxAliases: { n: limits.maxAliases, propagateOnRejection: false, onReject: [reject('aliases', limits.maxAliases)] },
    maxDirectives: { n: limits.maxDirectives, propagateOnRejection: false, onReject: [reject('directives', limits.maxDirectives)] },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true, propagateOnRejection: false, onReject: [reject('cost', limits.maxCost)] },
    maxTokens: { enabled: false }, // done by `tokenLimit` / `prepareOperation` / `parseOptions`
    blockFieldSuggestion: { enabled: limits.blockFieldSuggestions, mask: SUGGESTION_MASK },
  }).protect();
  const validationRules = armor.validationRules;
  const parseOptions: ParseOptions = { maxTokens: limits.maxTokens };
  const documents = new DocumentCache({ maxTokens: limits.maxTokens });

  const tokenLimit: RequestHandler = (req, res, next) => {
    for (const query of queriesOf(req)) {
      if (documents.get(query).kind === 'too-many-tokens') {
        const error = tokenLimitError(limits.maxTokens);
        res.status(400).json({ errors: [{ message: error.message, extensions: error.extensions }] });
        return;
      }
    }
    next();
  };

  const withCode = (error: GraphQLError, code: string): GraphQLError =>
    typeof error.extensions.code === 'string'
      ? error
      : new GraphQLError(limits.blockFieldSuggestions ? error.message.replace(SUGGESTION, SUGGESTION_MASK) : error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          originalError: error.originalError,
          extensions: { ...error.extensions, code },
        });

  const prepareOperation: GraphQLArmor['prepareOperation'] = (schema, payload, { introspection = true } = {}) => {
    const { query, operationName, variables } = payload;
    if (typeof query !== 'string' || query.length === 0) {
      return [new GraphQLError('The operation has no query.', { extensions: { code: 'BAD_REQUEST' } })];
    }
    const parsed = documents.get(query);
    if (parsed.kind === 'too-many-tokens') return [tokenLimitError(limits.maxTokens)];
    if (parsed.kind === 'syntax-error') return [withCode(parsed.error, 'GRAPHQL_PARSE_FAILED')];
    const { document } = parsed;
    const rules = [...specifiedRules, ...validationRules, ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
    const errors = validate(schema, document, rules);
    if (errors.length > 0) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
    return {
      schema,
      document,
      operationName: typeof operationName === 'string' ? operationName : undefined,
      variableValues: typeof variables === 'object' && variables !== null && !Array.isArray(variables) ? (variables as Record<string, unknown>) : undefined,
    };
  };

  return {
    limits,
    // graphql-armor types its plugins for BaseContext; they read nothing from the context.
    plugins: armor.plugins as ApolloServerPlugin<TContext>[],
    validationRules,
    parseOptions,
    tokenLimit,
    documents,
    prepareOperation,
  };
}

// ---------------------------------------------------------------------------------------------
// Security headers (helmet)
// ---------------------------------------------------------------------------------------------

export interface SecurityHeadersOptions {
  /** The explorer page served at `explorerPath`; defaults to src/server/explorer.html (read once, now). */
  explorerHtml?: string;
  /** Path of the explorer page (GET/HEAD). Default `/`. */
  explorerPath?: string;
  /** Send Strict-Transport-Security. Off by default: this server speaks plain HTTP; whoever terminates TLS may send it. */
  hsts?: boolean;
}

/** CSP source expressions (`'sha256-…'`) for the inline `<script>` and `<style>` elements of a page. */
export function inlineHashes(html: string): { scripts: string[]; styles: string[] } {
  const hashes = (tag: 'script' | 'style') => {
    const found = new Set<string>();
    for (const m of html.matchAll(new RegExp(`<${tag}(\\s[^>]*)?>([\\s\\S]*?)</${tag}\\s*>`, 'gi'))) {
      if (tag === 'script' && /\ssrc\s*=/i.test(m[1] ?? '')) continue; // external script: governed by script-src hosts
      found.add(`'sha256-${createHash('sha256').update(m[2] ?? '', 'utf8').digest('base64')}'`);
    }
    return [...found];
  };
  return { scripts: hashes('script'), styles: hashes('style') };
}

/**
 * Helmet for the API: nosniff, `X-Frame-Options: DENY`, `frame-ancestors 'none'`, no referrer, no
 * X-Powered-By, same-origin resource/opener policies, and `default-src 'none'` (JSON is never a page).
 * The explorer page alone may run its own inline script and style, allowed by hash (no 'unsafe-inline'),
 * and fetch only its own origin.
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): RequestHandler {
  const html = options.explorerHtml ?? readFileSync(new URL('./explorer.html', import.meta.url), 'utf8');
  const explorerPath = options.explorerPath ?? '/';
  const { scripts, styles } = inlineHashes(html);
  const locked = { baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] };
  const common: HelmetOptions = {
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.hsts ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    xContentTypeOptions: true,
    xPoweredBy: true,
  };
  const api = helmet({
    ...common,
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], ...locked } },
  });
  const explorer = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: scripts.length > 0 ? scripts : ["'none'"],
        styleSrc: styles.length > 0 ? styles : ["'none'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        ...locked,
      },
    },
  });
  const apiHeaders = recordHeaderWrites(api);
  const explorerHeaders = recordHeaderWrites(explorer);
  return (req, res, next) => {
    replayHeaderWrites(req.path === explorerPath && (req.method === 'GET' || req.method === 'HEAD') ? explorerHeaders : apiHeaders, res);
    next();
  };
}

/** One header write of a helmet middleware: set a header to a value, or remove it. */
type HeaderWrite = readonly [name: string, value: string | null];

/**
 * The header writes helmet's middleware makes, recorded once at start-up. Every directive here is a
 * fixed string (no per-request nonce, nothing read from the request), so each response gets the
 * same writes, and replaying them is one middleware instead of helmet's chain of a dozen (each a
 * closure call and an express `next`). Throws if helmet ever did something else (read the request,
 * answer asynchronously, fail): then recording would be wrong, and start-up says so.
 */
function recordHeaderWrites(helmetMiddleware: RequestHandler): HeaderWrite[] {
  const writes: HeaderWrite[] = [];
  const request = new Proxy({} as Request, {
    get: (_target, key) => {
      throw new Error(`security headers: helmet read req.${String(key)}, so its headers cannot be recorded once`);
    },
  });
  const response = {
    setHeader: (name: string, value: unknown) => {
      writes.push([name, String(value)]);
      return response;
    },
    removeHeader: (name: string) => {
      writes.push([name, null]);
    },
  } as unknown as Response;
  let done = false;
  void helmetMiddleware(request, response, (error?: unknown) => {
    if (error !== undefined) throw error instanceof Error ? error : new Error(String(error));
    done = true;
  });
  if (!done) throw new Error('security headers: helmet did not finish synchronously, so its headers cannot be recorded once');
  return writes;
}

function replayHeaderWrites(writes: readonly HeaderWrite[], res: Response): void {
  for (const [name, value] of writes) {
    if (value === null) res.removeHeader(name);
    else res.setHeader(name, value);
  }
}

// ---------------------------------------------------------------------------------------------
// Rate limits (token bucket per client)
// ---------------------------------------------------------------------------------------------

export const RATE_LIMITED = 'RATE_LIMITED';

export interface RateLimitOptions {
  /** Sustained requests per minute per client. 0 turns the limiter off. */
  requestsPerMinute: number;
  /** Requests a client may make at once after being idle (bucket size, ≥ 1). */
  burst: number;
  /** Most clients remembered (memory bound; idle buckets are dropped first). Default 10,000. */
  maxClients?: number;
  /** Key names that do not identify a client (the open server's shared principal): those fall back to the IP. */
  sharedKeyNames?: readonly string[];
  /** Clock, for tests. */
  now?: () => number;
  /**
   * Buckets every replica shares (Postgres, with DATABASE_URL): one bucket per client across the
   * deployment. While they cannot be reached, this replica's own buckets decide (the limit is then
   * per replica, as without them) and `onSharedFailure` is told once per outage.
   */
  shared?: SharedBuckets | null;
  onSharedFailure?: (error: unknown) => void;
  onSharedRecovered?: () => void;
}

/**
 * The address a client's bucket is keyed by: IPv4 as is, IPv6 by its /64 (one subscriber's usual
 * allocation). Text that is not an IP address (never expected: trusted-proxy.ts filters forwarded
 * entries) keys no bucket of its own.
 */
export function clientAddress(ip: string | undefined): string {
  if (!ip || isIP(ip) === 0) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Who a request counts against: the API key name an auth layer put in `res.locals.principal`, else the remote address. */
export function clientKeyOf(req: Request, res: Response, sharedKeyNames: readonly string[] = ['anonymous']): string {
  const principal: unknown = res.locals.principal;
  const keyName = typeof principal === 'object' && principal !== null && 'keyName' in principal && typeof principal.keyName === 'string' ? principal.keyName : undefined;
  return bucketKey(keyName, req.ip ?? req.socket.remoteAddress, sharedKeyNames);
}

/** One rate limit shared by every transport: the same bucket per client whether it calls over HTTP or WebSocket. */
export interface SharedRateLimit {
  /** Express middleware (after authentication): 429 RATE_LIMITED + Retry-After. */
  middleware: RequestHandler;
  /** Charges one operation of another transport (a WebSocket message) to the same buckets. */
  admit(keyName: string | undefined, remoteAddress: string | undefined): Promise<{ allowed: boolean; retryAfterMs: number }>;
  /** Stops the clean-up of shared buckets (at shutdown). */
  close(): void;
}

/** The bucket key of a caller: its key name, or its address when the key is shared (the open server's). */
function bucketKey(keyName: string | undefined, remoteAddress: string | undefined, sharedKeyNames: readonly string[]): string {
  if (typeof keyName === 'string' && keyName !== '' && !sharedKeyNames.includes(keyName)) return `key:${keyName}`;
  return `ip:${clientAddress(remoteAddress)}`;
}

/** How long this replica decides alone after the shared buckets failed, before trying them again. */
const SHARED_RETRY_MS = 2000;

export function sharedRateLimit(options: RateLimitOptions): SharedRateLimit {
  const { requestsPerMinute, burst, maxClients = 10_000, sharedKeyNames = ['anonymous'], now = Date.now, shared = null } = options;
  if (requestsPerMinute === 0) return { middleware: (_req, _res, next) => next(), admit: async () => ({ allowed: true, retryAfterMs: 0 }), close: () => undefined };
  const config = { capacity: burst, refillPerSecond: requestsPerMinute / 60 };
  const store = new TokenBucketStore({ ...config, maxClients });
  // After a failure the shared buckets are left alone for a while: an unreachable database would
  // otherwise cost every request its connect timeout before the local decision.
  let sharedDownUntil: number | null = null;
  const decide = async (key: string): Promise<{ allowed: boolean; retryAfterMs: number }> => {
    if (shared && (sharedDownUntil === null || now() >= sharedDownUntil)) {
      try {
        const decision = await shared.take(key, config);
        if (sharedDownUntil !== null) options.onSharedRecovered?.();
        sharedDownUntil = null;
        return decision;
      } catch (error) {
        if (sharedDownUntil === null) options.onSharedFailure?.(error);
        sharedDownUntil = now() + SHARED_RETRY_MS;
      }
    }
    return store.take(key, now());
  };
  // Shared rows of clients idle for a refill period are full again: deleted now and then (any replica may).
  const forgetEveryMs = Math.max(60_000, Math.ceil((config.capacity / config.refillPerSecond) * 1000));
  const forgetTimer = shared ? setInterval(() => void shared.forgetFull(config).catch(() => undefined), forgetEveryMs).unref() : null;
  const middleware: RequestHandler = async (req, res, next) => {
    const result = await decide(clientKeyOf(req, res, sharedKeyNames));
    if (result.allowed) return next();
    const seconds = Math.ceil(result.retryAfterMs / 1000);
    res
      .status(429)
      .set('Retry-After', String(seconds))
      .json({
        errors: [
          {
            message: `Too many requests: retry in ${seconds} s.`,
            extensions: { code: RATE_LIMITED, category: 'UNAVAILABLE', retryAfterMs: result.retryAfterMs },
          },
        ],
      });
  };
  return {
    middleware,
    admit: async (keyName, remoteAddress) => {
      const result = await decide(bucketKey(keyName, remoteAddress, sharedKeyNames));
      return { allowed: result.allowed, retryAfterMs: result.retryAfterMs };
    },
    close: () => {
      if (forgetTimer) clearInterval(forgetTimer);
    },
  };
}

export function rateLimiter(options: RateLimitOptions): RequestHandler {
  return sharedRateLimit(options).middleware;
}

// ---------------------------------------------------------------------------------------------
// Operation deadlines
// ---------------------------------------------------------------------------------------------

export const TIMEOUT = 'TIMEOUT';

export interface OperationTimeoutOptions {
  /** Deadline of an operation, in milliseconds (default 60 s). */
  defaultMs?: number;
  /**
   * Deadlines by root field name (e.g. `{ ingestDocument: 600_000 }`): an operation gets the longest
   * deadline among its root fields, each root field its override or the default. Keyed by field, not by
   * the client-chosen operation name, so a client cannot buy itself a longer deadline by renaming.
   */
  overrides?: Readonly<Record<string, number>>;
  /** Token limit when parsing to find the root fields (only parsed when there are overrides). */
  maxTokens?: number;
  /** Where parsed query texts are kept (`graphqlArmorPlugins(…).documents`); else a cache of its own under `maxTokens`. */
  documents?: DocumentCache;
}

export const DEFAULT_OPERATION_TIMEOUT_MS = 60_000;

/** The deadline of one operation of `document` (see `OperationTimeoutOptions.overrides`). */
export function operationBudgetMs(document: DocumentNode, operationName: string | null | undefined, { defaultMs = DEFAULT_OPERATION_TIMEOUT_MS, overrides = {} }: OperationTimeoutOptions = {}): number {
  const fields = rootFieldsOf(document, operationName);
  if (fields.length === 0) return defaultMs;
  return Math.max(...fields.map((f) => (Object.hasOwn(overrides, f) ? overrides[f]! : defaultMs)));
}

export function timeoutError(ms: number): GraphQLError {
  const message = `The operation did not finish within ${formatSeconds(ms)} and was abandoned.`;
  return new GraphQLError(message, {
    originalError: new AppError(TIMEOUT, 'UNAVAILABLE', message, { details: { timeoutMs: ms } }),
    extensions: { code: TIMEOUT, category: 'UNAVAILABLE', timeoutMs: ms },
  });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function checkTimeoutOptions({ defaultMs = DEFAULT_OPERATION_TIMEOUT_MS, overrides = {} }: OperationTimeoutOptions): void {
  for (const [name, ms] of [['default', defaultMs] as const, ...Object.entries(overrides)]) {
    if (!Number.isFinite(ms) || ms <= 0 || ms > 2_147_483_647) throw new RangeError(`Operation timeout for ${name} must be between 1 and 2147483647 ms, got ${ms}.`);
  }
}

/** The AbortSignal `operationTimeout` put on the response: aborted at the deadline or when the client goes away. */
export function operationSignalOf(res: Response): AbortSignal | undefined {
  const signal: unknown = res.locals.operationSignal;
  return signal instanceof AbortSignal ? signal : undefined;
}

/** After a timeout answer, the late response of the abandoned operation is dropped instead of failing on sent headers. */
function muzzle(res: Response): void {
  Object.assign(res, {
    setHeader: () => res,
    appendHeader: () => res,
    writeHead: () => res,
    status: () => res,
    set: () => res,
    header: () => res,
    type: () => res,
    send: () => res,
    json: () => res,
    write: () => true,
    end: () => res,
  });
}

/**
 * Express middleware for /graphql (after the body parsers, right before Apollo): answers 504
 * `extensions.code: TIMEOUT` when the operation runs past its deadline. The abandoned work is told
 * through `res.locals.operationSignal` (see `operationSignalOf`): pass it into the GraphQL context so
 * services can stop; its late response is discarded.
 */
export function operationTimeout(options: OperationTimeoutOptions = {}): RequestHandler {
  checkTimeoutOptions(options);
  const { defaultMs = DEFAULT_OPERATION_TIMEOUT_MS, overrides = {}, maxTokens = DEFAULT_ARMOR_LIMITS.maxTokens } = options;
  const documents = options.documents ?? new DocumentCache({ maxTokens });
  const hasOverrides = Object.keys(overrides).length > 0;
  const budgetOf = (req: Request): number => {
    if (!hasOverrides) return defaultMs;
    let ms = 0;
    for (const op of operationsOf(req)) {
      if (typeof op.query !== 'string') continue;
      const parsed = documents.get(op.query);
      // A text that does not parse gets the default; Apollo reports the parse error.
      const opMs = parsed.kind === 'document' ? operationBudgetMs(parsed.document, typeof op.operationName === 'string' ? op.operationName : undefined, { defaultMs, overrides }) : defaultMs;
      ms = Math.max(ms, opMs);
    }
    return ms || defaultMs;
  };

  return (req, res, next) => {
    const ms = budgetOf(req);
    const controller = new AbortController();
    res.locals.operationSignal = controller.signal;
    res.locals.operationDeadline = Date.now() + ms;
    const timer = setTimeout(() => {
      const error = timeoutError(ms);
      controller.abort(error.originalError);
      if (res.writableEnded) return;
      if (res.headersSent) {
        // A streamed (incremental) response is under way: it cannot become an error any more.
        res.destroy();
        return;
      }
      // Written with Node's own methods: express's `send` may be wrapped (graphql-upload defers it
      // until the upload ends, and its deferred call would land on the muzzled response: a
      // multipart operation past its deadline got no answer at all).
      const body = JSON.stringify({ errors: [{ message: error.message, extensions: error.extensions }] });
      res.writeHead(504, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      muzzle(res);
    }, ms);
    timer.unref();
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => {
      clearTimeout(timer);
      if (!controller.signal.aborted && !res.writableFinished) controller.abort(new ClientClosedError());
    });
    next();
  };
}


function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** A subscription stream that, at the deadline, sends one TIMEOUT result and ends (closing the source). */
function streamWithDeadline(source: AsyncIterable<ExecutionResult>, ms: number, onExpired: (error: GraphQLError) => void): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), ms);
    timer.unref();
  });
  // Settles a `next()` still waiting when the consumer returns (a client completing its
  // subscription): the consumer's loop ends now, not when the source next yields.
  let stop: () => void = () => undefined;
  const stopped = new Promise<'stopped'>((resolve) => (stop = () => resolve('stopped')));
  const close = () => {
    finished = true;
    clearTimeout(timer);
    stop();
    // Not awaited: an async generator busy in an await would hold the caller until it yields.
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
  const stream: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => stream,
    async next() {
      if (finished) return { done: true, value: undefined };
      const step = await Promise.race([iterator.next(), expired, stopped]);
      if (step === 'stopped') return { done: true, value: undefined };
      if (step === 'expired') {
        const error = timeoutError(ms);
        onExpired(error);
        close();
        return { done: false, value: { errors: [error] } };
      }
      if (step.done) {
        finished = true;
        clearTimeout(timer);
        return { done: true, value: undefined };
      }
      return step;
    },
    async return() {
      if (!finished) close();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      if (!finished) close();
      throw error;
    },
  };
  return stream;
}

export interface DeadlineHooks {
  /** Called at the deadline with the TIMEOUT error: abort the operation's AbortSignal here, so its services stop. */
  onDeadline?: (args: ExecutionArgs, error: GraphQLError) => void;
}

/**
 * graphql-ws `execute` / `subscribe` with the same deadlines: `useServer({ ...deadlineExecutors(opts, hooks), ... })`.
 * A query or mutation past its deadline answers TIMEOUT at once and `onDeadline` tells the work to stop;
 * a subscription stream gets a final TIMEOUT result and is closed.
 */
export function deadlineExecutors(options: OperationTimeoutOptions = {}, hooks: DeadlineHooks = {}): {
  execute: (args: ExecutionArgs) => Promise<ExecutionResult>;
  subscribe: (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
} {
  checkTimeoutOptions(options);
  const budget = (args: ExecutionArgs) => operationBudgetMs(args.document, args.operationName, options);
  return {
    async execute(args) {
      const ms = budget(args);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<ExecutionResult>((resolve) => {
        timer = setTimeout(() => {
          const error = timeoutError(ms);
          hooks.onDeadline?.(args, error);
          resolve({ errors: [error] });
        }, ms);
        timer.unref();
      });
      try {
        return await Promise.race([Promise.resolve(execute(args)), expired]);
      } finally {
        clearTimeout(timer);
      }
    },
    async subscribe(args) {
      const result = await subscribe(args);
      return isAsyncIterable(result) ? streamWithDeadline(result, budget(args), (error) => hooks.onDeadline?.(args, error)) : result;
    },
  };
}
