/**
 * The security headers (src/server/hardening.ts, `securityHeaders`) are helmet's, recorded once at
 * start-up and replayed on each response. This pins the whole set, on a real HTTP server, for the
 * API and for the explorer page, so a header helmet sets can never silently go missing from the
 * replay (hardening.test.ts checks the ones that matter most through the full GraphQL stack).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineHashes, securityHeaders } from '../../src/server/hardening.js';

const PAGE = '<html><head><style>b{color:red}</style></head><body><script>console.log(1)</script></body></html>';
const COMMON = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};
const SECURITY_HEADERS = [...Object.keys(COMMON), 'content-security-policy', 'strict-transport-security', 'x-powered-by'];

async function serve(hsts: boolean): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  // Something upstream announcing itself: the headers must take it away again.
  app.use((_req, res, next) => {
    res.setHeader('X-Powered-By', 'leaky');
    next();
  });
  app.use(securityHeaders({ explorerHtml: PAGE, explorerPath: '/explorer', hsts }));
  app.get('/explorer', (_req, res) => res.type('html').send(PAGE));
  app.use((_req, res) => res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const securityHeadersOf = (res: Response) => Object.fromEntries([...res.headers].filter(([k]) => SECURITY_HEADERS.includes(k)));

describe('security headers, recorded from helmet and replayed', () => {
  let plain: Awaited<ReturnType<typeof serve>>;
  let withHsts: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    plain = await serve(false);
    withHsts = await serve(true);
  });
  afterAll(async () => {
    await plain.close();
    await withHsts.close();
  });

  it('gives API responses (any method, any path) the whole set', async () => {
    for (const res of [await fetch(`${plain.url}/graphql`, { method: 'POST' }), await fetch(`${plain.url}/health`), await fetch(`${plain.url}/explorer`, { method: 'POST' })]) {
      expect(securityHeadersOf(res)).toEqual({ ...COMMON, 'content-security-policy': "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'" });
    }
  });

  it('gives the explorer page its own policy, its inline script and style allowed by hash', async () => {
    const { scripts, styles } = inlineHashes(PAGE);
    const res = await fetch(`${plain.url}/explorer`);
    expect(securityHeadersOf(res)).toEqual({
      ...COMMON,
      'content-security-policy': `default-src 'none';script-src ${scripts[0]};style-src ${styles[0]};connect-src 'self';img-src 'self' data:;base-uri 'none';form-action 'none';frame-ancestors 'none'`,
    });
  });

  it('adds Strict-Transport-Security only when asked', async () => {
    const res = await fetch(`${withHsts.url}/health`);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});
