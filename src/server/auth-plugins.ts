/**
 * Authentication (HTTP middleware), authorization (per top-level field, before execution) and
 * the audit trail (after every operation), as Express middleware and Apollo plugins.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { GraphQLError, Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { ApiKeyRegistry, Principal } from '../auth/api-keys.js';
import { ForbiddenError, OPEN_PRINCIPAL, UnauthenticatedError } from '../auth/api-keys.js';
import { mayCall } from '../auth/permissions.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { GraphQLContext } from '../graphql/context.js';

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
export function topLevelFields(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const names = new Set<string>();
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.add(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet, seen);
      else if (!seen.has(s.name.value)) {
        const f = fragments.get(s.name.value);
        if (f) visit(f.selectionSet, new Set([...seen, s.name.value]));
      }
    }
  };
  visit(operation.selectionSet, new Set());
  return [...names];
}

export function authorizationPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, contextValue }) {
          if (!operation) return;
          const denied = topLevelFields(document, operation).filter((f) => !mayCall(contextValue.principal.role, f));
          if (denied.length > 0) {
            const forbidden = new ForbiddenError(`The role "${contextValue.principal.role}" may not call ${denied.join(', ')}.`);
            // A request-level error: without an explicit status Apollo would answer 500.
            throw new GraphQLError(forbidden.message, { originalError: forbidden, extensions: { http: { status: 403 } } });
          }
        },
      };
    },
  };
}

const QUERY_VARIABLES = ['question', 'text'];

export function auditPlugin(audit: AuditLog): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      const documentIds = new Set<string>();
      const photoIds = new Set<string>();
      return {
        async executionDidStart() {
          return {
            willResolveField({ info, source }) {
              const id = (source as { id?: unknown } | null)?.id;
              if (typeof id !== 'string') return;
              if (info.parentType.name === 'Document') documentIds.add(id);
              else if (info.parentType.name === 'Photo') photoIds.add(id);
            },
          };
        },
        async willSendResponse({ request, document, operation, errors, response }) {
          const fields = document && operation ? topLevelFields(document, operation) : [];
          // The formatted errors carry the stable codes clients see.
          const formatted = response.body.kind === 'single' ? response.body.singleResult.errors?.[0] : undefined;
          const code = formatted ? String(formatted.extensions?.code ?? 'ERROR') : errors?.[0] ? 'ERROR' : 'ok';
          const variables = request.variables ?? {};
          const query = QUERY_VARIABLES.map((k) => variables[k]).find((v): v is string => typeof v === 'string');
          audit.append({
            at: new Date().toISOString(),
            keyName: contextValue.principal.keyName,
            tenant: contextValue.principal.tenant,
            role: contextValue.principal.role,
            operation: fields.join(',') || '(unparsed)',
            operationName: request.operationName ?? operation?.name?.value ?? null,
            outcome: code,
            query: query ? query.slice(0, 200) : null,
            documentIds: [...documentIds].slice(0, 100),
            photoIds: [...photoIds].slice(0, 100),
            durationMs: performance.now() - started,
          });
        },
      };
    },
  };
}
