/**
 * Maps errors to what clients see. Deliberate errors keep their message and get a stable
 * `extensions.code`; everything unexpected is masked as INTERNAL_SERVER_ERROR and logged,
 * so stack traces and internals never leave the process.
 */
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { isAppError } from '../errors.js';
import { databaseDamageCause, storageFailureCause, type StorageHealth } from '../storage/storage-health.js';

/** Codes produced by graphql-js / Apollo for malformed operations: safe to pass through. */
const PASS_THROUGH = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_HASH_MISMATCH',
]);

/**
 * The error a resolver threw, under graphql-js's wrapping. Walks `originalError` rather than
 * relying on `instanceof GraphQLError`, which breaks when graphql is loaded twice (ESM and CJS).
 */
function originalErrorOf(error: unknown): unknown {
  let current = error;
  while (typeof current === 'object' && current !== null && 'originalError' in current && current.originalError) {
    current = current.originalError;
  }
  return current;
}

/** graphql-js's "Did you mean …?" hints (fields, types, enum values, arguments): they reveal the schema. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export interface FormatErrorOptions {
  /** Remove "Did you mean …?" from messages (production, where introspection is off too). */
  hideSuggestions?: boolean;
}

/** The HTTP status Apollo put on a request-level error it raised itself (e.g. a persisted-query hash mismatch). */
function requestErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('extensions' in error)) return undefined;
  const http = (error.extensions as { http?: { status?: unknown } } | undefined)?.http;
  return typeof http?.status === 'number' ? http.status : undefined;
}

/**
 * graphql-js describes a value it cannot coerce by printing it, and a file mapped (multipart) to a
 * variable that is not an Upload prints graphql-upload's internals ("{ resolve: [function], reject:
 * [function], promise: {}, file: { …createReadStream… } }"). Say what happened instead.
 */
const UPLOAD_IN_WRONG_VARIABLE = /^(Variable "\$[^"]+") got invalid value \{ resolve: \[function\][^]*$/;

function fileInWrongVariable(message: string): string {
  return message.replace(UPLOAD_IN_WRONG_VARIABLE, '$1 got an uploaded file, but only a variable of type Upload can take one.');
}

/** Apollo's message when a persisted query's sha256Hash is not the hash of the query sent with it. */
const PERSISTED_HASH_MISMATCH = 'provided sha does not match query';

/** What a client sees for an error, and the unexpected cause to log (null for deliberate errors). Pure. */
export function classifyError(formatted: GraphQLFormattedError, error: unknown, options: FormatErrorOptions = {}): { formatted: GraphQLFormattedError; unexpected: unknown } {
  const original = originalErrorOf(error);
  const location = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  const clean = (message: string) => (options.hideSuggestions ? message.replace(SUGGESTION, '') : message);
  if (isAppError(original)) {
    return {
      formatted: { message: original.message, ...location, extensions: { code: original.code, category: original.category, ...(original.details ?? {}) } },
      unexpected: null,
    };
  }
  // A read that met a damaged database page: unavailable, not an internal error (and still logged).
  if (databaseDamageCause(original) !== null) {
    return {
      formatted: {
        message: 'The knowledge base is damaged and this request touched the damaged part; an operator must restore it (the server log says which file and how).',
        ...location,
        extensions: { code: 'DATABASE_CORRUPT', category: 'UNAVAILABLE' },
      },
      unexpected: original,
    };
  }
  // A write that met a full or failing disk (e.g. identifyPart recording its result): say so, and still log it.
  const storageCause = storageFailureCause(original);
  if (storageCause !== null) {
    return {
      formatted: { message: `The server cannot store anything right now: ${storageCause}. Try again later.`, ...location, extensions: { code: 'STORAGE_FULL', category: 'UNAVAILABLE' } },
      unexpected: original,
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && PASS_THROUGH.has(code)) {
    return { formatted: { message: clean(fileInWrongVariable(formatted.message)), ...location, extensions: { code, category: 'BAD_USER_INPUT' } }, unexpected: null };
  }
  // A request Apollo refused itself with a 4xx status (its generic code is INTERNAL_SERVER_ERROR): the client's mistake, not ours.
  const status = requestErrorStatus(original);
  if (status !== undefined && status >= 400 && status < 500) {
    if (formatted.message === PERSISTED_HASH_MISMATCH) {
      return {
        formatted: { message: 'The persistedQuery sha256Hash is not the SHA-256 of the query sent with it.', ...location, extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH', category: 'BAD_USER_INPUT' } },
        unexpected: null,
      };
    }
    return { formatted: { message: clean(formatted.message), ...location, extensions: { code: 'BAD_REQUEST', category: 'BAD_USER_INPUT' } }, unexpected: null };
  }
  return { formatted: { message: 'Internal server error', ...location, extensions: { code: 'INTERNAL_SERVER_ERROR', category: 'INTERNAL' } }, unexpected: original };
}

/** The stable code a client sees for `error` (for the audit's outcome), without logging anything. */
export function errorCodeOf(error: { toJSON(): GraphQLFormattedError }): string {
  return String(classifyError(error.toJSON(), error).formatted.extensions?.code ?? 'ERROR');
}

/** `storage` is told of damaged-database and disk errors met by any operation, so /ready reports them and writes stop. */
export function makeFormatError(logger: Logger, storage?: Pick<StorageHealth, 'noteFailure'>, options: FormatErrorOptions = {}) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = classifyError(formatted, error, options);
    if (result.unexpected !== null) {
      storage?.noteFailure(result.unexpected, 'a GraphQL operation');
      logger.error({ err: result.unexpected, path: formatted.path }, 'unexpected error in GraphQL operation');
    }
    return result.formatted;
  };
}
