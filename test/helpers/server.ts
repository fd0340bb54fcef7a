/**
 * Starts the real server (real HTTP on 127.0.0.1:0, real ONNX model) for integration tests,
 * and speaks GraphQL to it over HTTP, JSON and multipart, the way clients do.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { REPO_ROOT } from './shared.js';

export const TINY_MODEL_DIR = path.join(REPO_ROOT, 'models', 'tiny-clip');

export async function startTestServer(env: Record<string, string> = {}): Promise<RunningServer & { dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-test-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    CLIP_MODEL: TINY_MODEL_DIR,
    CLIP_TEXT_THREADS: '1',
    CLIP_IMAGE_THREADS: '1',
    // Image workers under SCHED_IDLE run only when no other thread on the machine wants a core: with
    // test files running side by side that can stall a suite's image requests for seconds. The
    // mechanism has its own test (image-sched-idle.test.ts); suites keep the nice value only.
    CLIP_IMAGE_SCHED_IDLE: 'false',
    LOG_LEVEL: 'silent',
    // Suites send many requests from one client; the rate limiter has its own tests.
    RATE_LIMIT_PER_MINUTE: '0',
    // Suites that run with NODE_ENV=production still run on the test model (test-model-loud.test.ts
    // checks the refusal without this).
    CLIP_ALLOW_TEST_MODEL: 'true',
    ...env,
  });
  const server = await startServer(config);
  return { ...server, dataDir };
}

/**
 * Waits until the server's /ready answers 200: a store that opens in the background (Qdrant,
 * Postgres) makes a just-started server refuse work for a moment. Fails with /ready's reason.
 */
export async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/ready`);
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} never became ready: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

export async function gql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

/** A GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec). */
export async function gqlUpload<T = Record<string, unknown>>(
  url: string,
  query: string,
  files: Record<string, { bytes: Uint8Array; name?: string; type?: string }>,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const form = new FormData();
  const vars: Record<string, unknown> = { ...variables };
  const map: Record<string, string[]> = {};
  Object.keys(files).forEach((name, i) => {
    vars[name] = null;
    map[String(i)] = [`variables.${name}`];
  });
  form.append('operations', JSON.stringify({ query, variables: vars }));
  form.append('map', JSON.stringify(map));
  Object.entries(files).forEach(([name, f], i) => {
    form.append(String(i), new Blob([f.bytes], { type: f.type ?? 'application/octet-stream' }), f.name ?? name);
  });
  const res = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true', ...headers } });
  return { status: res.status, ...((await res.json()) as object) };
}

export function errorCode(res: GraphQLResponse): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}
