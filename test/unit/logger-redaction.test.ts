/**
 * The logger's safety net for secrets: an object that holds the Postgres URL or a password, logged
 * by mistake, shows `[redacted]` instead (the code itself logs Postgres as host:port/database).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('log redaction', () => {
  it('never writes the DATABASE_URL password, whichever way the URL or password is logged', () => {
    const out = capture();
    const logger = createLogger('info', out.stream);
    const config = loadConfig({ DATABASE_URL: 'postgres://fieldscope:hunter2-secret@db:5432/fieldscope' });
    logger.info(config, 'the whole configuration');
    logger.info({ config }, 'nested');
    logger.info({ pool: { connectionString: config.database!.url, password: 'hunter2-secret' } }, 'pg options');
    logger.info({ connectionString: config.database!.url }, 'top level');
    expect(out.text().split('\n').filter(Boolean)).toHaveLength(4);
    expect(out.text()).toContain('[redacted]');
    expect(out.text()).not.toContain('hunter2-secret');
  });
});
