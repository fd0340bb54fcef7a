/**
 * GraphQL over WebSocket (graphql-ws) on /graphql, through the same gates as HTTP, per operation:
 *
 * 1. the key is authenticated again (a key revoked while its socket is open is refused, and the
 *    socket is closed with 4403), and the role and tenant come from the keys file as it is now;
 * 2. the caller's rate-limit bucket (the same buckets as HTTP) is charged;
 * 3. document limits (graphql-armor), parsing and validation, as over HTTP;
 * 4. the shared authorization check (operation-guard.ts), before anything runs;
 * 5. a deadline with an AbortSignal in the context, aborted at the deadline, when the client
 *    completes the operation or when the socket closes, so services stop their work;
 * 6. one audit entry per operation, allowed or refused, with the code the client saw (rate-limit
 *    refusals through `auditRateLimited` when given: coalesced per caller per second, as over HTTP).
 *
 * graphql-ws only offers hooks around its own executor, so each gate is one of its hooks; the
 * decisions themselves are the shared functions HTTP uses (nothing re-implemented here).
 */
import type { IncomingMessage, Server } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs, type GraphQLSchema } from 'graphql/index.js';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { UnauthenticatedError, type ApiKeyRegistry, type Principal } from '../auth/api-keys.js';
import type { AuditStore } from '../audit/audit-store.js';
import type { GraphQLContext, Services } from '../graphql/context.js';
import { AppError, ClientClosedError } from '../errors.js';
import { errorCodeOf } from './format-error.js';
import { deadlineExecutors, RATE_LIMITED, type GraphQLArmor, type OperationTimeoutOptions } from './hardening.js';
import { authenticate } from './auth-plugins.js';
import type { RefusedRequest } from './refusal-audit.js';
import { auditOperation, newOperationTrace, refuseForbidden, type OperationTrace } from './operation-guard.js';
import { topLevelFieldsOf } from './operation-fields.js';
import type { GraphQLFormattedError } from 'graphql';
import { withTestModelFlag } from './test-model-flag.js';

/** graphql-ws's close code for a refused connection (its own onConnect refusal uses it too). */
export const WS_FORBIDDEN = 4403;

export interface RateDecision {
  allowed: boolean;
  retryAfterMs: number;
}

export interface WsTransportOptions {
  schema: GraphQLSchema;
  httpServer: Server;
  maxPayloadBytes: number;
  registry: ApiKeyRegistry | null;
  armor: GraphQLArmor<GraphQLContext>;
  introspection: boolean;
  deadlines: OperationTimeoutOptions;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  audit: AuditStore;
  servicesFor: (tenant: string) => Promise<Services>;
  /** The context of one operation (the same builder HTTP uses). */
  contextFor: (principal: Principal, services: Services, scope: { signal: AbortSignal; trace: OperationTrace; clientAddress?: string }) => GraphQLContext;
  /** The client's address from the upgrade request (TRUST_PROXY's rule, as HTTP's req.ip); default: the socket's peer. */
  clientAddress?: (request: IncomingMessage) => string | undefined;
  /** Charges the caller's rate-limit bucket (shared with HTTP); absent when rate limiting is off. */
  admit?: (principal: Principal, remoteAddress: string | undefined) => RateDecision | Promise<RateDecision>;
  /** Audits a rate-limit refusal (HTTP's coalescing RefusalAudit, refusal-audit.ts); default: one entry each. */
  auditRateLimited?: (refused: RefusedRequest) => void;
  /** Called once per executed operation (metrics). */
  onOperationDone?: (done: { fields: string[]; outcome: string; seconds: number }) => void;
  logger: Logger;
  /** Sent as `extensions.testModel` on every result (see test-model-flag.ts). */
  testModel: boolean;
}

interface Operation {
  principal: Principal;
  args: ExecutionArgs;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
  trace: OperationTrace;
  controller: AbortController;
  startedAt: number;
  outcome: string;
  clientAddress: string | undefined;
}

