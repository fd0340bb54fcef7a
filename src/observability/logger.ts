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

/** Structured JSON logs on stdout (one object per line), secrets redacted by path. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'fieldscope' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
