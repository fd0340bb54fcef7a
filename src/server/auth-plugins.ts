/**
 * Authentication (HTTP middleware), and HTTP's hooks into the shared authorization and audit
 * path of operation-guard.ts (Apollo plugins). The WebSocket transport (ws-transport.ts) calls
 * the same functions from its own hooks.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { GraphQLError } from 'graphql';
import type { ApiKeyRegistry, Principal } from '../auth/api-keys.js';
import { OPEN_PRINCIPAL, UnauthenticatedError } from '../auth/api-keys.js';
import type { AuditLog } from '../audit/audit-log.js';
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
export function auditPlugin(audit: AuditLog): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      return {
        async willSendResponse({ request, document, operation, errors, response, contextValue }) {
          // The formatted errors carry the stable codes clients see.
          const formatted = response.body.kind === 'single' ? response.body.singleResult.errors?.[0] : undefined;
          const outcome = formatted ? String(formatted.extensions?.code ?? 'ERROR') : errors?.[0] ? 'ERROR' : 'ok';
          auditOperation(audit, {
            principal: contextValue.principal,
            document,
            operation,
            operationName: request.operationName,
            variables: request.variables,
            outcome,
            trace: contextValue.trace,
            startedAt,
          });
        },
      };
    },
  };
}