interface Connection {
  /** The Authorization value from connectionParams, re-checked per operation. */
  authorization: string | undefined;
  operations: Map<string, Operation>;
}

type Extra = { connection?: Connection };

function refusal(error: AppError): GraphQLError {
  return new GraphQLError(error.message, { originalError: error });
}

export function attachWebSocketTransport(o: WsTransportOptions): { dispose(): Promise<void> } {
  const wsServer = new WebSocketServer({ server: o.httpServer, path: '/graphql', maxPayload: o.maxPayloadBytes });
  // The operation behind an execution's context, so the deadline can abort its signal.
  const byContext = new WeakMap<object, Operation>();

  const audited = (principal: Principal, clientAddress: string | undefined, args: ExecutionArgs | null, payload: { operationName?: unknown; variables?: unknown }, outcome: string, startedAt: number, trace = newOperationTrace()) => {
    void auditOperation(o.audit, {
      clientAddress,
      principal,
      document: args?.document,
      operation: args ? getOperationAST(args.document, args.operationName) : null,
      operationName: typeof payload.operationName === 'string' ? payload.operationName : null,
      variables: typeof payload.variables === 'object' && payload.variables !== null ? (payload.variables as Record<string, unknown>) : null,
      outcome,
      trace,
      startedAt,
    });
  };

  const cleanup = useServer<Record<string, unknown>, Extra>(
    {
      schema: o.schema,
      ...deadlineExecutors(o.deadlines, {
        onDeadline: (args, error) => {
          const op = typeof args.contextValue === 'object' && args.contextValue !== null ? byContext.get(args.contextValue) : undefined;
          op?.controller.abort(error.originalError ?? error);
        },
      }),
      // WebSocket clients authenticate in connectionParams: { authorization: 'Bearer <key>' }.
      onConnect: async (ctx) => {
        const header = (ctx.connectionParams as { authorization?: unknown } | undefined)?.authorization;
        const authorization = typeof header === 'string' ? header : undefined;
        try {
          authenticate(o.registry, authorization);
        } catch {
          return false; // closes with 4403 Forbidden
        }
        const connection: Connection = { authorization, operations: new Map() };
        ctx.extra.connection = connection;
        // A closed socket stops the work of every operation still running on it.
        ctx.extra.socket.once('close', () => {
          for (const op of connection.operations.values()) op.controller.abort(new ClientClosedError('The client closed the WebSocket.'));
        });
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const startedAt = performance.now();
        const connection = ctx.extra.connection!;
        let principal: Principal;
        try {
          principal = authenticate(o.registry, connection.authorization);
        } catch (error) {
          if (!(error instanceof UnauthenticatedError)) throw error;
          // Refuse this operation, then close the socket: the key no longer opens anything here.
          setImmediate(() => ctx.extra.socket.close(WS_FORBIDDEN, 'Forbidden: the API key is no longer valid'));
          return [refusal(error)];
        }
        const request = ctx.extra.request;
        const clientAddress = o.clientAddress ? o.clientAddress(request) : request.socket.remoteAddress;
        if (o.admit) {
          const decision = await o.admit(principal, clientAddress);
          if (!decision.allowed) {
            const seconds = Math.ceil(decision.retryAfterMs / 1000);
            const limited = new AppError(RATE_LIMITED, 'UNAVAILABLE', `Too many requests: retry in ${seconds} s.`, { details: { retryAfterMs: decision.retryAfterMs } });
            if (o.auditRateLimited) o.auditRateLimited({ principal, clientAddress, outcome: RATE_LIMITED, startedAt });
            else audited(principal, clientAddress, null, payload, RATE_LIMITED, startedAt);
            return [refusal(limited)];
          }
        }
        const prepared = o.armor.prepareOperation(o.schema, payload, { introspection: o.introspection });
        if (Array.isArray(prepared)) {
          audited(principal, clientAddress, null, payload, errorCodeOf(prepared[0]!), startedAt);
          return prepared;
        }
        const args = prepared as ExecutionArgs;
        const operation = getOperationAST(args.document, args.operationName);
        if (!operation) {
          const error = new GraphQLError('Unable to identify the operation: name it with operationName.', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } });
          audited(principal, clientAddress, args, payload, 'OPERATION_RESOLUTION_FAILURE', startedAt);
          return [error];
        }
        const forbidden = refuseForbidden(principal, args.document, operation);
        if (forbidden) {
          audited(principal, clientAddress, args, payload, forbidden.code, startedAt);
          return [refusal(forbidden)];
        }
        let services: Services;
        try {
          services = await o.servicesFor(principal.tenant);
        } catch (error) {
          o.logger.error({ err: error, tenant: principal.tenant }, 'cannot open the tenant space');
          const unavailable = new AppError('UNAVAILABLE', 'UNAVAILABLE', `The knowledge base of tenant "${principal.tenant}" cannot be opened; the server log says why.`);
          audited(principal, clientAddress, args, payload, unavailable.code, startedAt);
          return [refusal(unavailable)];
        }
        const controller = new AbortController();
        const trace = newOperationTrace();
        const contextValue = o.contextFor(principal, services, { signal: controller.signal, trace, clientAddress });
        const op: Operation = {
          principal,
          args,
          operationName: typeof payload.operationName === 'string' ? payload.operationName : undefined,
          variables: typeof payload.variables === 'object' && payload.variables !== null ? (payload.variables as Record<string, unknown>) : undefined,
          trace,
          controller,
          startedAt,
          outcome: 'ok',
          clientAddress,
        };
        connection.operations.set(id, op);
        byContext.set(contextValue, op);
        return { ...args, contextValue };
      },
      // The outcome of a query or mutation, seen here because onNext is skipped when the socket closed
      // while it ran (graphql-ws drops the result): its entry then says how it ended, not "ok".
      onOperation: (ctx, id, _payload, _args, result) => {
        // graphql-ws passes the awaited result: a stream (subscription) or one ExecutionResult.
        if ('then' in result || Symbol.asyncIterator in result || !result.errors?.[0]) return;
        const op = ctx.extra.connection?.operations.get(id);
        if (op && op.outcome === 'ok') op.outcome = errorCodeOf(result.errors[0]);
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors) return withTestModelFlag(result, o.testModel);
        const op = ctx.extra.connection?.operations.get(id);
        if (op && op.outcome === 'ok' && result.errors[0]) op.outcome = errorCodeOf(result.errors[0]);
        return withTestModelFlag({ ...result, errors: result.errors.map((e) => o.formatError(e.toJSON(), e)) }, o.testModel);
      },
      // Errors before the first event (validation, refusals) and during a stream get the same codes as over HTTP.
      onError: (ctx, id, _payload, errors) => {
        const op = ctx.extra.connection?.operations.get(id);
        if (op && op.outcome === 'ok' && errors[0]) op.outcome = errorCodeOf(errors[0]);
        return errors.map((e) => o.formatError(e.toJSON(), e));
      },
      onComplete: (ctx, id) => {
        const connection = ctx.extra.connection;
        const op = connection?.operations.get(id);
        if (!connection || !op) return;
        connection.operations.delete(id);
        // Completed by the client (or finished): whatever still runs for it stops.
        if (!op.controller.signal.aborted) op.controller.abort(new Error('The operation completed.'));
        audited(op.principal, op.clientAddress, op.args, { operationName: op.operationName, variables: op.variables }, op.outcome, op.startedAt, op.trace);
        const operation = getOperationAST(op.args.document, op.args.operationName);
        o.onOperationDone?.({ fields: operation ? topLevelFieldsOf(op.args.document, operation) : [], outcome: op.outcome, seconds: (performance.now() - op.startedAt) / 1000 });
      },
    },
    wsServer,
  );
  return { dispose: () => Promise.resolve(cleanup.dispose()) };
}
