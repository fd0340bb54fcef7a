/**
 * Authentication (HTTP middleware), and HTTP's hooks into the shared authorization and audit
 * path of operation-guard.ts (Apollo plugins). The WebSocket transport (ws-transport.ts) calls
 * the same functions from its own hooks.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { ApiKeyRegistry, Principal } from '../auth/api-keys.js';
import { OPEN_PRINCIPAL, UnauthenticatedError } from '../auth/api-keys.js';
import type { AuditStore } from '../audit/audit-store.js';
import type { GraphQLContext } from '../graphql/context.js';
import { topLevelFieldsOf } from './operation-fields.js';
import { auditOperation, refuseForbidden } from './operation-guard.js';

export function authenticate(registry: ApiKeyRegistry | null, authorization: string | undefined): Principal {
  return registry ? registry.authenticate(authorization) : OPEN_PRINCIPAL;
}

/** Sets res.locals.principal, or answers 401 in the GraphQL error shape. */
export function authMiddleware(registry: ApiKeyRegistry | null): RequestHandler {
  return (req, res, next) => {
    try {
      res.locals.principal = authenticate(registry, req.headers.authorization);
      next();
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) return next(error);
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED', category: 'UNAUTHENTICATED' } }] });
    }
  };
}

function refuse(res: Response, status: 401 | 403, code: 'UNAUTHENTICATED' | 'FORBIDDEN', message: string): void {
  if (status === 401) res.set('WWW-Authenticate', 'Bearer');
  res.status(status).json({ errors: [{ message, extensions: { code, category: code } }] });
}

/**
 * Who may read /metrics: a caller presenting `Bearer <METRICS_TOKEN>` (a scraper needs no API
 * key), or an admin's API key. An open server (no keys file) without a token stays open, like
 * everything else on it.
 */
export function metricsAccess(registry: ApiKeyRegistry | null, token: string | undefined): RequestHandler {
  const expected = token === undefined ? null : createHash('sha256').update(`Bearer ${token}`).digest();
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (expected && header && timingSafeEqual(createHash('sha256').update(header.trim()).digest(), expected)) return next();
    if (!registry) {
      if (!expected) return next();
      return refuse(res, 401, 'UNAUTHENTICATED', 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.');
    }
    let principal: Principal;
    try {
      principal = registry.authenticate(header);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) return next(error);
      return refuse(res, 401, 'UNAUTHENTICATED', `${error.message} /metrics needs an admin key${expected ? ' or the metrics token' : ''}.`);
    }
    if (principal.role !== 'admin') return refuse(res, 403, 'FORBIDDEN', `The role "${principal.role}" may not read /metrics.`);
    next();
  };
}

/** Names of the top-level fields an operation selects (through fragments too). */
export const topLevelFields = topLevelFieldsOf;

/** HTTP's call of the shared check (`refuseForbidden`), before anything executes. */
export function authorizationPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, contextValue }) {
          if (!operation) return;
          const forbidden = refuseForbidden(contextValue.principal, document, operation);
          // A request-level error: without an explicit status Apollo would answer 500.
          if (forbidden) throw new GraphQLError(forbidden.message, { originalError: forbidden, extensions: { http: { status: 403 } } });
        },
      };
    },
  };
}

/** HTTP's call of the shared audit (`auditOperation`), once the response is known. */
export function auditPlugin(audit: AuditStore): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      return {
        async willSendResponse({ request, document, operation, errors, response, contextValue }) {
          // The formatted errors carry the stable codes clients see.
          const formatted = response.body.kind === 'single' ? response.body.singleResult.errors?.[0] : undefined;
          const outcome = formatted ? String(formatted.extensions?.code ?? 'ERROR') : errors?.[0] ? 'ERROR' : 'ok';
          // Awaited: the entry is stored before the client has its answer, so a read that follows sees it.
          await auditOperation(audit, {
            principal: contextValue.principal,
            document,
            operation,
            operationName: request.operationName,
            variables: request.variables,
            outcome,
            trace: contextValue.trace,
            startedAt,
            clientAddress: contextValue.clientAddress,
          });
        },
      };
    },
  };
}
