/**
 * The console at / and the explorer at /explorer, served by the real server: offline (no external
 * resources), locked down by CSP, and the explorer's generated operations accepted by the real
 * API (validation, depth and cost limits) with and without introspection.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer } from '../helpers/server.js';
import type { ExplorerOperation } from '../../src/server/explorer-operations.js';

/** GET with these headers through node:http; resolves to the status once the body is read. */
function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
      .on('error', reject);
  });
}

function explorerData(html: string): { operations: ExplorerOperation[]; sdl: string } {
  const json = /<script type="application\/json" id="explorer-data">([\s\S]*?)<\/script>/.exec(html);
  expect(json, 'the explorer page carries its operations').not.toBeNull();
  return JSON.parse(json![1]!) as { operations: ExplorerOperation[]; sdl: string };
}

describe.each([
  ['development', 'test'],
  ['production (introspection off)', 'production'],
])('console and explorer pages, %s', (_name, nodeEnv) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: nodeEnv, LOAD_DEMO: 'false' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('GET / serves the console: its own script and style only, no external resource, a strict CSP', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/console/app.js">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>|style="/); // nothing inline: the CSP allows none
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");

    const js = await fetch(`${server.url}/console/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    const code = await js.text();
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toMatch(/https?:\/\/(cdn|unpkg|esm\.sh|fonts\.)/);
    const css = await fetch(`${server.url}/console/app.css`);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).toContain('.panel');
    expect((await fetch(`${server.url}/console/nothing.js`)).status).toBe(404);
  });

  it('answers a path or method it does not serve with a JSON NOT_FOUND in the API error shape, not an HTML page', async () => {
    for (const [method, path] of [['GET', '/nope'], ['POST', '/health'], ['GET', '/console/nothing.js'], ['DELETE', '/files']] as const) {
      const res = await fetch(`${server.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/json');
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('NOT_FOUND');
      expect(body.errors[0]!.message).toContain(`${method} ${path}`);
    }
  });

  it('the console files and the explorer page revalidate with a 304; GraphQL answers carry no ETag (never revalidated, not hashed)', async () => {
    for (const path of ['/', '/console/app.js', '/console/app.css', '/explorer']) {
      const first = await fetch(`${server.url}${path}`);
      const etag = first.headers.get('etag');
      expect(etag, path).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$/);
      await first.arrayBuffer();
      // node:http, not fetch: fetch adds `Cache-Control: no-cache` to a conditional request, which forbids a 304.
      expect(await statusOf(`${server.url}${path}`, { 'if-none-match': etag! }), path).toBe(304);
      expect(await statusOf(`${server.url}${path}`, { 'if-none-match': 'W/"0-stale"' }), path).toBe(200);
    }
    const graphql = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ health { status } }' }) });
    expect(graphql.status).toBe(200);
    expect(graphql.headers.get('etag')).toBeNull();
  });

  it('GET /explorer lists every operation, subscriptions included, with its own script allowed by hash', async () => {
    const res = await fetch(`${server.url}/explorer`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const { operations, sdl } = explorerData(html);
    expect(operations.map((o) => `${o.kind} ${o.field}`)).toEqual(expect.arrayContaining(['query health', 'mutation deleteDocument', 'subscription askStream', 'mutation ingestDocument']));
    expect(sdl).toContain('askStream');
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(res.headers.get('content-security-policy')).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    // Without an icon of its own the browser asks for /favicon.ico, a 404 logged as an error in the
    // browser console on every load; the inline empty icon is allowed by the page's img-src data:.
    expect(html).toContain('<link rel="icon" href="data:,">');
    expect(res.headers.get('content-security-policy')).toMatch(/img-src [^;]*data:/);
  });

  it("the explorer's queries and mutations pass the real API's validation and limits", async () => {
    const { operations } = explorerData(await (await fetch(`${server.url}/explorer`)).text());
    const plain = operations.filter((o) => o.kind !== 'subscription' && !o.args.some((a) => a.isUpload));
    expect(plain.length).toBeGreaterThan(10);
    for (const op of plain) {
      const res = await gql(server.url, op.document, op.variables);
      const codes = (res.errors ?? []).map((e) => e.extensions?.code);
      // Example ids find nothing (NOT_FOUND or null) — but the document itself must be accepted.
      expect(codes, `${op.field}: ${JSON.stringify(res.errors)}`).not.toContain('GRAPHQL_VALIDATION_FAILED');
      expect(codes, op.field).not.toContain('GRAPHQL_PARSE_FAILED');
      expect(res.status, op.field).toBeLessThan(500);
    }
    const health = await gql<{ health: { model: { isTestModel: boolean } } }>(server.url, operations.find((o) => o.field === 'health')!.document);
    expect(health.data?.health.model.isTestModel).toBe(true);
  });
});
