/**
 * The hardening as wired into the real server: hostile GraphQL documents, floods, oversized
 * bodies and uploads, each refused with a stable code while the server stays healthy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg } from '../helpers/images.js';
import { errorCode, gql, gqlUpload, startTestServer } from '../helpers/server.js';

describe('abuse limits on the real server', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ LOAD_DEMO: 'false', RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '40', MAX_UPLOAD_FILES: '4' });
  });
  afterAll(async () => {
    await server?.close();
  });
  const healthy = async () => expect((await gql<{ health: { status: string } }>(server.url, '{ health { status } }')).data?.health.status).toBe('ok');

  it('refuses a 50-level nested query', async () => {
    // Photo.duplicateOf is self-referencing: the one cycle in the schema an attacker can nest.
    const nested = `{ photo(id: "x") { ${'duplicateOf { '.repeat(50)}id${' }'.repeat(50)} } }`;
    const res = await gql(server.url, nested);
    expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
    await healthy();
  });

  it('refuses 1,000 aliases of search', async () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: search(text: "valve") { noGoodMatch }`).join(' ');
    const res = await gql(server.url, `{ ${aliases} }`);
    expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
    await healthy();
  });

  it('refuses a 20 MB query string', async () => {
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ health { status } } #${'x'.repeat(20 * 1024 * 1024)}` }) });
    expect(res.status).toBe(413);
    await healthy();
  });

  it('refuses 100 files in one request', async () => {
    const bytes = await jpeg(16, 16);
    const files = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, { bytes }]));
    const res = await gqlUpload(server.url, 'query($image: Upload!) { embedImage(image: $image) { dim } }', files);
    expect(res.status).toBe(413);
    await healthy();
  });

  it('sends security headers', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('rate-limits a flood from one client with RATE_LIMITED and a retry hint', async () => {
    const results = await Promise.all(Array.from({ length: 80 }, () => fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' })));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await limited[0]!.json()) as { errors: { extensions: { code: string; retryAfterMs: number } }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
  });
});
