/**
 * The HTTP application: express 5, multipart uploads, Apollo Server 5, health, metrics and the
 * offline explorer. HTTP only: built from the core (src/core/create-core.ts) and the API keys
 * that start-server.ts hands it; it opens no store and reads no file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { IResolvers } from '@graphql-tools/utils';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import { processRequest } from './multipart-request.js';
import type { Logger } from 'pino';
import { isBlobKey } from '../blob/blob-store.js';
import type { ApiKeyRegistry, Principal } from '../auth/api-keys.js';
import { FileUrlSigner } from '../auth/signed-urls.js';
import type { Config } from '../config.js';
import { auditPlugin, authMiddleware, authorizationPlugin, metricsAccess } from './auth-plugins.js';
import { guardSchema, newOperationTrace, type OperationTrace } from './operation-guard.js';
import { operationLabel, topLevelFieldsOf } from './operation-fields.js';
import { FIELD_ROLES } from '../auth/permissions.js';
import { attachWebSocketTransport } from './ws-transport.js';
import { clientAddressMiddleware, clientAddressOf, compileTrust } from './trusted-proxy.js';
import { testModelPlugin } from './test-model-flag.js';
import { auditRefusalsBeforeApollo, markReachedApollo, RefusalAudit } from './refusal-audit.js';
import type { GraphQLContext, Services } from '../graphql/context.js';
import { isAppError, UnavailableError } from '../errors.js';
import { resolvers } from '../graphql/resolvers.js';
import { loadTypeDefs } from '../graphql/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { Core } from '../core/create-core.js';
import { makeFormatError } from './format-error.js';
import { sendBlob, sendUnavailable } from './blob-responses.js';
import { guardWrites } from './storage-guard.js';
import { chain } from './middleware-chain.js';
import { consoleAssets, CONSOLE_CSP } from './console-assets.js';
import { renderExplorerPage } from './explorer-operations.js';
import { TENANT_NAME } from '../tenancy/tenant-spaces.js';
import { graphqlArmorPlugins, operationSignalOf, operationTimeout, securityHeaders, sharedRateLimit } from './hardening.js';

const BLOB_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  md: 'text/plain; charset=utf-8',
  html: 'text/plain; charset=utf-8', // never rendered as HTML from our origin
  txt: 'text/plain; charset=utf-8',
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heic: 'image/heic',
};

const EXPLORER_TEMPLATE = readFileSync(new URL('./explorer.html', import.meta.url), 'utf8');

export interface AppDeps {
  config: Config;
  /** Tenant spaces, the audit log and health: each request gets its own tenant's services. */
  core: Pick<Core, 'spaces' | 'servicesFor' | 'audit' | 'health' | 'storage' | 'rateBuckets'>;
  /** The API keys (AUTH_KEYS_FILE), or null for an open server (every caller is admin of one tenant). */
  registry: ApiKeyRegistry | null;
  metrics: Metrics;
  logger: Logger;
  httpServer: Server;
}

/** A top-level field of the schema (the permission table lists every one). */
const isSchemaField = (field: string) => Object.hasOwn(FIELD_ROLES, field);

/** Latency by operation label (its top-level fields, bounded: see `operationLabel`), never by the client's operation name. */
function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ document, operation, errors }) {
          const fields = document && operation ? topLevelFieldsOf(document, operation) : null;
          metrics.graphqlDuration.observe(
            { operation: operationLabel(fields, isSchemaField), outcome: errors && errors.length > 0 ? 'error' : 'ok' },
            (performance.now() - started) / 1000,
          );
        },
      };
    },
  };
}

/**
 * The ETag express would give a body (weak, length and SHA-1), for the console's files and the
 * explorer page only, so browsers still revalidate them with a 304. Express's own ETag is off: it
 * hashed every GraphQL answer (a POST, never revalidated), on the main thread, per request.
 */
const etags = new Map<string, string>();
function staticEtag(body: string): string {
  let etag = etags.get(body);
  if (etag === undefined) {
    const bytes = Buffer.from(body, 'utf8');
    etag = `W/"${bytes.length.toString(16)}-${createHash('sha1').update(bytes).digest('base64').slice(0, 27)}"`;
    etags.set(body, etag);
  }
  return etag;
}

