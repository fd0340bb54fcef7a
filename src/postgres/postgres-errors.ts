/**
 * What a Postgres failure means to the API's users. A database that is down, restarting or cut
 * off becomes `UNAVAILABLE` with a retry hint (the request wrote nothing: every write is one
 * statement or one transaction, which the server rolls back when the connection drops). A wrong
 * password or database name is a CONFIGURATION error: waiting will not fix it.
 *
 * Messages name the server as `host:port/database` and never the URL, whose user-info part holds
 * the password (see `describeDatabaseUrl`).
 */
import { AppError, ConfigError, UnavailableError } from '../errors.js';

/** How long a client should wait before retrying a request that found the database down. */
export const DATABASE_RETRY_AFTER_MS = 2000;

/** `host:port/database` of a postgres:// URL: enough to find the server, nothing secret. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : '/'}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** Node socket errors and the SQLSTATE classes that mean "the server is not there right now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT']);
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '57014', // query_canceled (statement_timeout)
]);
const CONFIG_SQLSTATES = new Set([
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification
  '3D000', // invalid_catalog_name (no such database)
  '42501', // insufficient_privilege
]);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isConnectionFailure(error: unknown): boolean {
  const code = codeOf(error);
  if (code && (NETWORK_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  // pg's own wording when a socket closes mid-query or the pool cannot get a connection in time.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated due to connection timeout|the database system is (starting up|shutting down)/i.test(message);
}

/** Failures of a statement on a server that is there (a conflict, a timeout): no sign of an outage. */
const STATEMENT_SQLSTATES = new Set(['40001', '40P01', '57014']);

/** A connection failure that says the server is not there (not one statement's conflict or timeout). */
export function isServerUnreachable(error: unknown): boolean {
  const code = codeOf(error);
  return isConnectionFailure(error) && !(code && STATEMENT_SQLSTATES.has(code));
}

/**
 * An AppError for a failed database call: UNAVAILABLE (retry) or CONFIGURATION, with the original
 * error as `cause` for the log; anything else is returned unchanged (masked as internal).
 */
export function toDatabaseError(error: unknown, location: string): unknown {
  if (error instanceof AppError) return error;
  const code = codeOf(error);
  const reason = error instanceof Error ? error.message : String(error);
  if (code && CONFIG_SQLSTATES.has(code)) {
    return new ConfigError(`The records database (Postgres at ${location}) refused the connection: ${reason}. Check the user, password and database name in DATABASE_URL.`, { cause: error });
  }
  if (isConnectionFailure(error)) {
    return new UnavailableError(`The records database (Postgres at ${location}) is unavailable (${reason}); nothing was written. Retry in a few seconds.`, {
      cause: error,
      details: { retryAfterMs: DATABASE_RETRY_AFTER_MS, dependency: 'postgres' },
    });
  }
  return error;
}
