/**
 * The one authorization and audit path of every GraphQL operation, whatever carried it (HTTP
 * through Apollo, WebSocket through graphql-ws, anything added later). Transports call the same
 * three things:
 *
 * - `refuseForbidden` before execution: the role must be allowed every top-level field of the
 *   operation (through fragments too), or nothing of it runs (a mutation with one allowed and
 *   one forbidden field must not half-run).
 * - `guardSchema` once, on the executable schema: every root field checks the role again when it
 *   resolves (so a transport that forgot the first check still cannot run a forbidden field), and
 *   fields of `Document` / `Photo` note the ids they return in the operation's trace, for the audit.
 *   Being in the schema, this holds for any executor; an Apollo plugin holds only for Apollo.
 * - `auditOperation` after the operation: one entry, with the outcome code the client saw.
 */
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, type DocumentNode, type GraphQLFieldResolver, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { ForbiddenError, type Principal } from '../auth/api-keys.js';
import { mayCall } from '../auth/permissions.js';
import type { AuditStore } from '../audit/audit-store.js';
import { rootStringArgument, topLevelFieldsOf } from './operation-fields.js';

/** What an operation touched, collected while it runs (read by the audit). */
export interface OperationTrace {
  readonly documentIds: Set<string>;
  readonly photoIds: Set<string>;
}

export function newOperationTrace(): OperationTrace {
  return { documentIds: new Set(), photoIds: new Set() };
}

/** What `guardSchema` needs from the GraphQL context. */
export interface GuardedContext {
  principal: Principal;
  trace: OperationTrace;
}

/** The ForbiddenError for an operation the role may not run, or null when every top-level field is allowed. */
export function refuseForbidden(principal: Principal, document: DocumentNode, operation: OperationDefinitionNode): ForbiddenError | null {
  const denied = topLevelFieldsOf(document, operation).filter((f) => !mayCall(principal.role, f));
  return denied.length > 0 ? new ForbiddenError(`The role "${principal.role}" may not call ${denied.join(', ')}.`) : null;
}

const TRACED_TYPES: Record<string, keyof OperationTrace> = { Document: 'documentIds', Photo: 'photoIds' };

function isGuardedContext(value: unknown): value is GuardedContext {
  return typeof value === 'object' && value !== null && 'principal' in value && 'trace' in value;
}

/**
 * The schema with the per-field checks described at the top of this file. A context without a
 * principal is refused at every root field (fail closed).
 */
export function guardSchema(schema: GraphQLSchema): GraphQLSchema {
  const roleChecked = <T>(fieldName: string, inner: GraphQLFieldResolver<unknown, unknown> | undefined): GraphQLFieldResolver<unknown, unknown> | undefined => {
    if (!inner) return undefined;
    return (source, args, context, info) => {
      if (!isGuardedContext(context)) throw new ForbiddenError(`No caller is known for ${fieldName}.`);
      if (!mayCall(context.principal.role, fieldName)) throw new ForbiddenError(`The role "${context.principal.role}" may not call ${fieldName}.`);
      return inner(source, args, context, info) as T;
    };
  };
  return mapSchema(schema, {
    [MapperKind.ROOT_FIELD]: (field, fieldName) => ({
      ...field,
      // Root fields without a resolver of their own (none today) still get the check.
      resolve: roleChecked(fieldName, field.resolve ?? defaultFieldResolver),
      ...(field.subscribe ? { subscribe: roleChecked(fieldName, field.subscribe) } : {}),
    }),
    [MapperKind.OBJECT_FIELD]: (field, _fieldName, typeName) => {
      const bucket = TRACED_TYPES[typeName];
      if (!bucket) return field;
      const inner = field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve: (source, args, context, info) => {
          const id = (source as { id?: unknown } | null)?.id;
          if (typeof id === 'string' && isGuardedContext(context)) context.trace[bucket].add(id);
          return inner(source, args, context, info);
        },
      };
    },
  });
}

/** Arguments whose text the audit keeps (truncated): "who asked what" is the point of the log. */
const QUERY_ARGUMENTS = ['question', 'text'];

export interface OperationOutcome {
  principal: Principal;
  document: DocumentNode | undefined;
  operation: OperationDefinitionNode | undefined | null;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | null | undefined;
  /** "ok" or the first error code the client saw. */
  outcome: string;
  trace: OperationTrace;
  startedAt: number;
  /** The caller's address (TRUST_PROXY applied), when the transport knows it. */
  clientAddress?: string | null;
}

/** One audit entry for one operation, whatever the transport. Resolves once it is stored; never rejects. */
export function auditOperation(audit: AuditStore, o: OperationOutcome): Promise<void> {
  const fields = o.document && o.operation ? topLevelFieldsOf(o.document, o.operation) : [];
  const variables = o.variables ?? {};
  const query = (o.operation ? rootStringArgument(o.operation, QUERY_ARGUMENTS, variables) : null) ?? QUERY_ARGUMENTS.map((k) => variables[k]).find((v): v is string => typeof v === 'string');
  return audit.append({
    at: new Date().toISOString(),
    keyName: o.principal.keyName,
    tenant: o.principal.tenant,
    role: o.principal.role,
    operation: fields.join(',') || '(unparsed)',
    operationName: o.operationName ?? o.operation?.name?.value ?? null,
    outcome: o.outcome,
    query: query ? query.slice(0, 200) : null,
    documentIds: [...o.trace.documentIds].slice(0, 100),
    photoIds: [...o.trace.photoIds].slice(0, 100),
    durationMs: performance.now() - o.startedAt,
    clientAddress: o.clientAddress ?? null,
  });
}
