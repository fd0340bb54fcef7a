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

/** Bytes of log lines gathered before they are written (about 15 request lines). */
const LOG_BUFFER_BYTES = 4096;
/** Longest a logged line waits in the buffer when traffic is light. */
export const LOG_FLUSH_MS = 500;

export interface LoggerOptions {
  /**
   * Buffered asynchronous stdout (the server): a request's log line is appended to a buffer, and
   * the buffer is written by libuv's thread pool once it holds `LOG_BUFFER_BYTES` or at the latest
   * `LOG_FLUSH_MS` after its first line. Most requests cost no write system call and no thread
   * hand-off at all. What is still buffered is written synchronously when the process exits:
   * `process.exit`, a signal handler that exits, an uncaught exception or unhandled rejection
   * (pino's exit hook). Only a SIGKILL can lose the last half second of lines.
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
  if (!asyncStdout) return pino(options);
  const stdout = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
  // A light-traffic line must not wait for 4 KiB to gather: flush what waits every LOG_FLUSH_MS.
  let waiting = false;
  const timer = setInterval(() => {
    if (!waiting) return;
    waiting = false;
    try {
      stdout.flush();
    } catch {
      clearInterval(timer); // the stream was closed (the process is ending)
    }
  }, LOG_FLUSH_MS);
  timer.unref();
  return pino(
    {
      ...options,
      hooks: {
        streamWrite: (line: string) => {
          waiting = true;
          return line;
        },
      },
    },
    stdout,
  );
}
