import { pino, type Logger } from 'pino';

/** Structured JSON logs on stdout (one object per line), secrets redacted by path. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'fieldscope' },
    redact: { paths: ['req.headers.authorization', '*.apiKey', '*.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
