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

  it('answers a persisted-query hash mismatch as a client error, without an error log', () => {
    const before = logged.length;
    const err = new GraphQLError('provided sha does not match query', { extensions: { http: { status: 400 } } });
    expect(format({ message: err.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, err).extensions).toEqual({ code: 'PERSISTED_QUERY_HASH_MISMATCH', category: 'BAD_USER_INPUT' });
    const other = new GraphQLError('something else the request did wrong', { extensions: { http: { status: 400 } } });
    expect(format({ message: other.message }, other).extensions).toEqual({ code: 'BAD_REQUEST', category: 'BAD_USER_INPUT' });
    expect(logged.length).toBe(before);
  });

  it('hides "Did you mean" hints when asked (production), keeps them otherwise', () => {
    const message = 'Variable "$k" got invalid value "PDFF" at "k[0]"; Value "PDFF" does not exist in "SourceKind" enum. Did you mean the enum value "PDF"?';
    const err = new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
    const hidden = makeFormatError(logger, undefined, { hideSuggestions: true })({ message, extensions: { code: 'BAD_USER_INPUT' } }, err);
    expect(hidden.message).toBe('Variable "$k" got invalid value "PDFF" at "k[0]"; Value "PDFF" does not exist in "SourceKind" enum.');
    expect(format({ message, extensions: { code: 'BAD_USER_INPUT' } }, err).message).toBe(message);
  });
});
