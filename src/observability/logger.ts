import { pino, type Logger } from 'pino';

/**
 * Secrets redacted by path, should an object holding one ever be logged: API keys, authorization
 * headers, and the Postgres URL / password (the config's `database.url`, pg's `connectionString`
 * and `password`). Code logs `host:port/database` for Postgres instead (src/postgres/postgres-errors.ts).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  '*.apiKey',
  '*.authorization',
  'database.url',
  '*.database.url',
  'connectionString',
  '*.connectionString',
  'password',
  '*.password',
];

export interface LoggerOptions {
  /**
   * Write stdout asynchronously (the server): a log line costs the request's thread no write
   * system call; lines logged meanwhile go out together. Lines still buffered are written
   * synchronously when the process exits, by `process.exit`, a signal handler that exits, or an
   * uncaught exception or rejection (pino's exit hook). Only a SIGKILL can lose the last lines.
   */
  asyncStdout?: boolean;
}

/** Structured JSON logs on stdout (one object per line), secrets redacted by path. */
export function createLogger(level: string, destination?: NodeJS.WritableStream, { asyncStdout = false }: LoggerOptions = {}): Logger {
  const options = {
    level,
    base: { service: 'fieldscope' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  return asyncStdout ? pino(options, pino.destination({ dest: 1, sync: false })) : pino(options);
}
