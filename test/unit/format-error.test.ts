import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, TooLargeError } from '../../src/errors.js';
import { makeFormatError } from '../../src/server/format-error.js';

const logged: unknown[] = [];
const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(JSON.parse(line)) });
const format = makeFormatError(logger);

describe('GraphQL error formatting', () => {
  it('gives domain errors their stable code, category and details', () => {
    const original = new TooLargeError('IMAGE_TOO_LARGE', 'too big', { details: { limitPixels: 10 } });
    const wrapped = new GraphQLError(original.message, { originalError: original, path: ['embedImage'] });
    expect(format({ message: 'too big', path: ['embedImage'] }, wrapped)).toEqual({
      message: 'too big',
      path: ['embedImage'],
      extensions: { code: 'IMAGE_TOO_LARGE', category: 'PAYLOAD_TOO_LARGE', limitPixels: 10 },
    });
  });

  it('masks unexpected errors and logs them instead', () => {
    const secret = new Error('ENOENT /etc/secret/path');
    const wrapped = new GraphQLError(secret.message, { originalError: secret });
    const out = format({ message: secret.message, extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } }, wrapped);
    expect(out).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', category: 'INTERNAL' } });
    expect(JSON.stringify(logged)).toContain('ENOENT /etc/secret/path');
  });

  it('passes graphql-js validation errors through without stack traces', () => {
    const err = new GraphQLError('Cannot query field "nope"', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(format({ message: err.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', stacktrace: ['x'] } }, err)).toEqual({
      message: err.message,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', category: 'BAD_USER_INPUT' },
    });
  });

  it('keeps the code of input errors', () => {
    const original = new InvalidInputError('EMPTY_INPUT', 'texts is empty');
    expect(format({ message: 'x' }, new GraphQLError('x', { originalError: original })).extensions).toMatchObject({ code: 'EMPTY_INPUT', category: 'BAD_USER_INPUT' });
  });
});