/** A GraphQL-shaped error body for failures that happen before Apollo sees the request. */
function httpErrorBody(code: string, message: string) {
  return { errors: [{ message, extensions: { code, category: code === 'PAYLOAD_TOO_LARGE' ? 'PAYLOAD_TOO_LARGE' : 'BAD_USER_INPUT' } }] };
}

export async function createApp({ config, core, registry, metrics, logger, httpServer }: AppDeps): Promise<{ app: Express; apollo: ApolloServer<GraphQLContext> }> {
  // Guarded: every root field checks the caller's role and Document/Photo fields feed the audit, whatever executes it.
  // Mutations also fail closed while the disk cannot take writes (see src/storage/storage-health.ts)
  // or the audit log cannot record them (Postgres down on the scale deployment).
  const schema = guardSchema(guardWrites(makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as IResolvers<unknown, GraphQLContext> }), core.storage, core.audit));
  // Production hides "Did you mean …?" hints everywhere (validation, variable values), as it hides introspection.
  const formatError = makeFormatError(logger, core.storage, { hideSuggestions: config.env === 'production' });
  const armor = graphqlArmorPlugins<GraphQLContext>({ ...config.graphql, blockFieldSuggestions: config.env === 'production' });
  // Answers may wait for the model through its retries: give them room beyond the default deadline.
  const llmMs = config.llm.timeoutMs * (config.llm.maxRetries + 1) + config.llm.maxRetryWaitMs;
  const deadlines = {
    defaultMs: config.timeouts.operationMs,
    overrides: {
      ingestDocument: config.timeouts.ingestMs,
      ingestPhoto: config.timeouts.ingestMs,
      ask: Math.max(config.timeouts.operationMs, llmMs),
      askStream: Math.max(config.timeouts.operationMs, llmMs),
    },
  };
  const signer = registry ? new FileUrlSigner(config.auth.fileUrlSecret, config.auth.fileUrlTtlSeconds) : null;
  const context = (principal: Principal, services: Services, scope: { signal: AbortSignal; trace: OperationTrace; clientAddress?: string }): GraphQLContext => ({
    // File URLs name the caller's tenant, inside the signature.
    fileUrl: (key: string) => (signer ? signer.url(principal.tenant, key) : `/files/${key}`),
    services,
    limits: { maxUploadBytes: config.limits.maxUploadBytes, maxDocumentBytes: config.limits.maxDocumentBytes, maxImagesBytes: config.limits.maxImagesBytes },
    logger,
    actor: principal.keyName,
    principal,
    signal: scope.signal,
    trace: scope.trace,
    clientAddress: scope.clientAddress,
  });

  // Who the client is behind a trusted proxy (TRUST_PROXY): the same rule for HTTP (req.ip) and WebSocket.
  const trustProxy = compileTrust(config.http.trustProxy);
  // One set of rate-limit buckets for every transport: a key's WebSocket operations and HTTP requests share its bucket.
  // With the records on Postgres, every replica shares them too (src/postgres/postgres-rate-buckets.ts).
  const rateLimit = sharedRateLimit({
    requestsPerMinute: config.rateLimit.perMinute,
    burst: config.rateLimit.burst,
    shared: core.rateBuckets,
    onSharedFailure: (err: unknown) => logger.warn({ err }, 'rate-limit buckets in Postgres cannot be reached: each replica limits on its own until they can'),
    onSharedRecovered: () => logger.info('rate-limit buckets in Postgres reachable again: limits are shared by the replicas'),
  });
  // HTTP requests refused before Apollo (rate limit, body limits, tenant unavailable) are audited here, rate-limit refusals coalesced.
  const refusals = new RefusalAudit(core.audit, logger);
  // GraphQL over WebSocket (askStream, and any other operation) on the same path, through the same gates.
  const wsTransport = attachWebSocketTransport({
    schema,
    httpServer,
    maxPayloadBytes: config.http.maxRequestBytes,
    registry,
    armor,
    introspection: config.env !== 'production',
    deadlines,
    formatError,
    audit: core.audit,
    servicesFor: (tenant) => core.servicesFor(tenant),
    contextFor: context,
    clientAddress: (request) => clientAddressOf(request, trustProxy),
    admit: (principal, remoteAddress) => rateLimit.admit(principal.keyName, remoteAddress),
    auditRateLimited: (refused) => refusals.record(refused),
    onOperationDone: ({ fields, outcome, seconds }) =>
      metrics.graphqlDuration.observe({ operation: operationLabel(fields, isSchemaField), outcome: outcome === 'ok' ? 'ok' : 'error' }, seconds),
    logger,
    testModel: core.health.testModel,
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    introspection: config.env !== 'production',
    // main.ts owns signal handling (drain HTTP, stop encoder workers, exit 0); Apollo's own
    // handler would re-raise SIGTERM and kill the process mid-drain.
    stopOnTerminationSignals: false,
    validationRules: armor.validationRules,
    parseOptions: armor.parseOptions,
    plugins: [
      ...armor.plugins,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      metricsPlugin(metrics),
      authorizationPlugin(),
      auditPlugin(core.audit),
      testModelPlugin(core.health.testModel),
      { async serverWillStart() { return { async drainServer() { await wsTransport.dispose(); refusals.dispose(); rateLimit.close(); } }; } },
    ],
  });
  await apollo.start();

  // The explorer lists operations built from this schema, so it needs no introspection (off in production).
  const explorerPage = renderExplorerPage(EXPLORER_TEMPLATE, schema);

  const app = express();
  app.disable('x-powered-by');
  // req.ip (rate-limit buckets, the request log) reads X-Forwarded-For only from TRUST_PROXY's peers.
  app.set('trust proxy', trustProxy);
  app.set('etag', false); // see staticEtag: API answers (POST) get none, the console's static files keep theirs
  // The request log and the HTTP latency metric, when the answer has gone out.
  const requestLog: RequestHandler = (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      const route = req.route?.path ?? (req.path.startsWith('/graphql') ? '/graphql' : req.path.startsWith('/metrics') ? '/metrics' : 'other');
      metrics.httpDuration.observe({ method: req.method, route: String(route), status: String(res.statusCode) }, seconds);
      logger.info({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(seconds * 1000), client: req.ip }, 'request');
    });
    next();
  };
  app.use(
    chain(
      // …and never as text that is not an IP address (a malformed chain falls back to the nearest trusted hop).
      clientAddressMiddleware(trustProxy),
      securityHeaders({ explorerHtml: explorerPage, explorerPath: '/explorer' }),
      requestLog,
    ),
  );

  // The caller's tenant's services, before Apollo: a tenant whose data cannot be opened (a disk
  // fault, say) gets 503 UNAVAILABLE with the reason in the log, and other tenants go on.
  const tenantServices: RequestHandler = (_req, res, next) => {
    const { tenant } = res.locals.principal as Principal;
    core.servicesFor(tenant).then(
      (services) => {
        res.locals.services = services;
        next();
      },
      (error: unknown) => {
        // Configuration errors (a damaged database file, say) name server paths: for the log, not the client.
        const passOn = isAppError(error) && error.category !== 'CONFIGURATION';
        const refused = passOn ? error : new UnavailableError(`The knowledge base of tenant "${tenant}" cannot be opened; the server log says why.`);
        if (!passOn) logger.error({ err: error, tenant }, 'cannot open the tenant space');
        res.status(503).set('Retry-After', '30').json({ errors: [{ message: refused.message, extensions: { code: refused.code, category: refused.category } }] });
      },
    );
  };

  // Mounted before the other routes, as one router layer (see middleware-chain.ts): the router
  // tries every earlier route's path against each request, and GraphQL is nearly all of them.
  app.use(
    '/graphql',
    chain(
      authMiddleware(registry),
      auditRefusalsBeforeApollo(refusals),
      rateLimit.middleware,
      express.json({ limit: config.http.maxRequestBytes }),
      // Each operation checks its own limit (photos vs documents); this is the hard ceiling.
      graphqlUploadExpress({ processRequest, maxFileSize: Math.max(config.limits.maxUploadBytes, config.limits.maxDocumentBytes), maxFiles: Math.max(config.limits.maxUploadFiles, config.limits.maxImagesPerCall) }),
      armor.tokenLimit,
      operationTimeout({ ...deadlines, documents: armor.documents }),
      tenantServices,
      expressMiddleware(apollo, {
        context: async ({ req, res }) => {
          markReachedApollo(res.locals);
          return context(res.locals.principal as Principal, res.locals.services as Services, { signal: operationSignalOf(res) ?? new AbortController().signal, trace: newOperationTrace(), clientAddress: req.ip });
        },
      }),
    ),
  );

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    const { httpStatus, body } = await core.health.readiness();
    res.status(httpStatus).json(body);
  });
  // Operational detail (tenants' traffic, latencies): admins' keys or the scraper's METRICS_TOKEN only.
  app.get('/metrics', metricsAccess(registry, config.metrics.token), async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // The console for technicians, agents and admins (console/), and the developer explorer.
  // Both speak only the public GraphQL API; the pages hold no secret.
  const explorerEtag = staticEtag(explorerPage);
  const consoleFile = (name: string): RequestHandler => async (_req, res, next) => {
    try {
      const asset = (await consoleAssets()).get(name);
      if (!asset) return next();
      res.type(asset.contentType).set('Cache-Control', 'no-cache').set('ETag', staticEtag(asset.body));
      if (name === 'index.html') res.set('Content-Security-Policy', CONSOLE_CSP);
      res.send(asset.body);
    } catch (error) {
      next(error);
    }
  };
  app.get('/', consoleFile('index.html'));
  app.get('/console/app.js', consoleFile('app.js'));
  app.get('/console/app.css', consoleFile('app.css'));
  app.get('/explorer', (_req, res) => {
    res.type('html').set('ETag', explorerEtag).send(explorerPage);
  });
  // Original documents, page thumbnails and photos, by the keys the server made (never a path),
  // from one tenant's files only: the tenant signed into the URL, else the caller's key's.
  const filesAuth = authMiddleware(registry);
  app.get('/files/:key', (req, res, next) => {
    const tenant = req.query.tenant;
    if (signer && typeof tenant === 'string' && TENANT_NAME.test(tenant) && signer.verify(tenant, String(req.params.key), req.query.exp, req.query.sig)) {
      res.locals.fileTenant = tenant;
      return next();
    }
    return filesAuth(req, res, () => {
      res.locals.fileTenant = (res.locals.principal as Principal).tenant;
      next();
    });
  }, async (req, res) => {
    const key = String(req.params.key);
    try {
      const reader = isBlobKey(key) ? await (await core.spaces.get(res.locals.fileTenant as string)).blobs.open(key) : null;
      // Streamed with backpressure and Range support, never read whole into memory.
      await sendBlob(req, res, key, reader, BLOB_TYPES[key.split('.').pop() ?? ''] ?? 'application/octet-stream');
    } catch (error) {
      // Object storage down or the bucket gone (the blob store says UNAVAILABLE): 503 with Retry-After.
      if (!isAppError(error) || error.category !== 'UNAVAILABLE' || res.headersSent) throw error;
      logger.warn({ err: error, key }, 'a file could not be served: its storage is unavailable');
      sendUnavailable(res, error.message, error.details?.retryAfterMs);
    }
  });

  // Any other path or method: the API's error shape (code NOT_FOUND), not Express's HTML page.
  app.use((req, res) => {
    res.status(404).json({
      errors: [{ message: `There is nothing at ${req.method} ${req.path}: the API is POST /graphql (see GET /explorer).`, extensions: { code: 'NOT_FOUND', category: 'NOT_FOUND' } }],
    });
  });

  // Body parsing and multipart errors happen before Apollo: answer them in the GraphQL error shape.
  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status === 413) return res.status(413).json(httpErrorBody('PAYLOAD_TOO_LARGE', err instanceof Error ? err.message : 'Request too large.'));
    if (status >= 400 && status < 500) {
      const message = err instanceof Error && 'expose' in err && err.expose ? err.message : 'Malformed request.';
      return res.status(status).json(httpErrorBody('BAD_REQUEST', message));
    }
    logger.error({ err }, 'unhandled HTTP error');
    return res.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', category: 'INTERNAL' } }] });
  };
  app.use(onError);

  return { app, apollo };
}
